from __future__ import annotations

import dataclasses
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.chain import client, services
from marketplace.chain.errors import ChainError


class Command(BaseCommand):
    help = (
        "Deploy ECT, the registries and the Hub on the configured chain, or reuse the recorded "
        "deployment when it is still there (idempotent); print every address."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--redeploy",
            action="store_true",
            help="Off the dev chain: deploy new contracts even though the recorded Hub is not "
            "on the node (after a test network was reset). Never needed on the dev chain.",
        )

    def handle(self, *args, verbosity: int, redeploy: bool = False, **options) -> None:
        # A log line per transaction (a deployment sends sixteen): only when asked for, -v 2.
        transactions_log = logging.getLogger("marketplace.chain.client")
        level = transactions_log.level
        if verbosity < 2:
            transactions_log.setLevel(logging.WARNING)
        try:
            deployment, created = services.contracts_deploy(redeploy=redeploy)
        except ChainError as error:
            raise CommandError(str(error)) from error
        finally:
            transactions_log.setLevel(level)
        where = f"chain {settings.CHAIN_ID} at {client.shown_url(settings.WEB3_RPC_URL)}"
        if created:
            self.stdout.write(self.style.SUCCESS(f"Deployed the contracts on {where}:"))
        else:
            self.stdout.write(f"Reusing the contracts already deployed on {where}:")
        for field in dataclasses.fields(deployment):
            self.stdout.write(f"  {field.name:<26} {getattr(deployment, field.name)}")
