"""The deal pages follow the indexer (marketplace.indexer.followers): the live pages of the deals
a batch touched are told to look again, once the batch commits."""

from __future__ import annotations

import logging

from marketplace.indexer.followers import IndexedBatch
from marketplace.indexer.notify import progress_changed

logger = logging.getLogger(__name__)

# More deals than this in one indexed batch are left to the pages' own re-reads
# (PROGRESS_POLL_SECONDS): a catching-up indexer would otherwise flood the channel layer.
MAX_NOTIFIED_DEALS = 200


class DealPagesFollower:
    """Inside the batch's transaction (progress_changed waits for its commit); a failure here
    never fails the batch: the pages also re-read by themselves."""

    in_transaction = True

    def __call__(self, batch: IndexedBatch) -> None:
        if not batch.dealids or len(batch.dealids) > MAX_NOTIFIED_DEALS:
            return
        try:
            for dealid in batch.dealids:
                progress_changed(dealid)
        except Exception as error:
            logger.warning("The deal pages were not told of indexed deals: %s", error)
