"""Notifications follow the indexer (marketplace.indexer.followers): the deals a batch touched
are looked at once the batch commits, so that a batch rolled back tells nobody."""

from __future__ import annotations

import logging

from marketplace.indexer.followers import IndexedBatch
from marketplace.notifications.chainfacts import deals_announce

logger = logging.getLogger(__name__)


class NotificationsFollower:
    """After the batch's commit. A batch of `everything` (a reorganization taken back, a
    re-indexing) tells nothing by itself: the facts it left are told as the deals are touched
    again or their watched blocks confirmed. A failure here never stops the indexer: the
    deals' next batch, or the periodic round for watched ones, tells them."""

    in_transaction = False

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything or not batch.dealids:
            return
        try:
            deals_announce(chain_id=batch.chain_id, dealids=batch.dealids)
        except Exception:
            logger.exception("Notifications of %s indexed deals were not made", len(batch.dealids))
