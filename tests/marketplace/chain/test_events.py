"""Decoding our contracts' logs with eth-abi, against web3.py's own decoding of real logs."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from web3._utils.events import get_event_data

from marketplace.chain import artifacts
from marketplace.chain.events import EventCatalogue, MalformedLog
from marketplace.indexer.engine import CONTRACTS_BY_SOURCE
from tests.chain_scaffold import ECT, Market


@pytest.fixture
def catalogue() -> EventCatalogue:
    return EventCatalogue.for_contracts(CONTRACTS_BY_SOURCE)


def _normalized(value):
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, Mapping):
        return {key: _normalized(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_normalized(item) for item in value]
    return value


def test_every_hub_event_of_a_task_decodes_as_web3_decodes_it(
    chain, hub_deployment, dev_accounts, catalogue
):
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    market.earn_scores(market.workers[:2], tasks=1)
    where = {"fromBlock": "0x0", "toBlock": "latest", "address": hub_deployment.hub}
    raw = chain.provider.make_request("eth_getLogs", [where])["result"]
    formatted = chain.eth.get_logs(where)
    events = {item["name"]: item for item in artifacts.abi("Hub") if item.get("type") == "event"}
    seen = set()
    for log, web3_log in zip(raw, formatted, strict=True):
        event = catalogue.decode(log, source="hub")
        assert not event.problem, event.problem
        expected = get_event_data(chain.codec, events[event.name], web3_log)
        assert event.args == _normalized(dict(expected["args"]))
        assert event.block_number == int(log["blockNumber"], 16)
        assert event.block_time == int(log["blockTimestamp"], 16)
        seen.add(event.name)
    assert {"DealCreated", "OrdersMatched", "TaskFinalize", "WorkerScore", "Deposit"} <= seen


def _log(**changes):
    log = {
        "address": "0x" + "ab" * 20,
        "topics": [
            # Deposit(address indexed from, address indexed account, uint256 amount)
            "0x5548c837ab068cf56a2c2479df0882a4922fd203edb7517321831d95078c5f62",
            "0x" + "00" * 12 + "11" * 20,
            "0x" + "00" * 12 + "22" * 20,
        ],
        "data": "0x" + f"{5 * ECT:064x}",
        "blockNumber": "0x10",
        "blockHash": "0x" + "cd" * 32,
        "transactionHash": "0x" + "ef" * 32,
        "logIndex": "0x3",
    }
    return {**log, **changes}


def test_a_static_event_is_sliced_out_of_its_words(catalogue):
    event = catalogue.decode(_log(), source="hub")
    assert event.name == "Deposit"
    assert event.args == {
        "from": "0x1111111111111111111111111111111111111111",
        "account": "0x2222222222222222222222222222222222222222",
        "amount": 5 * ECT,
    }
    assert (event.block_number, event.log_index, event.block_time) == (16, 3, None)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"data": "0x" + "00" * 31}, "31 bytes of data, 32 expected"),
        ({"topics": _log()["topics"][:2]}, "1 indexed topics, 2 expected"),
        (
            {"topics": [_log()["topics"][0], "0x" + "ff" * 32, _log()["topics"][2]]},
            "non-zero high bytes",
        ),
        ({"topics": ["0x" + "99" * 32]}, "unknown event"),
        ({"topics": []}, "unknown event"),
    ],
)
def test_a_log_that_does_not_decode_says_why_instead_of_raising(catalogue, changes, problem):
    event = catalogue.decode(_log(**changes), source="hub")
    assert problem in event.problem
    assert event.args == {}


def test_a_dynamic_event_with_bad_data_says_why(catalogue):
    topic = next(
        spec.topic
        for spec in catalogue.specs_by_source["hub"].values()
        if spec.name == "CreateCategory"
    )
    event = catalogue.decode(_log(topics=[topic], data="0x" + "00" * 40), source="hub")
    assert event.name == "CreateCategory"
    assert "does not decode as CreateCategory(uint256,string,string,uint256)" in event.problem


def test_a_log_without_its_position_is_malformed(catalogue):
    log = _log()
    del log["blockHash"]
    with pytest.raises(MalformedLog):
        catalogue.decode(log, source="hub")
