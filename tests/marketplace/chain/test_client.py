"""The JSON-RPC client against a real anvil: transfers, concurrent nonces, decoded reverts,
transactions for the browser wallet, and a node that is down."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak

from marketplace.chain import client
from marketplace.chain.anvil import running_anvil
from marketplace.chain.client import TransactionSender, build_unsigned_transaction, call
from marketplace.chain.errors import ChainError, ChainRevert, ChainUnavailable
from marketplace.chain.keys import DEV_ADDRESSES

REPO = Path(__file__).resolve().parents[3]
NOPE_ABI = [{"type": "error", "name": "Nope", "inputs": [{"name": "code", "type": "uint256"}]}]


def _copying_code(payload: bytes, *, last_opcode: int) -> bytes:
    """EVM code that copies `payload` (appended after these 12 bytes) to memory and ends with
    RETURN (0xf3) or REVERT (0xfd) of it: PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY,
    PUSH1 0, <last_opcode>."""
    length = len(payload).to_bytes(2, "big")
    return b"\x61" + length + b"\x80\x60\x0c\x60\x00\x39\x60\x00" + bytes([last_opcode]) + payload


def _deploy(sender: TransactionSender, *, runtime: bytes) -> str:
    init_code = _copying_code(runtime, last_opcode=0xF3)
    return sender.send(to=None, data=init_code)["contractAddress"]


def _always_reverting(sender: TransactionSender, revert_data: bytes) -> str:
    """A contract that reverts every call with `revert_data`."""
    return _deploy(sender, runtime=_copying_code(revert_data, last_opcode=0xFD))


def _nope(code: int) -> bytes:
    return keccak(text="Nope(uint256)")[:4] + encode(["uint256"], [code])


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def sender(chain, dev_accounts):
    return TransactionSender(dev_accounts[1], abis=[NOPE_ABI])


def test_web3_follows_settings_to_the_test_anvil(chain, anvil):
    assert client.web3().provider.endpoint_uri == anvil.url
    assert client.chain_id() == 31337


def test_sender_transfers_eth_and_pays_exactly_the_value_and_gas(chain, sender):
    recipient = Account.create().address
    balance_before = chain.eth.get_balance(sender.address)

    receipt = sender.send(to=recipient, value=12_345)

    assert receipt["status"] == 1
    assert chain.eth.get_balance(recipient) == 12_345
    gas_paid = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.eth.get_balance(sender.address) == balance_before - 12_345 - gas_paid


@pytest.mark.parametrize("mined_before_repost", [True, False], ids=["mined", "pending"])
def test_a_send_the_node_already_took_is_not_sent_again(
    chain, sender, monkeypatch, mined_before_repost
):
    """The node takes the transaction but its answer is lost, and the post is repeated. The
    node now answers for our own transaction "nonce too low" (it was mined meanwhile) or
    "transaction already imported" (it still waits in the pool). Either way it must count as
    sent, not be signed again with the next nonce (which would pay twice)."""
    recipient = Account.create().address
    nonce_before = chain.eth.get_transaction_count(sender.address)
    send_raw = sender.w3.eth.send_raw_transaction
    posts = []

    def answer_lost_then_reposted(raw):
        posts.append(raw)
        if len(posts) == 1:
            send_raw(raw)  # the node takes it; the answer is lost and the post repeated
            if mined_before_repost:
                client.rpc("evm_mine", w3=chain)
        try:
            return send_raw(raw)
        finally:
            client.rpc("evm_mine", w3=chain)

    # Manual mining decides which of the two answers the repeated post gets.
    client.rpc("evm_setAutomine", [False], w3=chain)
    monkeypatch.setattr(sender.w3.eth, "send_raw_transaction", answer_lost_then_reposted)
    try:
        receipt = sender.send(to=recipient, value=1_000)
    finally:
        monkeypatch.undo()
        client.rpc("evm_setAutomine", [True], w3=chain)

    assert len(posts) == 1
    assert receipt["status"] == 1
    assert chain.eth.get_balance(recipient) == 1_000
    assert chain.eth.get_transaction_count(sender.address) == nonce_before + 1


def test_concurrent_sends_from_threads_get_distinct_nonces_and_all_mine(chain, dev_accounts):
    account = dev_accounts[2]
    # Two senders for one account, as two Celery tasks would have: they share the nonce.
    senders = [TransactionSender(account), TransactionSender(account)]
    recipient = Account.create().address
    first_nonce = chain.eth.get_transaction_count(account.address)

    with ThreadPoolExecutor(max_workers=6) as pool:
        receipts = list(
            pool.map(
                lambda index: senders[index % 2].send(to=recipient, value=index + 1), range(18)
            )
        )

    assert [receipt["status"] for receipt in receipts] == [1] * 18
    nonces = sorted(chain.eth.get_transaction(r["transactionHash"])["nonce"] for r in receipts)
    assert nonces == list(range(first_nonce, first_nonce + 18))
    assert chain.eth.get_balance(recipient) == sum(range(1, 19))


def test_nonce_is_read_again_after_another_program_used_the_account(chain, sender):
    sender.send(to=sender.address, value=0)
    stale = chain.eth.get_transaction_count(sender.address)
    # Another process (same key) takes the nonce this sender has cached.
    outside = sender.account.sign_transaction(
        {
            "to": sender.address,
            "value": 0,
            "gas": 21_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "nonce": stale,
            "chainId": 31337,
        }
    )
    chain.eth.send_raw_transaction(outside.raw_transaction)

    receipt = sender.send(to=sender.address, value=0)

    assert receipt["status"] == 1
    assert chain.eth.get_transaction(receipt["transactionHash"])["nonce"] == stale + 1


def test_contract_creation_returns_the_new_address(chain, sender):
    address = _deploy(sender, runtime=b"\x00")

    assert chain.eth.get_code(address) == b"\x00"


def test_revert_in_estimation_raises_the_decoded_custom_error_and_sends_nothing(chain, sender):
    contract = _always_reverting(sender, _nope(7))
    nonce_before = chain.eth.get_transaction_count(sender.address)
    block_before = chain.eth.block_number

    with pytest.raises(ChainRevert) as refused:
        sender.send(to=contract)

    assert (refused.value.name, refused.value.arguments) == ("Nope", {"code": 7})
    assert str(refused.value) == "The contract refused: Nope(code=7)."
    assert refused.value.tx_hash is None
    assert chain.eth.get_transaction_count(sender.address) == nonce_before
    assert chain.eth.block_number == block_before


def test_mined_failure_is_replayed_to_decode_its_revert(chain, sender):
    contract = _always_reverting(sender, _nope(42))
    nonce_before = chain.eth.get_transaction_count(sender.address)

    with pytest.raises(ChainRevert) as refused:
        # An explicit gas limit skips the estimate: the transaction is mined and fails.
        sender.send(to=contract, gas=60_000)

    assert (refused.value.name, refused.value.arguments) == ("Nope", {"code": 42})
    assert chain.eth.get_transaction_receipt(refused.value.tx_hash)["status"] == 0
    assert chain.eth.get_transaction_count(sender.address) == nonce_before + 1


def test_abis_given_per_send_decode_too(chain, dev_accounts):
    plain = TransactionSender(dev_accounts[3])
    contract = _always_reverting(plain, _nope(1))

    with pytest.raises(ChainRevert) as unknown:
        plain.send(to=contract)
    with pytest.raises(ChainRevert) as known:
        plain.send(to=contract, abis=[NOPE_ABI])

    assert unknown.value.name == "UnknownError"
    assert (known.value.name, known.value.arguments) == ("Nope", {"code": 1})


def test_error_string_revert_is_decoded_in_estimation_and_after_mining(chain, sender):
    reason = keccak(text="Error(string)")[:4] + encode(["string"], ["Escrow: stake too low"])
    contract = _always_reverting(sender, reason)

    with pytest.raises(ChainRevert) as estimated:
        sender.send(to=contract)
    with pytest.raises(ChainRevert) as mined:
        sender.send(to=contract, gas=60_000)

    for refused in (estimated.value, mined.value):
        assert (refused.name, refused.arguments) == ("Error", {"message": "Escrow: stake too low"})
        assert str(refused) == "Escrow: stake too low"


def test_out_of_gas_is_named_as_such(chain, sender):
    contract = _always_reverting(sender, _nope(1))

    with pytest.raises(ChainRevert) as refused:
        sender.send(to=contract, gas=21_005)

    assert (refused.value.name, refused.value.arguments) == ("OutOfGas", {"gas": 21_005})
    assert str(refused.value) == "The transaction ran out of gas (limit 21005)."


def test_node_refusal_is_a_chain_error_with_the_nodes_reason(chain):
    penniless = TransactionSender(Account.create())

    with pytest.raises(ChainError, match="Insufficient funds") as refused:
        penniless.send(to=penniless.address, value=1)

    assert not isinstance(refused.value, ChainRevert)


def test_unsigned_transaction_for_the_wallet_is_hex_with_a_gas_estimate(chain, dev_accounts):
    recipient = Account.create().address

    transaction = build_unsigned_transaction(
        sender=dev_accounts[4].address.lower(), to=recipient.lower(), data=b"", value=10**18
    )

    assert transaction == {
        "from": dev_accounts[4].address,
        "to": recipient,
        "data": "0x",
        "value": hex(10**18),
        "chainId": "0x7a69",
        # 21,000 for a plain transfer, plus the 20 % margin.
        "gas": hex(25_200),
    }


def test_unsigned_transaction_that_would_revert_raises_before_the_wallet_is_asked(
    chain, sender, dev_accounts
):
    contract = _always_reverting(sender, _nope(3))

    with pytest.raises(ChainRevert) as refused:
        build_unsigned_transaction(
            sender=dev_accounts[4].address, to=contract, data="0x", abis=[NOPE_ABI]
        )

    assert (refused.value.name, refused.value.arguments) == ("Nope", {"code": 3})


def test_call_returns_data_or_raises_the_decoded_revert(chain, sender):
    answer = encode(["uint256"], [2**200])
    returning = _deploy(sender, runtime=_copying_code(answer, last_opcode=0xF3))
    reverting = _always_reverting(sender, _nope(9))

    assert call(to=returning, data=b"") == answer
    with pytest.raises(ChainRevert) as refused:
        call(to=reverting, data=b"", abis=[NOPE_ABI])
    assert refused.value.arguments == {"code": 9}


def test_a_call_the_node_refuses_is_a_chain_error_naming_the_block(chain, sender):
    returning = _deploy(sender, runtime=_copying_code(b"", last_opcode=0xF3))
    future = chain.eth.block_number + 1_000

    with pytest.raises(ChainError, match=f"refused a call to 0x.* at block {future}: ") as info:
        call(to=returning, data=b"", block=future)
    assert not isinstance(info.value, ChainRevert)


def test_rpc_passes_anvil_methods_and_names_failures(chain):
    client.rpc("evm_increaseTime", [3600])
    with pytest.raises(ChainError, match="no_such_method failed: Method not found"):
        client.rpc("no_such_method")


def test_node_down_raises_chain_unavailable_saying_what_to_do(settings, dev_accounts):
    settings.WEB3_RPC_URL = _closed_port_url()
    message = (
        f"The blockchain node at {settings.WEB3_RPC_URL} is unavailable (cannot connect). "
        "For development, start the local chain with `make chain` (or `make run`); otherwise "
        "check WEB3_RPC_URL."
    )

    with pytest.raises(ChainUnavailable) as down:
        client.chain_id()
    assert str(down.value) == message
    with pytest.raises(ChainUnavailable, match="make chain"):
        TransactionSender(dev_accounts[0]).send(to=dev_accounts[1].address, value=1)
    with pytest.raises(ChainUnavailable, match="make chain"):
        build_unsigned_transaction(sender=dev_accounts[0].address, to=None, data=b"\x00")


def test_confirmations_are_awaited_as_long_as_blocks_keep_coming(dev_accounts):
    """Slow blocks: the whole wait is longer than the timeout, which only bounds a stall."""
    with running_anvil(block_time=0.25) as slow:
        w3 = client.web3(url=slow.url)
        sender = TransactionSender(dev_accounts[3], w3=w3, confirmations=4, receipt_timeout=0.8)
        started = time.monotonic()

        receipt = sender.send(to=Account.create().address, value=1)

        assert receipt["status"] == 1
        assert w3.eth.block_number >= receipt["blockNumber"] + 4
        assert time.monotonic() - started > 0.8


def test_a_chain_that_stops_making_blocks_fails_the_confirmation_wait(chain, dev_accounts):
    sender = TransactionSender(dev_accounts[3], confirmations=2, receipt_timeout=0.4)

    with pytest.raises(ChainError, match=r"0 of 2 confirmations, and no new block came for 0\.4 s"):
        sender.send(to=Account.create().address, value=1)


def test_a_transaction_never_mined_is_reported_and_its_nonce_read_again(chain, dev_accounts):
    sender = TransactionSender(dev_accounts[3], receipt_timeout=0.4)
    client.rpc("evm_setAutomine", [False], w3=chain)
    try:
        with pytest.raises(ChainError, match=r"was not mined within 0\.4 s"):
            sender.send(to=Account.create().address, value=1)
        client.rpc("anvil_dropAllTransactions", w3=chain)
    finally:
        client.rpc("evm_setAutomine", [True], w3=chain)

    receipt = sender.send(to=Account.create().address, value=1)  # the nonce was read again
    assert receipt["status"] == 1


_SEND_SCRIPT = """
import sys, django
django.setup()
from eth_account import Account
from marketplace.chain.client import TransactionSender
from marketplace.chain.keys import dev_account
sender = TransactionSender(dev_account(int(sys.argv[1])))
for _ in range(int(sys.argv[2])):
    print(sender.send(to=Account.create().address, value=1)["transactionHash"].to_0x_hex())
"""


@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="processes share an account's lock through Redis (CI always sets REDIS_URL)",
)
def test_processes_sharing_a_key_through_redis_never_collide_on_a_nonce(
    chain, anvil, settings, tmp_path
):
    """Four processes (as Celery workers would) send from one account at the same time."""
    account_index, per_process = 6, 8
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "SUPEREDGE_VAR_DIR": str(tmp_path),
        "WEB3_RPC_URL": anvil.url,
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],  # this test worker's database
    }
    first_nonce = chain.eth.get_transaction_count(DEV_ADDRESSES[account_index])
    processes = [
        subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-c", _SEND_SCRIPT, str(account_index), str(per_process)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0] * 4, outputs
    hashes = [line for stdout, _ in outputs for line in stdout.split()]
    assert len(hashes) == 4 * per_process
    nonces = sorted(chain.eth.get_transaction(h)["nonce"] for h in hashes)
    assert nonces == list(range(first_nonce, first_nonce + 4 * per_process))
