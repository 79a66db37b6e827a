"""`manage.py send_notifications`: tell what time made due and send the emails of the outbox
(once, or --loop)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from marketplace.notifications.tasks import run_round
from worker.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Tell users of refunds that became claimable and of chain facts newly confirmed, then "
        "send the due emails of the outbox. Once, or with --loop every "
        "NOTIFICATIONS_ROUND_SECONDS until stopped (what `make run` does without Redis; with "
        "Redis, Celery beat runs it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep going every NOTIFICATIONS_ROUND_SECONDS."
        )

    def handle(self, *args, loop: bool, **options) -> None:
        if not loop:
            self._round()
            return
        stop = threading.Event()
        stop_on_signals(stop)
        while not stop.is_set():
            try:
                self._round()
            except DatabaseError as error:  # a busy database: next round
                self.stderr.write(f"Notifications round failed: {error}")
            stop.wait(settings.NOTIFICATIONS_ROUND_SECONDS)

    def _round(self) -> None:
        done = run_round()
        if done.sent or done.retried or done.failed or done.lost:
            self.stdout.write(
                f"emails: {done.sent} sent, {done.retried} to retry, {done.failed} failed, "
                f"{done.lost} lost by a stopped sender"
            )
