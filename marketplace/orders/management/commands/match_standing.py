"""`manage.py match_standing`: match the standing requests of the book (once, or --loop)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from marketplace.orders.tasks import match_standing_requests
from worker.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Match the standing requests of the book against the offers there now, sending "
        "matchOrders with the scheduler's server key. Once, or with --loop every "
        "STANDING_MATCH_SECONDS until stopped (what `make run` does without Redis; with Redis, "
        "Celery beat runs it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep matching every STANDING_MATCH_SECONDS."
        )

    def handle(self, *args, loop: bool, **options) -> None:
        if not loop:
            match_standing_requests()
            return
        stop = threading.Event()
        stop_on_signals(stop)
        while not stop.is_set():
            try:
                match_standing_requests()
            except DatabaseError as error:  # a busy database: next round
                self.stderr.write(f"Matching standing requests failed: {error}")
            stop.wait(settings.STANDING_MATCH_SECONDS)
