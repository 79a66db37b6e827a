"""Celery entry points of notifications (the round is scheduled by beat:
settings.CELERY_BEAT_SCHEDULE; `send_emails` is also asked for when a notification queued an
email and a broker runs the tasks elsewhere)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from marketplace.notifications.chainfacts import claimable_announce, watched_announce
from marketplace.notifications.outbox import SendRound, emails_send


@shared_task(ignore_result=True)
def send_emails() -> None:
    """Send the outbox's due emails."""
    emails_send()


@shared_task(ignore_result=True)
def notifications_round() -> None:
    """One round (`run_round`)."""
    run_round()


def run_round() -> SendRound:
    """Tell the chain's facts that time or confirmations made due (refunds now claimable, deals
    whose blocks were confirmed), then send the outbox's due emails; what the sending did."""
    watched_announce(chain_id=settings.CHAIN_ID)
    claimable_announce(chain_id=settings.CHAIN_ID)
    return emails_send()
