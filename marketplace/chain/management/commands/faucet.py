from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from marketplace.chain import services
from marketplace.chain.errors import ChainError


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


class Command(BaseCommand):
    help = (
        "Development chain only: send test ECT (and a little ETH for gas) from the faucet "
        "account to an address."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("address", help="the recipient, 0x followed by 40 hex digits")
        parser.add_argument("--ect", type=_amount, default=Decimal("1000"), help="default 1000")
        parser.add_argument("--eth", type=_amount, default=Decimal("1"), help="default 1")

    def handle(self, *args, address: str, ect: Decimal, eth: Decimal, **options) -> None:
        try:
            drip = services.faucet_drip(address=address, ect=ect, eth=eth)
        except ChainError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(str(drip)))
        for transaction in drip.transactions:
            self.stdout.write(f"  transaction {transaction}")
