"""`manage.py run_worker --pool ADDRESS`: a worker agent with its own wallet, on the chain this
site is configured for (worker.cli: the same as `python -m worker`)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from worker import cli


class Command(BaseCommand):
    help = cli.DESCRIPTION

    def add_arguments(self, parser) -> None:
        cli.add_arguments(parser)

    def handle(self, *args, **options) -> None:
        chain = cli.ChainSettings(
            rpc_url=settings.WEB3_RPC_URL,
            chain_id=settings.CHAIN_ID,
            confirmations=settings.CHAIN_CONFIRMATIONS,
            rpc_timeout=settings.CHAIN_RPC_TIMEOUT,
            fuel_per_second=settings.SANDBOX_FUEL_PER_SECOND,
        )
        try:
            cli.run(cli.Options.from_parsed(options), settings=chain, say=self.stdout.write)
        except cli.UsageError as error:
            raise CommandError(str(error)) from None
