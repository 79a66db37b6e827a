"""The local anvil: the suite's fixtures, the state file, start failures and `make chain`'s
foreground entry point."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from marketplace.chain import client
from marketplace.chain.anvil import AnvilError, anvil_binary, running_anvil, start_anvil
from marketplace.chain.errors import ChainUnavailable

ROOT = Path(__file__).resolve().parents[3]
# An address no test funds: its balance tells whether a change leaked from another test.
PROBE = "0x000000000000000000000000000000000000dEaD"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_anvil_fixture_runs_the_dev_chain_on_loopback(anvil, w3):
    assert anvil.url == f"http://127.0.0.1:{anvil.port}"
    assert w3.eth.chain_id == 31337
    assert anvil.url == settings.WEB3_RPC_URL
    assert client.chain_id() == 31337


def test_chain_changes_in_one_test_1_of_2(chain, dev_accounts):
    client.TransactionSender(dev_accounts[0]).send(to=PROBE, value=10**18)

    assert chain.eth.get_balance(PROBE) == 10**18


def test_chain_changes_in_one_test_2_of_2_are_gone_in_the_next(chain):
    # Runs after 1_of_2 (same module, same worker): the snapshot revert undid its transfer.
    assert chain.eth.get_balance(PROBE) == 0


def test_state_file_keeps_the_chain_across_restarts(tmp_path):
    state = tmp_path / "anvil-state.json"
    with running_anvil(state_file=state) as node:
        w3 = client.web3(url=node.url)
        client.rpc("anvil_setBalance", [PROBE, hex(12345)], w3=w3)
        client.rpc("evm_mine", w3=w3)

    assert state.is_file()
    with running_anvil(state_file=state) as node:
        w3 = client.web3(url=node.url)
        assert w3.eth.get_balance(PROBE) == 12345
        assert w3.eth.block_number == 1


def test_start_on_a_port_in_use_fails_with_the_log_tail(anvil):
    with pytest.raises(AnvilError, match=r"exited with status 1(.|\n)*Address already in use"):
        start_anvil(port=anvil.port)


def test_stop_is_idempotent_and_removes_the_temporary_log():
    node = start_anvil()
    node.stop()
    node.stop()

    assert node.process.returncode is not None
    assert not node.log_path.exists()


def test_missing_binary_says_to_run_make_install(tmp_path):
    with pytest.raises(AnvilError, match=r"run `make install`"):
        anvil_binary(root=tmp_path)


def test_binary_is_the_native_one_from_npm():
    assert anvil_binary().is_relative_to(ROOT / "node_modules" / "@foundry-rs")


def test_foreground_entry_point_serves_until_sigterm_and_saves_state(tmp_path):
    port, state = _free_port(), tmp_path / "state.json"
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "marketplace.chain.anvil", "--port", str(port), "--state", state],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        w3 = client.web3(url=f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 15
        while True:
            try:
                assert w3.eth.chain_id == 31337
                break
            except ChainUnavailable:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "anvil did not start"
                time.sleep(0.05)
        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=15) == 0
        assert state.is_file()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
