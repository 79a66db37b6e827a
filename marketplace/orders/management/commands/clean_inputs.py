"""`manage.py clean_inputs`: delete the input files no deal needs any more (once, or --loop)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from marketplace.orders.services import inputs_clean
from worker.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Delete the input files uploaded more than INPUT_RETENTION_DAYS ago that no deal whose "
        "tasks may still run and no request in the book names, files and rows. Once, or with "
        "--loop every INPUT_CLEAN_SECONDS until stopped (what `make run` does without Redis; "
        "with Redis, Celery beat runs it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="Keep cleaning every INPUT_CLEAN_SECONDS."
        )

    def handle(self, *args, loop: bool, **options) -> None:
        verbosity = options.get("verbosity", 1)
        if not loop:
            deleted = inputs_clean()
            if verbosity >= 1:
                self.stdout.write(f"Deleted {deleted} unused input files.")
            return
        stop = threading.Event()
        stop_on_signals(stop)
        while not stop.is_set():
            try:
                deleted = inputs_clean()
            except (DatabaseError, OSError) as error:  # a busy database, a full disk: next time
                self.stderr.write(f"Input clean-up failed: {error}")
            else:
                if deleted and verbosity >= 1:
                    self.stdout.write(f"Deleted {deleted} unused input files.")
            stop.wait(settings.INPUT_CLEAN_SECONDS)
