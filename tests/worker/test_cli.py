"""`python -m worker`: it runs without Django or anything of the site, from this tree and as its
package installs alone (worker/pyproject.toml); its options are checked before it starts; its
chain comes from the environment as the site's does; anvil's development keys are the ones
the site knows."""

from __future__ import annotations

import email.parser
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
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
PACKAGE = REPO / "worker"
# Top-level packages of the site: none may be imported by the worker agent.
SITE_PACKAGES = ("django", "marketplace", "pools", "dappstore", "datamarket", "frontend", "web3")
# In a fresh interpreter: import every module of the worker package, run `python -m worker
# --help`, then print (last line) its exit status, where worker was found, and which of the
# site's packages got imported.
ISOLATED_RUN = f"""
import importlib, json, pkgutil, runpy, sys
import worker
for module in pkgutil.iter_modules(worker.__path__):
    if module.name != "__main__":
        importlib.import_module("worker." + module.name)
sys.argv = ["worker", "--help"]
try:
    runpy.run_module("worker", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    status = exit.code
imported = sorted(name for name in sys.modules if name.split(".")[0] in {SITE_PACKAGES!r})
print(json.dumps({{"status": status, "worker": worker.__file__, "site": imported}}))
"""


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


def _isolated_run(cwd: Path, **environment: str) -> tuple[dict, str]:
    done = _python("-c", ISOLATED_RUN, cwd=cwd, **environment)
    assert done.returncode == 0, done.stderr
    *printed, last = done.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed)


def test_python_m_worker_imports_nothing_of_the_site() -> None:
    result, printed = _isolated_run(REPO)

    assert result == {"status": 0, "worker": str(PACKAGE / "__init__.py"), "site": []}
    assert printed.startswith("usage: python -m worker [-h] [--pool POOL] [--site SITE]")
    assert "--dev-account DEV_ACCOUNT" in printed and "--bond ECT" in printed


def _requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if match := re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", line.strip()):
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_the_worker_package_installs_and_runs_alone(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(
        PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info")
    )
    built = _python(
        "-c",
        "import sys, setuptools.build_meta as b; print(b.build_sdist(sys.argv[1]))",
        str(tmp_path / "dist"),
        cwd=source,
    )
    assert built.returncode == 0, built.stderr
    sdist = tmp_path / "dist" / built.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = tmp_path / "unpacked" / root
    metadata = email.parser.Parser().parsestr((unpacked / "PKG-INFO").read_text())
    # What pip installs with it (the egg-info of the sdist: its own dependencies, no extras).
    requires = (unpacked / "superedge_worker.egg-info" / "requires.txt").read_text().split()

    # Every module of the package, and the Hub's ABI part, is in what pip installs.
    shipped = {path.name for path in unpacked.iterdir() if path.is_file()}
    assert {path.name for path in PACKAGE.glob("*.py")} | {"hub_abi.json"} <= shipped
    assert metadata["Name"] == "superedge-worker"
    # Pinned as requirements.txt pins (and as installed here, for what it does not list).
    pins, required = _requirement_pins(), {}
    for requirement in requires:
        name, version = requirement.split("==")
        required[name.lower()] = version
        assert version == pins.get(name.lower(), importlib.metadata.version(name)), requirement
    assert {"requests", "eth-account", "wasmtime", "cryptography"} <= set(required)
    assert not {"django", "web3"} & set(required)

    # Laid out as pip lays it out, alone on the path: it runs, and imports nothing of the site.
    installed = tmp_path / "site-packages" / "worker"
    shutil.copytree(
        unpacked,
        installed,
        ignore=shutil.ignore_patterns("*.egg-info", "PKG-INFO", "setup.cfg", "pyproject.toml"),
    )
    result, _ = _isolated_run(tmp_path, PYTHONPATH=str(installed.parent))
    assert result == {"status": 0, "worker": str(installed / "__init__.py"), "site": []}


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
