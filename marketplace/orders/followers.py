"""The order book follows the indexer (marketplace.indexer.followers): the live orders the
batch's events concern are checked again against the chain's state, and the owners of wallets
whose escrow runs short are warned."""

from __future__ import annotations

from marketplace.indexer.followers import IndexedBatch
from marketplace.orders.runway import runway_warnings
from marketplace.orders.services import orders_refresh


class OrderBookFollower:
    """Inside the batch's transaction: the book's verdicts commit with the state they rest on."""

    in_transaction = True

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything:
            orders_refresh(chain_id=batch.chain_id, everything=True)
        else:
            orders_refresh(
                chain_id=batch.chain_id, addresses=batch.addresses, digests=batch.digests
            )


class RunwayFollower:
    """Once the batch commits: the linked wallets whose escrow or deals it touched are told when
    their free escrow lasts fewer than settings.RUNWAY_WARNING_DAYS at their spending rate (at
    most once a day per wallet while it stays short: the notification's key is the day)."""

    in_transaction = False

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything or not batch.addresses:
            # A re-indexed chain tells nobody of old news; the next batch that touches a wallet
            # will.
            return
        runway_warnings(chain_id=batch.chain_id, addresses=batch.addresses)
