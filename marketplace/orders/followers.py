"""The order book follows the indexer (marketplace.indexer.followers): the live orders the
batch's events concern are checked again against the chain's state."""

from __future__ import annotations

from marketplace.indexer.followers import IndexedBatch
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
