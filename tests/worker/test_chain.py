"""The agent's side of the chain (worker.chain) on anvil: its views read what the site's Hub
reads, its reverts are decoded by name, a node that does not answer is said so, and its part
of the Hub's ABI is the compiled one.

    python -m tests.worker.test_chain   # writes worker/hub_abi.json again from build.json
"""

from __future__ import annotations

import json
import socket

import pytest
from eth_utils import keccak

from marketplace.chain import artifacts
from marketplace.chain import signing as site_signing
from marketplace.chain.hub_errors import HUB_ABI_CONTRACTS
from tests.chain_scaffold import ECT, WORKER_DEPOSIT, Market, new_digest
from worker import chain
from worker.chain import (
    HUB_ABI_PATH,
    HUB_FUNCTIONS,
    ChainRevert,
    ChainUnavailable,
    ContributionStatus,
    Hub,
    Node,
    Task,
    TaskStatus,
    TransactionSender,
    result_hash,
    result_seal,
)


def expected_hub_abi() -> dict[str, list[dict]]:
    """The worker's part of the compiled ABI: its functions as the Hub declares them, and every
    error of the contracts the site decodes reverts with, once per selector."""
    functions = [
        entry
        for entry in artifacts.abi("Hub")
        if entry["type"] == "function" and entry["name"] in HUB_FUNCTIONS
    ]
    errors, selectors = [], set()
    for name in HUB_ABI_CONTRACTS:
        for entry in artifacts.abi(name):
            if entry["type"] != "error":
                continue
            types = ",".join(chain.abi_type(item) for item in entry["inputs"])
            selector = keccak(text=f"{entry['name']}({types})")[:4]
            if selector not in selectors:
                selectors.add(selector)
                errors.append(entry)
    return {"functions": functions, "errors": errors}


def _write() -> None:
    HUB_ABI_PATH.write_text(json.dumps(expected_hub_abi(), indent=1) + "\n", encoding="utf-8")


def test_the_workers_abi_is_the_compiled_hubs() -> None:
    assert chain.hub_abi() == expected_hub_abi(), (
        "worker/hub_abi.json is not what the contracts compile to: write it again with "
        "`.venv/bin/python -m tests.worker.test_chain`."
    )
    assert sorted(entry["name"] for entry in chain.hub_abi()["functions"]) == sorted(HUB_FUNCTIONS)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("0x08c379a0", bytes.fromhex("08c379a0")),
        ("Reverted 0x08c379a0", bytes.fromhex("08c379a0")),
        ({"data": "0x1234"}, bytes.fromhex("1234")),
        ({"result": "0x1234"}, bytes.fromhex("1234")),
        ("0x", b""),
        ("0xnot-hex", None),
        ("execution reverted", None),
        (None, None),
    ],
)
def test_revert_data_is_read_however_the_node_puts_it(data, expected) -> None:
    assert chain.revert_bytes(data) == expected


def test_the_worker_names_a_panic_and_says_which_errors_it_cannot_decode() -> None:
    panic = chain.decode_revert(chain.PANIC_SELECTOR + (0x11).to_bytes(32, "big"))
    unknown = chain.decode_revert(bytes.fromhex("deadbeef") + bytes(32))

    assert (panic.name, panic.arguments) == ("Panic", {"code": 0x11})
    assert str(panic) == (
        "The contract failed an internal check: arithmetic overflow or underflow (panic 0x11)."
    )
    assert (unknown.name, str(unknown)) == (
        "UnknownError",
        "The contract refused with an error the worker cannot decode "
        "(selector 0xdeadbeef, 32 bytes of arguments).",
    )


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _worker_side(market: Market, anvil, account) -> tuple[Hub, TransactionSender]:
    node = Node(anvil.url)
    return Hub(address=market.hub.address, node=node), TransactionSender(
        account, node=node, confirmations=0
    )


def test_a_worker_contributes_and_reveals_and_reads_the_task_as_the_site_does(market, anvil):
    dealid = market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, trust=1)
    )
    taskid = market.initialize(dealid)
    worker, digest = market.workers[0], new_digest()
    hub, sender = _worker_side(market, anvil, worker)
    assert hub.task(taskid) == Task(status=TaskStatus.ACTIVE, consensus_value=bytes(32))

    authorization = site_signing.scheduler_authorization(
        worker=worker.address, taskid=taskid, scheduler_key=market.scheduler
    )
    hub.commit(
        sender=sender, taskid="0x" + taskid.hex(), digest=digest, authorization=authorization
    )

    on_chain = market.hub.task(taskid)
    assert (on_chain.status, on_chain.consensus_value) == (
        TaskStatus.REVEALING,  # trust 1: one contribution is a consensus
        result_hash(taskid, digest),
    )
    assert hub.task(taskid) == Task(
        status=on_chain.status, consensus_value=on_chain.consensus_value
    )
    contribution = market.hub.contribution(taskid, worker.address)
    assert (contribution.result_hash, contribution.result_seal) == (
        result_hash(taskid, digest),
        result_seal(worker.address, taskid, digest),
    )
    assert hub.contribution_status(taskid, worker.address) == ContributionStatus.CONTRIBUTED

    hub.reveal(sender=sender, taskid=taskid, digest=digest)

    assert market.hub.contribution(taskid, worker.address).status == ContributionStatus.PROVED
    assert hub.contribution_status(taskid, worker.address) == ContributionStatus.PROVED
    assert market.hub.task(taskid).result_digest == digest


def test_a_worker_locks_a_bond_and_reads_it_as_the_site_does(market, anvil):
    worker = market.workers[0]
    hub, sender = _worker_side(market, anvil, worker)

    hub.lock_bond(sender=sender, workerpool=market.workerpool, amount=5 * ECT)

    assert hub.bond(workerpool=market.workerpool, worker=worker.address) == 5 * ECT
    assert market.hub.bond(workerpool=market.workerpool, worker=worker.address).amount == 5 * ECT
    assert market.hub.account(worker.address).stake == WORKER_DEPOSIT - 5 * ECT


def test_the_hubs_refusals_are_decoded_and_nothing_is_sent(market, anvil):
    worker = market.workers[0]
    hub, sender = _worker_side(market, anvil, worker)
    sent_before = market.hub.w3.eth.get_transaction_count(worker.address)

    with pytest.raises(ChainRevert) as zero:
        hub.lock_bond(sender=sender, workerpool=market.workerpool, amount=0)
    with pytest.raises(ChainRevert) as too_much:
        hub.lock_bond(sender=sender, workerpool=market.workerpool, amount=WORKER_DEPOSIT + 1)
    with pytest.raises(ChainRevert) as unknown_task:
        hub.commit(sender=sender, taskid=new_digest(), digest=new_digest(), authorization=b"")

    assert (zero.value.name, zero.value.arguments) == ("ZeroBond", {})
    assert str(zero.value) == "The contract refused: ZeroBond()."
    assert too_much.value.name == "InsufficientStake"
    assert too_much.value.arguments == {
        "account": worker.address,
        "stake": WORKER_DEPOSIT,
        "needed": WORKER_DEPOSIT + 1,
    }
    assert str(too_much.value) == (
        f"The contract refused: InsufficientStake(account={worker.address[:6]}…"
        f"{worker.address[-4:]}, stake={WORKER_DEPOSIT}, needed={WORKER_DEPOSIT + 1})."
    )
    assert unknown_task.value.name == "WrongTaskStatus"
    assert market.hub.w3.eth.get_transaction_count(worker.address) == sent_before


def test_a_node_that_does_not_answer_is_said_so_without_its_url_path() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there

    with pytest.raises(ChainUnavailable) as unavailable:
        Node(f"http://127.0.0.1:{port}/secret-api-key", timeout=2).request("eth_chainId")

    assert str(unavailable.value).startswith(
        f"The blockchain node at http://127.0.0.1:{port}/… is unavailable (cannot connect)."
    )
    assert "secret-api-key" not in str(unavailable.value)


if __name__ == "__main__":
    _write()
