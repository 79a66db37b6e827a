"""`manage.py run_worker --pool ADDRESS`: a worker agent with its own wallet (see pools.agent)."""

from __future__ import annotations

import os
import threading
from decimal import Decimal
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.stopping import stop_on_signals
from pools.agent import DEFAULT_POLL_SECONDS


class Command(BaseCommand):
    help = (
        "Run a worker agent for a pool: it signs in to the site with its wallet, asks for work, "
        "runs apps in the WebAssembly sandbox and proves its results on chain, until stopped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--pool", help="The pool's address (default: any pool the site schedules)."
        )
        parser.add_argument(
            "--site",
            default=os.environ.get("SITE_URL", "http://127.0.0.1:8000"),
            help="The site whose worker API schedules the pool (default: SITE_URL).",
        )
        parser.add_argument(
            "--key-env",
            default="WORKER_KEY",
            help="The environment variable holding the worker's private key.",
        )
        parser.add_argument(
            "--dev-account",
            type=int,
            help="Use anvil's dev account N as the worker's key (dev chain only).",
        )
        parser.add_argument("--work-dir", type=Path, help="Where replicates run.")
        parser.add_argument(
            "--poll-seconds",
            type=float,
            default=DEFAULT_POLL_SECONDS,
            help="Seconds between asks for work while there is none (default: %(default)s).",
        )
        parser.add_argument(
            "--allow-origin",
            action="append",
            dest="allowed_origins",
            metavar="ORIGIN",
            help=(
                "Also download app, dataset and input files from ORIGIN (http(s)://host[:port]) "
                "though it is on loopback or a private network; repeatable. Default: the "
                "comma-separated origins of WORKER_ALLOWED_ORIGINS, or none. The --site origin "
                "is always allowed; every other download must be from a public address."
            ),
        )
        parser.add_argument("--once", action="store_true", help="Run one replicate at most.")
        parser.add_argument(
            "--bond",
            type=Decimal,
            metavar="ECT",
            help="Before asking to join --pool, make sure the worker keeps a bond of at least this "
            "much for the pool, locking what it lacks from its free escrow (pools admitting by "
            "conditions may ask for one).",
        )

    def handle(
        self,
        *args,
        pool: str,
        site: str,
        key_env: str,
        dev_account: int | None,
        work_dir: Path | None,
        poll_seconds: float,
        allowed_origins: list[str] | None,
        once: bool,
        bond: Decimal | None = None,
        **options,
    ) -> None:
        from eth_account import Account
        from eth_utils import is_address, to_checksum_address

        from marketplace.chain.keys import KeyRefused
        from marketplace.chain.keys import dev_account as dev_key
        from pools import sandbox
        from pools.addresses import origin_of, parse_origin
        from pools.agent import Agent

        if poll_seconds <= 0:
            raise CommandError("--poll-seconds must be positive.")
        if bond is not None and (pool is None or bond <= 0):
            raise CommandError("--bond takes a positive amount of ECT, and needs --pool.")
        try:
            origin_of(site)
        except ValueError as error:
            raise CommandError(
                f"--site must be the site's URL, such as http://127.0.0.1:8000: {error}."
            ) from None
        if allowed_origins is None:
            allowed_origins = [
                text.strip()
                for text in os.environ.get("WORKER_ALLOWED_ORIGINS", "").split(",")
                if text.strip()
            ]
        for text in allowed_origins:
            try:
                parse_origin(text)
            except ValueError as error:
                raise CommandError(f"--allow-origin / WORKER_ALLOWED_ORIGINS: {error}") from None
        if pool is not None and not is_address(pool):
            raise CommandError(f"--pool must be the pool's address, not {pool!r}.")
        if dev_account is not None:
            try:
                account = dev_key(dev_account)
            except (KeyRefused, ValueError) as error:
                raise CommandError(str(error)) from None
        else:
            key = os.environ.get(key_env, "").strip()
            if not key:
                raise CommandError(
                    f"No worker key: set {key_env} to the worker's private key (or, on the dev "
                    "chain, pass --dev-account N)."
                )
            try:
                account = Account.from_key(key)
            except (ValueError, TypeError):
                raise CommandError(f"{key_env} is not a valid private key.") from None
        agent = Agent(
            site=site,
            account=account,
            pool=to_checksum_address(pool) if pool else None,
            rpc_url=settings.WEB3_RPC_URL,
            chain_id=settings.CHAIN_ID,
            work_dir=work_dir,
            poll_seconds=poll_seconds,
            allowed_origins=allowed_origins,
        )
        stop = threading.Event()
        stop_on_signals(stop)
        pools = f"pool {pool}" if pool else "the pools it schedules"
        self.stdout.write(f"Worker {account.address} working for {pools} at {site}.")
        if allowed_origins:
            self.stdout.write(
                f"Files also downloaded from {', '.join(allowed_origins)} (allowed origins)."
            )
        if bond is not None:
            self._bond(agent, bond)
        self._say_membership(agent)
        sandbox.warm_up()
        self.stdout.write(f"Sandbox ready; asking for work (every {poll_seconds:g} s when idle).")
        if once:
            agent.run_once()
        else:
            agent.run(stop=stop)

    def _bond(self, agent, amount: Decimal) -> None:
        from marketplace.chain.amounts import ECT_DECIMALS, format_ect, to_units
        from marketplace.chain.errors import ChainError

        units = to_units(amount, decimals=ECT_DECIMALS, currency="ECT")
        try:
            held = agent.bond(units)
        except ChainError as error:
            raise CommandError(f"The bond was not locked: {error}") from None
        self.stdout.write(f"Bond for pool {agent.pool}: {format_ect(held)} locked.")

    def _say_membership(self, agent) -> None:
        """Ask to join the agent's pool (or list its pools), and say where it stands: a worker
        that is not a member in good standing gets no work."""
        from pools.agent import ReplicateFailed

        try:
            found = [agent.join()] if agent.pool else agent.memberships()
        except (ReplicateFailed, requests.RequestException) as error:
            self.stdout.write(f"Could not ask the site about its pools yet: {error}")
            return
        for member in found:
            standing = "in good standing" if member["good_standing"] else member["reason"]
            self.stdout.write(f"Pool {member['pool']}: {member['status']}, {standing}")
        if not found:
            self.stdout.write(
                "A member of no pool yet: ask to join one with --pool ADDRESS (see /pools/)."
            )
