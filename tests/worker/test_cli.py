"""`python -m worker` and `manage.py run_worker`'s options: checked before the agent starts; the
chain from the environment as the site's settings read it; anvil's development keys the ones
the site knows; a failed `--once` said."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.chain.keys import DEV_PRIVATE_KEYS
from tests.worker.listener import Listener, serve
from worker import cli
from worker.cli import ChainSettings, Options, UsageError
from worker.limits import FUEL_PER_SECOND

REPO = Path(__file__).resolve().parents[2]


def _environment(**extra: str) -> dict[str, str]:
    """This process's environment without what points at the site's settings."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "WORKER_ALLOWED_ORIGINS")
    }
    return environment | extra


def _python(*arguments: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """This interpreter run on `arguments` in `cwd`, in `_environment(**environment)`."""
    return subprocess.run(  # noqa: S603 - this interpreter, on this project's code
        [sys.executable, *arguments],
        cwd=cwd,
        env=_environment(**environment),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_python_m_worker_refuses_a_wrong_option_before_starting() -> None:
    with Listener(serve(b"")) as site:
        done = _python("-m", "worker", "--dev-account", "6", "--site", site.origin[7:], cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "--site must be the site's URL, such as http://127.0.0.1:8000: only http and https "
        "URLs are downloaded, not a URL without a scheme."
    )
    assert site.connections == 0


def test_python_m_worker_says_why_its_one_replicate_failed() -> None:
    # A site without a worker API: the agent starts, then its first call is answered 501.
    with Listener(serve(b"")) as site:
        done = _python(
            "-m", "worker", "--dev-account", "6", "--site", site.origin, "--once", cwd=REPO
        )
    assert done.returncode == 1
    assert done.stdout.startswith(
        "Worker 0x976EA74026E726554dB657fA54763abd0C3a0aa9 working for the pools it schedules"
    )
    assert "\nworker: The site answered 501: " in "\n" + done.stderr


def test_anvils_development_keys_are_the_ones_the_site_knows() -> None:
    derived = [cli.dev_account(index, chain_id=31337).key for index in range(10)]

    assert ["0x" + bytes(key).hex() for key in derived] == list(DEV_PRIVATE_KEYS)
    with pytest.raises(UsageError, match=r"^Development account 6 exists only on the local dev"):
        cli.dev_account(6, chain_id=1)
    with pytest.raises(UsageError, match=r"^anvil has dev accounts 0 to 9, not 10\."):
        cli.dev_account(10, chain_id=31337)


def test_the_chain_comes_from_the_environment_as_the_sites_settings_read_it() -> None:
    assert ChainSettings.from_environment({}) == ChainSettings(
        rpc_url="http://127.0.0.1:8545",
        chain_id=31337,
        confirmations=0,
        rpc_timeout=10.0,
        fuel_per_second=FUEL_PER_SECOND,
    )
    assert ChainSettings.from_environment(
        {"WEB3_RPC_URL": "https://rpc.example", "CHAIN_ID": "8453"}
    ) == ChainSettings(rpc_url="https://rpc.example", chain_id=8453, confirmations=12)
    assert ChainSettings.from_environment(
        {
            "CHAIN_CONFIRMATIONS": "3",
            "CHAIN_RPC_TIMEOUT": "2.5",
            "SANDBOX_FUEL_PER_SECOND": "1000",
        }
    ) == ChainSettings(
        rpc_url="http://127.0.0.1:8545",
        chain_id=31337,
        confirmations=3,
        rpc_timeout=2.5,
        fuel_per_second=1000,
    )
    with pytest.raises(UsageError, match="are numbers"):
        ChainSettings.from_environment({"CHAIN_ID": "base"})


def test_a_bond_finer_than_the_tokens_smallest_unit_is_refused_before_starting() -> None:
    options = Options(
        pool="0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        site="http://127.0.0.1:1",  # nothing listens: nothing must be asked
        key_env="WORKER_KEY",
        dev_account=6,
        work_dir=None,
        poll_seconds=2.0,
        allowed_origins=[],
        once=True,
        bond=Decimal("0.0000000001"),
    )
    said: list[str] = []

    with pytest.raises(UsageError) as refused:
        cli.run(
            options,
            settings=ChainSettings.from_environment({}),
            say=said.append,
            stop=threading.Event(),
        )

    assert str(refused.value) == (
        "--bond: ECT has 9 decimals: 1E-10 is finer than its smallest unit."
    )
    assert said == []
