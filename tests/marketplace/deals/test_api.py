"""The deals and tasks API, on deals made on anvil and indexed."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination

from marketplace.chain.hub import result_hash
from marketplace.chain.orders import order_digest, sign_order
from tests.chain_scaffold import ECT, Market, Orders, new_digest
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


@dataclasses.dataclass(frozen=True)
class Block:
    number: int
    time: str  # ISO, as the API writes times
    timestamp: int
    tx_hash: str


def _latest(market: Market) -> Block:
    """The block the last transaction was mined in (anvil mines one per transaction)."""
    block = market.w3.eth.get_block("latest")
    return Block(
        number=block["number"],
        time=_iso(block["timestamp"]),
        timestamp=block["timestamp"],
        tx_hash="0x" + bytes(block["transactions"][-1]).hex(),
    )


def _iso(timestamp: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


def _amount(units: int) -> dict[str, str]:
    whole, fraction = divmod(units, ECT)
    return {"units": str(units), "ect": f"{whole}.{fraction:09d}"}


def _deal_url(dealid: bytes | str) -> str:
    return reverse("api_v1_deal_detail", args=[dealid if isinstance(dealid, str) else _hex(dealid)])


def _with_beneficiary(market: Market, orders: Orders, beneficiary: str) -> Orders:
    request = dataclasses.replace(orders.request, beneficiary=beneficiary)
    return dataclasses.replace(
        orders,
        request=request,
        request_sign=sign_order(request, market.domain, market.requester.key),
    )


def test_a_deal_reads_as_the_chain_made_it(client, market, hub_deployment):
    # Given a deal of 3 tasks with a dataset: task 0 completed by one worker, task 1 started
    orders = market.sign_orders(
        app_price=2 * ECT, dataset_price=ECT // 2, workerpool_price=ECT, volume=3
    )
    dealid = market.match(orders)
    matched = _latest(market)
    taskid = market.initialize(dealid, 0)
    initialized = _latest(market)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    contributed = _latest(market)  # one worker at trust 1: consensus at once
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    finalized = _latest(market)
    running_taskid = market.initialize(dealid, 1)
    started = _latest(market)
    index_to_head(hub_deployment)

    # When the API is asked for it
    answer = client.get(_deal_url(dealid))

    # Then it says what the chain says, amounts exact in units and in ECT
    assert answer.status_code == 200
    start, xs = matched.timestamp, 300
    assert answer.json() == {
        "block_number": finalized.number,
        "unconfirmed": False,
        "dealid": _hex(dealid),
        "tx_hash": matched.tx_hash,
        "app": market.app,
        "dataset": market.dataset,
        "workerpool": market.workerpool,
        "requester": market.requester.address,
        "beneficiary": market.requester.address,
        "payer": market.requester.address,
        "callback": None,
        "app_owner": market.app_owner.address,
        "dataset_owner": market.dataset_owner.address,
        "workerpool_owner": market.scheduler.address,
        "category": 0,
        "category_name": "XS",
        "trust": 1,
        "tag": "0x" + "0" * 64,
        "volume": 3,
        "app_price": _amount(2 * ECT),
        "dataset_price": _amount(ECT // 2),
        "workerpool_price": _amount(ECT),
        "task_price": {"units": "3500000000", "ect": "3.500000000"},
        "total_price": {"units": "10500000000", "ect": "10.500000000"},
        "worker_stake": _amount(ECT * 30 // 100),
        "scheduler_reward_ratio": 1,
        "start_time": matched.time,
        "time_ref": xs,
        "params": '{"args": "input.txt"}',
        "tasks_completed": 1,
        "tasks_failed": 0,
        "url": f"/deals/{_hex(dealid)}/",
        "app_order": _hex(order_digest(orders.app, market.domain)),
        "dataset_order": _hex(order_digest(orders.dataset, market.domain)),
        "workerpool_order": _hex(order_digest(orders.workerpool, market.domain)),
        "request_order": _hex(market.request_digest(orders)),
        "progress": {"volume": 3, "completed": 1, "failed": 0, "running": 1, "waiting": 1},
        "tasks": [
            {
                "block_number": finalized.number,
                "unconfirmed": False,
                "taskid": _hex(taskid),
                "dealid": _hex(dealid),
                "idx": 0,
                "workerpool": market.workerpool,
                "status": "completed",
                "initialized_at": initialized.time,
                "contribution_deadline": _iso(start + 7 * xs),
                "reveal_deadline": _iso(contributed.timestamp + 2 * xs),
                "final_deadline": _iso(start + 10 * xs),
                "consensus": _hex(result_hash(taskid, digest)),
                "result_digest": _hex(digest),
                "results": f"http://127.0.0.1/results/{taskid.hex()}",
                "contribution_count": 1,
                "reveals": 1,
                "finished_at": finalized.time,
                "given_up": False,
                "contributions": [
                    {
                        "block_number": contributed.number + 1,  # the reveal's block
                        "unconfirmed": False,
                        "worker": market.workers[0].address,
                        "status": "revealed",
                        "result_hash": _hex(result_hash(taskid, digest)),
                        "digest": _hex(digest),
                        "contributed_at": contributed.time,
                    }
                ],
            },
            {
                "block_number": started.number,
                "unconfirmed": False,
                "taskid": _hex(running_taskid),
                "dealid": _hex(dealid),
                "idx": 1,
                "workerpool": market.workerpool,
                "status": "active",
                "initialized_at": started.time,
                "contribution_deadline": _iso(start + 7 * xs),
                "reveal_deadline": None,
                "final_deadline": _iso(start + 10 * xs),
                "consensus": None,
                "result_digest": None,
                "results": None,
                "contribution_count": 0,
                "reveals": 0,
                "finished_at": None,
                "given_up": False,
                "contributions": [],
            },
        ],
    }


def test_a_task_reads_with_its_contributions_as_in_its_deal(client, market, hub_deployment):
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, trust=3)
    dealid = market.match(orders)
    taskid = market.initialize(dealid)
    digest = new_digest()
    for worker in market.workers[:2]:  # two new workers (weight 2 each) agree: consensus at 3
        market.contribute(worker, taskid, digest)
    index_to_head(hub_deployment)

    task = client.get(reverse("api_v1_task_detail", args=[_hex(taskid)])).json()

    assert task == client.get(_deal_url(dealid)).json()["tasks"][0]
    assert task["status"] == "revealing"
    assert [(c["worker"], c["status"], c["digest"]) for c in task["contributions"]] == [
        (market.workers[0].address, "contributed", None),
        (market.workers[1].address, "contributed", None),
    ]


def test_ids_are_found_in_any_letter_case(client, market, hub_deployment):
    dealid = market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))
    taskid = market.initialize(dealid)
    index_to_head(hub_deployment)

    deal = client.get(_deal_url("0x" + dealid.hex().upper()))
    task = client.get(reverse("api_v1_task_detail", args=["0x" + taskid.hex().upper()]))

    assert deal.status_code == 200 and deal.json()["dealid"] == _hex(dealid)
    assert task.status_code == 200 and task.json()["taskid"] == _hex(taskid)


@pytest.mark.parametrize("bad", ["0x1234", "f" * 64, "0x" + "g" * 64, "0x" + "a" * 65])
def test_a_malformed_id_is_refused_naming_it(client, bad):
    deal = client.get(_deal_url(bad))
    task = client.get(reverse("api_v1_task_detail", args=[bad]))

    assert deal.status_code == 400
    assert deal.json() == {
        "error": f"'{bad}' is not a deal id: expected 0x followed by 64 hexadecimal digits.",
        "field": "dealid",
    }
    assert task.status_code == 400
    assert task.json() == {
        "error": f"'{bad}' is not a task id: expected 0x followed by 64 hexadecimal digits.",
        "field": "taskid",
    }


def test_an_id_the_index_does_not_hold_is_not_found(client, market, hub_deployment):
    dealid = market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))
    unknown = "0x" + "ab" * 32

    answer = client.get(_deal_url(dealid))  # on chain, not indexed yet
    task = client.get(reverse("api_v1_task_detail", args=[unknown]))

    assert answer.status_code == 404
    assert answer.json() == {
        "error": f"No deal {_hex(dealid)} in the index: a deal just sent appears once its "
        "block is indexed (see /api/chain/status/)."
    }
    assert task.status_code == 404
    assert task.json() == {
        "error": f"No task {unknown} in the index: a task appears once the pool's scheduler "
        "initialized it and its block is indexed."
    }


def test_deals_are_listed_newest_first_a_page_at_a_time(
    client, market, hub_deployment, monkeypatch
):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    dealids = [
        _hex(market.match(market.sign_orders(app_price=n, dataset_price=None, workerpool_price=0)))
        for n in range(3)
    ]
    index_to_head(hub_deployment)

    first = client.get(reverse("api_v1_deal_list")).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 3 and first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/deals/?page=2"
    assert [deal["dealid"] for deal in first["results"] + second["results"]] == dealids[::-1]
    assert [deal["app_price"]["units"] for deal in first["results"]] == ["2", "1"]
    assert second["next"] is None
    assert client.get(reverse("api_v1_deal_list"), {"page": 3}).status_code == 404


def _dealids(client, **filters) -> list[str]:
    answer = client.get(reverse("api_v1_deal_list"), filters)
    assert answer.status_code == 200, answer.content
    return [deal["dealid"] for deal in answer.json()["results"]]


def test_deals_are_filtered_by_party(client, market, hub_deployment):
    # Given a deal with the dataset on pool A, one on pool B, and one on pool A for another
    # beneficiary
    pool_b = market.add_workerpool(owner=market.other_scheduler, description="Pool B")
    receiver = market.workers[3].address
    with_dataset = _hex(
        market.match(market.sign_orders(app_price=ECT, dataset_price=ECT, workerpool_price=ECT))
    )
    on_pool_b = _hex(
        market.match(
            market.sign_orders(
                app_price=ECT,
                dataset_price=None,
                workerpool_price=ECT,
                workerpool=pool_b,
                scheduler=market.other_scheduler,
            )
        )
    )
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT)
    for_receiver = _hex(market.match(_with_beneficiary(market, orders, receiver)))
    index_to_head(hub_deployment)
    everything = [for_receiver, on_pool_b, with_dataset]

    assert _dealids(client) == everything
    assert _dealids(client, requester=market.requester.address) == everything
    assert _dealids(client, requester=market.requester.address.lower()) == everything
    assert _dealids(client, beneficiary=receiver) == [for_receiver]
    assert _dealids(client, app=market.app) == everything
    assert _dealids(client, dataset=market.dataset) == [with_dataset]
    assert _dealids(client, workerpool=pool_b) == [on_pool_b]
    assert _dealids(client, workerpool=market.workerpool, beneficiary=receiver) == [for_receiver]
    # any party: a pool's owner, a dataset's owner, a beneficiary, an asset
    assert _dealids(client, address=market.other_scheduler.address) == [on_pool_b]
    assert _dealids(client, address=market.dataset_owner.address) == [with_dataset]
    assert _dealids(client, address=receiver) == [for_receiver]
    assert _dealids(client, address=market.dataset) == [with_dataset]
    assert _dealids(client, address=market.requester.address) == everything
    assert _dealids(client, address=market.workers[0].address) == []


def test_a_filter_that_is_not_an_address_is_refused_naming_it(client):
    answer = client.get(reverse("api_v1_deal_list"), {"workerpool": "pool-a"})

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "workerpool must be an address, 0x followed by 40 hexadecimal digits, "
        "not 'pool-a'.",
        "field": "workerpool",
    }


def test_rows_of_blocks_a_reorg_could_take_back_are_unconfirmed(client, market, hub_deployment):
    dealid = market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))
    market.initialize(dealid)
    index_to_head(hub_deployment, confirmations=1000)

    listed = client.get(reverse("api_v1_deal_list")).json()["results"][0]
    deal = client.get(_deal_url(dealid)).json()

    assert listed["unconfirmed"] is True
    assert deal["unconfirmed"] is True and deal["tasks"][0]["unconfirmed"] is True


def test_queries_do_not_grow_with_deals_tasks_or_contributions(
    client, market, hub_deployment, django_assert_max_num_queries
):
    # Given 3 deals, the last of 3 tasks each with 2 contributions
    for _ in range(2):
        market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))
    orders = market.sign_orders(
        app_price=ECT, dataset_price=ECT, workerpool_price=ECT, volume=3, trust=3
    )
    dealid = market.match(orders)
    taskids = [market.initialize(dealid, idx) for idx in range(3)]
    for taskid in taskids:
        digest = new_digest()
        for worker in market.workers[:2]:
            market.contribute(worker, taskid, digest)
    index_to_head(hub_deployment)

    # Then: the index's freshness (middleware and view), the count and the page
    with django_assert_max_num_queries(4):
        listed = client.get(reverse("api_v1_deal_list")).json()
    # the freshness twice, the deal, its tasks, their contributions
    with django_assert_max_num_queries(5):
        deal = client.get(_deal_url(dealid)).json()
    with django_assert_max_num_queries(4):
        client.get(reverse("api_v1_task_detail", args=[_hex(taskids[0])]))

    assert listed["count"] == 3
    assert [len(task["contributions"]) for task in deal["tasks"]] == [2, 2, 2]
