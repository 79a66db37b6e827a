"""The pools follow the indexer (marketplace.indexer.followers): each pool's reliability record
is derived again when a batch changed its tasks (pools.records)."""

from __future__ import annotations

from marketplace.indexer.followers import IndexedBatch
from pools.records import pool_records_refresh, touched_pools


class PoolRecordFollower:
    """Inside the batch's transaction, so that a record commits (or rolls back) with the
    tasks it was derived from; listed before the catalogue's follower, which ranks the pools'
    listings by the records."""

    in_transaction = True

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything:
            pool_records_refresh(chain_id=batch.chain_id, workerpools=None)
        elif batch.dealids:
            pools = touched_pools(chain_id=batch.chain_id, dealids=batch.dealids)
            pool_records_refresh(chain_id=batch.chain_id, workerpools=pools)
