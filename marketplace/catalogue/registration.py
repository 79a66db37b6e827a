"""A listing's asset on chain: what registering it says (name, where its file is, checksum),
the transaction its provider's wallet sends, and the link once it is mined.

web3 is imported inside the functions: this module is loaded by views in every process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import PUBLIC_STATUSES, Listing
from marketplace.catalogue.services import listing_set_chain_address
from marketplace.chain.errors import ChainError

if TYPE_CHECKING:
    from marketplace.chain.hub import AssetRegistration, Hub


class RegistrationRefused(ChainError):
    """The listing cannot be registered (not approved, no wallet, already registered)."""


def registration_for(listing: Listing) -> AssetRegistration:
    """The registry arguments of `listing`, owned by its wallet (its market's adapter says
    them: where an app's or a dataset's file is on this site, with its sha256; a pool's name)."""
    return MARKETS[listing.kind].registration(listing)


def _check(listing: Listing) -> None:
    if listing.status not in PUBLIC_STATUSES:
        raise RegistrationRefused(
            "Only an approved listing is registered on chain: wait for the curators' review."
        )
    if not listing.owner_wallet:
        raise RegistrationRefused(
            "This listing names no owner wallet: edit it and set the wallet that will own the "
            "asset (and receive its earnings)."
        )
    if listing.chain_address:
        raise RegistrationRefused(f"Already registered at {listing.chain_address}.")


def listing_register_transaction(*, listing: Listing, sender: str, hub: Hub) -> dict:
    """The unsigned registry transaction `sender`'s wallet sends to register `listing` for
    its owner wallet, and the address the asset will have: {"transaction", "address"}.
    ChainRevert (in words) when the registry would refuse it, before any gas is spent."""
    _check(listing)
    asset = registration_for(listing)
    call = hub.register_call(asset)
    return {
        "transaction": call.unsigned_transaction(sender=sender, w3=hub.w3),
        "address": hub.predict_address(asset),
    }


@transaction.atomic
def listing_mark_registered(*, listing: Listing, hub: Hub) -> str:
    """Link `listing` to its asset once the registration is mined; its address. Refused
    while the chain does not have it yet."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.chain_address:
        return listing.chain_address
    asset = registration_for(listing)
    address = hub.predict_address(asset)
    if not hub.is_registered(asset.KIND, address):
        raise RegistrationRefused(
            "The registration is not on chain yet: wait for the transaction to be mined, then "
            "try again."
        )
    listing_set_chain_address(listing=listing, address=address)
    listing.save(update_fields=["updated_at"])
    return address
