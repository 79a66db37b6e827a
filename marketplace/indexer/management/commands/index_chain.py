"""`manage.py index_chain`: follow the chain into the database until stopped (Ctrl-C)."""

from __future__ import annotations

import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.chain.errors import ChainError
from marketplace.indexer import engine
from marketplace.indexer.engine import Indexer, IndexerBusy, Step
from worker.stopping import stop_on_signals


class Command(BaseCommand):
    help = (
        "Index the events of our contracts on the configured chain: from the checkpoint to the "
        "head, then block by block as they come (until stopped, or --once at the head)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Stop once the index reaches the head."
        )
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="Forget what was indexed of this chain and start again from the deployment.",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="When another indexer holds the chain, wait for it instead of stopping.",
        )

    def handle(self, *args, once: bool, reindex: bool, wait: bool, **options) -> None:
        stop = threading.Event()
        stop_on_signals(stop)
        indexer = Indexer(poll_seconds=settings.INDEXER_POLL_SECONDS)
        verbosity = options.get("verbosity", 1)

        def report(step: Step) -> None:
            if step.action == "indexed" and verbosity >= 1:
                self.stdout.write(f"blocks {step.first}-{step.last}: {step.events} events")
            elif step.action == "rolled_back":
                self.stdout.write(f"reorganization: rolled back to block {step.first - 1}")

        try:
            while not stop.is_set():
                try:
                    state = indexer.start()
                except IndexerBusy as error:
                    if not wait:
                        raise CommandError(str(error)) from None
                    self.stderr.write(f"{error} Waiting.")
                    stop.wait(1)
                    continue
                if reindex:  # under the lease: never under a running indexer
                    engine.reindex(chain_id=settings.CHAIN_ID)
                    state.refresh_from_db()
                    reindex = False
                    self.stdout.write(f"Forgot the index of chain {settings.CHAIN_ID}.")
                self.stdout.write(
                    f"Indexing chain {settings.CHAIN_ID} from block {state.checkpoint + 1} "
                    f"({settings.CHAIN_CONFIRMATIONS} confirmations)."
                )
                indexer.run(stop=stop, until_caught_up=once, on_step=report)
                break
        except ChainError as error:
            raise CommandError(str(error)) from None
        finally:
            indexer.stop()
