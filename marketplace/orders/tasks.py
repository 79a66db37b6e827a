"""Celery entry points of the order book (scheduled by beat: settings.CELERY_BEAT_SCHEDULE): the
input clean-up, and the matcher of standing requests."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from marketplace.chain.errors import ChainError
from marketplace.chain.selectors import current_hub
from marketplace.orders.services import inputs_clean
from marketplace.orders.standing import standing_match_round

logger = logging.getLogger(__name__)

# One matcher round at a time across Celery workers; past this, a dead holder's lock expires.
# A second round would find every match in flight written down, so this only saves work.
MATCH_LOCK_SECONDS = 120


@shared_task(ignore_result=True)
def clean_inputs() -> None:
    """Delete the input files no deal needs any more, INPUT_RETENTION_DAYS after their upload."""
    inputs_clean()


@shared_task(ignore_result=True)
def match_standing_requests() -> None:
    """One matcher round (orders.standing), sending with the scheduler's server key; a no-op
    while another round runs."""
    # Load web3 and the keys' library: paid only by the processes that talk to the node.
    from marketplace.chain.client import TransactionSender
    from marketplace.chain.keys import server_account

    key = f"orders:standing-round:{settings.CHAIN_ID}"
    if not cache.add(key, 1, timeout=MATCH_LOCK_SECONDS):
        return
    try:
        hub = current_hub()
        sender = TransactionSender(server_account("scheduler"), w3=hub.w3)
        done = standing_match_round(chain_id=settings.CHAIN_ID, hub=hub, sender=sender)
    except ChainError as error:
        logger.warning("The standing requests' round did not run: %s", error)
        return
    finally:
        cache.delete(key)
    for problem in done.problems:
        logger.warning("Standing requests: %s", problem)
