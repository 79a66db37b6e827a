"""Buyers of a listing as the index records them (a deal its wallet paid for, with a task), for
review tests that need no chain."""

from __future__ import annotations

from eth_account import Account

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.indexer.models import Deal, TaskStatus
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.deals import DealFactory, TaskFactory


def on_chain(listing: Listing) -> Listing:
    """`listing` with a chain address of its own (factories' listings have none)."""
    listing.chain_address = Account.create().address
    Listing.objects.filter(pk=listing.pk).update(chain_address=listing.chain_address)
    return listing


def purchase(
    listing: Listing, *, user=None, status: str = TaskStatus.COMPLETED, wallet: str = ""
) -> Deal:
    """A deal of `listing` (put on chain first if it is not) paid by `wallet` (a new wallet of
    `user`, or of a new user), with one task in `status`."""
    if not listing.chain_address:
        on_chain(listing)
    wallet = wallet or WalletFactory(user=user or UserFactory()).address
    role = str(MARKETS[listing.kind].order_kind)
    deal = DealFactory(payer=wallet, requester=wallet, **{role: listing.chain_address})
    TaskFactory(deal=deal, status=status)
    return deal


def buyer(listing: Listing, **fields):
    """A new user whose wallet paid for a finished task of `listing` (a verified buyer)."""
    user = UserFactory(**fields)
    purchase(listing, user=user)
    return user
