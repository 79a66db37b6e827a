"""The worker agent's command line: `python -m worker`, and the site's `manage.py run_worker`,
which takes the same options (`add_arguments`) and runs the agent the same way (`run`).

    WORKER_KEY=0x... python -m worker --site https://market.example --pool 0xPOOL

`python -m worker` reads the chain from the environment, as the site does from its settings:
WEB3_RPC_URL (default http://127.0.0.1:8545), CHAIN_ID (31337), CHAIN_CONFIRMATIONS (0 on
chain 31337, else 12), CHAIN_RPC_TIMEOUT (10 seconds), and SANDBOX_FUEL_PER_SECOND for the
limits of a scheduler that sends none; LOG_LEVEL (INFO) for what it logs.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from worker import sandbox
from worker.addresses import origin_of, parse_origin
from worker.agent import DEFAULT_POLL_SECONDS, Agent, ReplicateFailed
from worker.chain import DEV_CHAIN_ID, RPC_TIMEOUT, ChainError, default_confirmations
from worker.limits import FUEL_PER_SECOND
from worker.stopping import stop_on_signals

DESCRIPTION = (
    "Run a worker agent for a pool: it signs in to the site with its wallet, asks for work, "
    "runs apps in the WebAssembly sandbox and proves its results on chain, until stopped."
)
ECT_DECIMALS = 9
# anvil's ten development accounts are m/44'/60'/0'/0/N of this PUBLIC mnemonic (Foundry's
# documentation): they hold value on the local development chain alone.
_DEV_MNEMONIC = "test test test test test test test test test test test junk"
_DEV_ACCOUNTS = 10
_MANY_DIGITS = 100  # enough for any uint256 amount with its decimals: exact, never rounded


class UsageError(Exception):
    """What the operator must change before the agent can start; the message says what."""


@dataclasses.dataclass(frozen=True)
class ChainSettings:
    """The chain the agent works on, and the fuel rate of the limits it sets itself."""

    rpc_url: str
    chain_id: int
    confirmations: int
    rpc_timeout: float = RPC_TIMEOUT
    fuel_per_second: int = FUEL_PER_SECOND

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ChainSettings:
        """The settings the site would read from the same environment (module docstring)."""
        try:
            chain_id = int(environ.get("CHAIN_ID") or DEV_CHAIN_ID)
            confirmations = environ.get("CHAIN_CONFIRMATIONS")
            return cls(
                rpc_url=environ.get("WEB3_RPC_URL") or "http://127.0.0.1:8545",
                chain_id=chain_id,
                confirmations=(
                    int(confirmations) if confirmations else default_confirmations(chain_id)
                ),
                rpc_timeout=float(environ.get("CHAIN_RPC_TIMEOUT") or RPC_TIMEOUT),
                fuel_per_second=int(environ.get("SANDBOX_FUEL_PER_SECOND") or FUEL_PER_SECOND),
            )
        except ValueError as error:
            raise UsageError(
                "CHAIN_ID, CHAIN_CONFIRMATIONS, CHAIN_RPC_TIMEOUT and SANDBOX_FUEL_PER_SECOND "
                f"are numbers: {error}"
            ) from None


@dataclasses.dataclass(frozen=True)
class Options:
    """The command line's options (`add_arguments`), by their names there."""

    pool: str | None
    site: str
    key_env: str
    dev_account: int | None
    work_dir: Path | None
    poll_seconds: float
    allowed_origins: list[str] | None
    once: bool
    bond: Decimal | None

    @classmethod
    def from_parsed(cls, parsed: Mapping[str, Any]) -> Options:
        """The options among what a parser gave (Django's adds its own: left out)."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in parsed.items() if name in names})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The agent's options, on `parser` (this module's own, or the site's command's)."""
    parser.add_argument("--pool", help="The pool's address (default: any pool the site schedules).")
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


def dev_account(index: int, *, chain_id: int) -> LocalAccount:
    """anvil's development account `index` (0-9); refused unless `chain_id` is anvil's."""
    if chain_id != DEV_CHAIN_ID:
        raise UsageError(
            f"Development account {index} exists only on the local dev chain (chain id "
            f"{DEV_CHAIN_ID}); this worker is configured for chain {chain_id}."
        )
    if not 0 <= index < _DEV_ACCOUNTS:
        raise UsageError(f"anvil has dev accounts 0 to {_DEV_ACCOUNTS - 1}, not {index}.")
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(_DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


def _account(options: Options, chain_id: int) -> LocalAccount:
    if options.dev_account is not None:
        return dev_account(options.dev_account, chain_id=chain_id)
    key = os.environ.get(options.key_env, "").strip()
    if not key:
        raise UsageError(
            f"No worker key: set {options.key_env} to the worker's private key (or, on the dev "
            "chain, pass --dev-account N)."
        )
    try:
        return Account.from_key(key)
    except (ValueError, TypeError):
        # Never echo the value: it may be a real key with a typo.
        raise UsageError(f"{options.key_env} is not a valid private key.") from None


def _allowed_origins(options: Options) -> list[str]:
    allowed = options.allowed_origins
    if allowed is None:
        allowed = [
            text.strip()
            for text in os.environ.get("WORKER_ALLOWED_ORIGINS", "").split(",")
            if text.strip()
        ]
    for text in allowed:
        try:
            parse_origin(text)
        except ValueError as error:
            raise UsageError(f"--allow-origin / WORKER_ALLOWED_ORIGINS: {error}") from None
    return allowed


def _ect_units(amount: Decimal) -> int:
    """`amount` ECT in base units; UsageError when the chain cannot count it."""
    with localcontext() as context:
        context.prec = _MANY_DIGITS
        units = amount.scaleb(ECT_DECIMALS)
    if units != units.to_integral_value():
        raise UsageError(
            f"--bond: ECT has {ECT_DECIMALS} decimals: {amount} is finer than its smallest unit."
        )
    return int(units)


def _format_ect(units: int) -> str:
    """ECT base units for people: 1_500_000_000 → "1.5 ECT", 10**15 → "1,000,000 ECT"."""
    with localcontext() as context:
        context.prec = _MANY_DIGITS
        text = f"{Decimal(units).scaleb(-ECT_DECIMALS):,f}"
    return f"{text.rstrip('0').rstrip('.') if '.' in text else text} ECT"


def run(
    options: Options,
    *,
    settings: ChainSettings,
    say: Callable[[str], Any],
    stop: threading.Event | None = None,
) -> None:
    """Check the options, then run the agent until `stop` is set (by default on SIGINT or
    SIGTERM; call from the main thread then), or for one replicate at most with `once`.

    UsageError before anything starts when an option is wrong; ReplicateFailed (and
    requests' and ChainError's errors) out of the one replicate of `once`."""
    if options.poll_seconds <= 0:
        raise UsageError("--poll-seconds must be positive.")
    bond = options.bond
    if bond is not None and (options.pool is None or not bond.is_finite() or bond <= 0):
        raise UsageError("--bond takes a positive amount of ECT, and needs --pool.")
    try:
        origin_of(options.site)
    except ValueError as error:
        raise UsageError(
            f"--site must be the site's URL, such as http://127.0.0.1:8000: {error}."
        ) from None
    allowed_origins = _allowed_origins(options)
    if options.pool is not None and not is_address(options.pool):
        raise UsageError(f"--pool must be the pool's address, not {options.pool!r}.")
    account = _account(options, settings.chain_id)
    bond_units = _ect_units(bond) if bond is not None else None
    agent = Agent(
        site=options.site,
        account=account,
        pool=to_checksum_address(options.pool) if options.pool else None,
        rpc_url=settings.rpc_url,
        chain_id=settings.chain_id,
        work_dir=options.work_dir,
        poll_seconds=options.poll_seconds,
        allowed_origins=allowed_origins,
        confirmations=settings.confirmations,
        rpc_timeout=settings.rpc_timeout,
        fuel_per_second=settings.fuel_per_second,
    )
    if stop is None:
        stop = threading.Event()
        stop_on_signals(stop)
    pools = f"pool {options.pool}" if options.pool else "the pools it schedules"
    say(f"Worker {account.address} working for {pools} at {options.site}.")
    if allowed_origins:
        say(f"Files also downloaded from {', '.join(allowed_origins)} (allowed origins).")
    if bond_units is not None:
        try:
            held = agent.bond(bond_units)
        except ChainError as error:
            raise UsageError(f"The bond was not locked: {error}") from None
        say(f"Bond for pool {agent.pool}: {_format_ect(held)} locked.")
    _say_membership(agent, say)
    sandbox.warm_up()
    say(f"Sandbox ready; asking for work (every {options.poll_seconds:g} s when idle).")
    if options.once:
        agent.run_once()
    else:
        agent.run(stop=stop)


def _say_membership(agent: Agent, say: Callable[[str], Any]) -> None:
    """Ask to join the agent's pool (or list its pools), and say where it stands: a worker
    that is not a member in good standing gets no work."""
    try:
        found = [agent.join()] if agent.pool else agent.memberships()
    except (ReplicateFailed, requests.RequestException) as error:
        say(f"Could not ask the site about its pools yet: {error}")
        return
    for member in found:
        standing = "in good standing" if member["good_standing"] else member["reason"]
        say(f"Pool {member['pool']}: {member['status']}, {standing}")
    if not found:
        say("A member of no pool yet: ask to join one with --pool ADDRESS (see /pools/).")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m worker`: its exit status (2 for a wrong option, 1 when `--once` failed)."""
    parser = argparse.ArgumentParser(prog="python -m worker", description=DESCRIPTION)
    add_arguments(parser)
    options = Options.from_parsed(vars(parser.parse_args(argv)))
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(message)s")
    try:
        run(options, settings=ChainSettings.from_environment(), say=_print)
    except UsageError as error:
        parser.error(str(error))
    except (ReplicateFailed, ChainError, requests.RequestException) as error:
        print(f"worker: {error}", file=sys.stderr)
        return 1
    return 0


def _print(text: str) -> None:
    print(text, flush=True)
