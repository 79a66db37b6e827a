"""manage.py deploy_contracts and manage.py faucet."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from eth_account import Account

from marketplace.chain.selectors import current_deployment
from tests.chain_scaffold import ECT, ETH, closed_port_url, ect_balance

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _address_lines(deployment) -> list[str]:
    return [
        f"  {field.name:<26} {getattr(deployment, field.name)}"
        for field in dataclasses.fields(deployment)
    ]


def test_deploy_contracts_deploys_then_reuses_and_prints_every_address(chain, anvil):
    first = _run("deploy_contracts")
    deployment = current_deployment()
    second = _run("deploy_contracts")

    assert first.splitlines() == [
        f"Deployed the contracts on chain 31337 at {anvil.url}:",
        *_address_lines(deployment),
    ]
    assert second.splitlines() == [
        f"Reusing the contracts already deployed on chain 31337 at {anvil.url}:",
        *_address_lines(deployment),
    ]


def test_deploy_contracts_on_an_unreachable_chain_is_a_readable_error(settings):
    settings.WEB3_RPC_URL = closed_port_url()

    with pytest.raises(
        CommandError,
        match=r"is unavailable \(cannot connect\)\. For development, start the local chain",
    ):
        call_command("deploy_contracts")


def test_deploy_contracts_exits_non_zero_with_the_message_alone(tmp_path):
    url = closed_port_url()
    environment = {**os.environ, "WEB3_RPC_URL": url, "SUPEREDGE_VAR_DIR": str(tmp_path)}

    finished = subprocess.run(  # noqa: S603 - this interpreter, our manage.py
        [sys.executable, "manage.py", "deploy_contracts"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode == 1
    assert finished.stdout == ""
    assert finished.stderr.startswith(f"CommandError: The blockchain node at {url} is unavailable")
    assert "Traceback" not in finished.stderr


def test_faucet_sends_and_prints_the_transactions(chain):
    call_command("deploy_contracts", stdout=StringIO())
    recipient = Account.create().address

    output = _run("faucet", recipient.lower(), "--ect", "12.5")

    lines = output.splitlines()
    assert lines[0] == f"Sent 12.5 ECT and 1 ETH to {recipient[:6]}…{recipient[-4:]}."
    assert len(lines) == 3
    assert all(line.startswith("  transaction 0x") for line in lines[1:])
    assert ect_balance(chain, current_deployment(), recipient) == 125 * ECT // 10
    assert chain.eth.get_balance(recipient) == ETH


def test_faucet_refuses_a_bad_address(chain):
    call_command("deploy_contracts", stdout=StringIO())

    with pytest.raises(CommandError, match="is not an Ethereum address"):
        call_command("faucet", "0xnope")


def test_faucet_refuses_off_the_dev_chain(settings):
    settings.CHAIN_ID = 1

    with pytest.raises(CommandError, match="exists only on the development chain"):
        call_command("faucet", Account.create().address)


def test_faucet_refuses_an_amount_that_is_not_a_number():
    with pytest.raises(CommandError, match="'lots' is not a number"):
        call_command("faucet", Account.create().address, "--ect", "lots")
