"""Celery entry point of the indexer (scheduled by beat: settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from marketplace.chain.errors import ChainError
from marketplace.indexer.engine import Indexer, IndexerBusy

logger = logging.getLogger(__name__)

# One run follows the chain this long, then gives the lease back for the next beat's run.
RUN_SECONDS = 8.0


@shared_task(ignore_result=True)
def index_chain() -> None:
    """Follow the chain for RUN_SECONDS; a no-op while another indexer holds the chain."""
    indexer = Indexer(poll_seconds=settings.INDEXER_POLL_SECONDS)
    try:
        indexer.run(seconds=RUN_SECONDS)
    except IndexerBusy:
        return
    except ChainError as error:  # a wrong chain id or no deployment: the state says why
        logger.error("The indexer did not start: %s", error)
    finally:
        indexer.stop()
