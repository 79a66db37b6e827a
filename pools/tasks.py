"""Celery entry point of the scheduler (scheduled by beat: settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from marketplace.chain.errors import ChainError
from marketplace.chain.selectors import current_hub
from pools.lifecycle import scheduler_round

logger = logging.getLogger(__name__)

# One round at a time across Celery workers: a second would send the same transactions.
LOCK_SECONDS = 60


@shared_task(ignore_result=True)
def schedule_pools() -> None:
    """One scheduler round; a no-op while another round runs."""

    key = f"pools:scheduler-round:{settings.CHAIN_ID}"
    if not cache.add(key, 1, timeout=LOCK_SECONDS):
        return
    try:
        scheduler_round(chain_id=settings.CHAIN_ID, hub=current_hub())
    except ChainError as error:
        logger.warning("The scheduler round did not run: %s", error)
    finally:
        cache.delete(key)
