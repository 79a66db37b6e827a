"""`manage.py run_scheduler`: schedule the pools this site operates until stopped (Ctrl-C)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.chain.errors import ChainError
from marketplace.chain.selectors import current_hub
from pools.lifecycle import scheduler_round
from worker.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Run the scheduler of the pools whose owners' keys this site holds (POOL_OWNER_KEYS; "
        "on the dev chain, the dev accounts): start the tasks of their new deals, hand "
        "replicates to workers, finalize, reopen and claim. A round every --every seconds."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="One round, then stop.")
        parser.add_argument(
            "--every", type=float, default=settings.SCHEDULER_ROUND_SECONDS, help="Seconds."
        )

    def handle(self, *args, once: bool, every: float, **options) -> None:
        stop = threading.Event()
        stop_on_signals(stop)
        try:
            hub = current_hub()
        except ChainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Scheduling the operated pools of chain {settings.CHAIN_ID}.")
        while not stop.is_set():
            try:
                done = scheduler_round(chain_id=settings.CHAIN_ID, hub=hub)
            except ChainError as error:  # the node is down: try again next round
                self.stderr.write(f"Scheduler round failed: {error}")
            else:
                if str(done) != "nothing to do" and options.get("verbosity", 1) >= 1:
                    self.stdout.write(f"round: {done}")
            if once:
                break
            stop.wait(every)
