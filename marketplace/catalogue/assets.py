"""Listings of the assets seen on chain: a newly registered asset is linked to the listing that
announced it, or gets a pending one for its owner (its market's adapter makes the placeholder
row). Called by the catalogue's indexer follower while the indexer projects the registration,
with the `Changes` of its block, so that a reorganization takes the link back."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from marketplace.accounts.models import Wallet
from marketplace.accounts.services import _username_for_wallet
from marketplace.catalogue import services, texts
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.indexer.changes import Changes
from marketplace.indexer.models import Asset
from marketplace.indexer.projections import LISTING_FIELDS

PENDING_SUMMARY = "Registered on chain; its owner has not described it here yet."


def _wallet_user(address: str):
    """The user whose wallet `address` is, or a new one (no password: only signing in with
    that wallet opens it, as a first Sign-In with Ethereum would)."""
    wallet = Wallet.objects.select_related("user").filter(address__iexact=address).first()
    if wallet is not None:
        return wallet.user
    try:
        with transaction.atomic():
            user = get_user_model().objects.create_user(
                username=_username_for_wallet(address), password=None
            )
            Wallet.objects.create(user=user, address=address)
            return user
    except IntegrityError:  # linked meanwhile by a sign-in
        return Wallet.objects.select_related("user").get(address__iexact=address).user


def _matching_listing(asset: Asset) -> int | None:
    """The listing that announced this asset: by its address, or, for a listing not linked
    yet, by the owner's wallet and the file's checksum (a pool: its name)."""
    linked = (
        Listing.objects.filter(kind=asset.kind, chain_address__iexact=asset.address)
        .values_list("pk", flat=True)
        .first()
    )
    if linked is not None:
        return linked
    candidates = Listing.objects.filter(
        MARKETS[asset.kind].unlinked_match(asset),
        kind=asset.kind,
        chain_address="",
        owner_wallet__iexact=asset.owner,
    )
    return candidates.order_by("pk").values_list("pk", flat=True).first()


def _listing_name(asset: Asset) -> str:
    """The name a pending listing takes from the chain, where anyone writes what they like: the
    asset's name when it is one the catalogue accepts (plain text, not too long), else one made
    of its kind and address (the asset keeps the name as registered, for curators to read)."""
    name = asset.name.strip()
    if name and not texts.name_problem(name) and not texts.too_long("name", name, texts.NAME_MAX):
        return name
    return f"{asset.get_kind_display()} {asset.address[:10]}"


def _pending_listing(asset: Asset) -> Listing:
    owner = _wallet_user(asset.owner)
    listing = services.listing_create(
        kind=asset.kind,
        owner=owner,
        name=_listing_name(asset),
        summary=PENDING_SUMMARY,
        owner_wallet=asset.owner,
        status=CurationStatus.PENDING,
    )
    services.listing_set_chain_address(listing=listing, address=asset.address)
    MARKETS[asset.kind].create_placeholder(listing=listing, asset=asset)
    return listing


def link_listing(asset: Asset, changes: Changes) -> None:
    """Point `asset` at its listing, making a pending one for its owner when there is none."""
    pk = _matching_listing(asset)
    if pk is not None:
        listing = changes.get(Listing, pk)
        if listing.chain_address.lower() != asset.address.lower():
            # Journaled as it was, written now (another asset of this batch must not match
            # the same listing) and again, the same, when `changes` flushes.
            changes.edit(listing, LISTING_FIELDS)
            services.listing_set_chain_address(listing=listing, address=asset.address)
            changes.listings_changed = True
    else:
        listing = _pending_listing(asset)
        changes.created_elsewhere(listing)
    asset.listing_id = listing.pk
