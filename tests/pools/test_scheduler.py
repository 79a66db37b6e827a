"""The scheduler of operated pools, on anvil: tasks started from indexed deals, replicates
handed to distinct workers with an authorization the Hub takes, leases that expire."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from marketplace.chain.hub import TaskStatus
from pools import scheduler
from pools.models import Replicate, ReplicateStatus, RunStatus, TaskRun
from tests.marketplace.chain.hub_helpers import ECT, Market, new_digest
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


def test_trusted_workers_need_fewer_replicates():
    assert scheduler.replicates_for(1) == 1
    assert scheduler.replicates_for(5) == 3  # new workers weigh 2: 2 x 2 x 2 >= 5
    assert scheduler.replicates_for(5, scores=[30]) == 1  # weight 9 alone
    assert scheduler.replicates_for(18, scores=[30, 9]) == 2  # 9 x 2
    assert scheduler.replicates_for(19, scores=[30, 9]) == 3  # and a new worker
    assert scheduler.replicates_for(2**40) == scheduler.MAX_REPLICATES


@pytest.fixture
def market(chain, hub_deployment, dev_accounts) -> Market:
    return Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)


def _deal(market, hub_deployment, *, trust: int, volume: int = 2) -> str:
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=ECT, volume=volume, trust=trust
    )
    dealid = "0x" + market.match(orders).hex()
    index_to_head(hub_deployment)
    return dealid


def test_an_indexed_deal_of_an_operated_pool_is_started_on_chain(market, hub_deployment):
    dealid = _deal(market, hub_deployment, trust=1)
    assert scheduler.runs_create(chain_id=31337) == 2
    assert scheduler.runs_create(chain_id=31337) == 0  # once
    runs = list(TaskRun.objects.filter(dealid=dealid))
    assert [(run.idx, run.status) for run in runs] == [(0, "pending"), (1, "pending")]

    assert scheduler.runs_initialize(chain_id=31337, hub=market.hub) == 2
    for run in runs:
        assert market.hub.task(run.taskid).status == TaskStatus.ACTIVE
    assert set(TaskRun.objects.values_list("status", flat=True)) == {RunStatus.ACTIVE}


def test_replicates_go_to_distinct_workers_as_many_as_the_trust_needs(market, hub_deployment):
    _deal(market, hub_deployment, trust=5, volume=1)
    scheduler.runs_create(chain_id=31337)
    scheduler.runs_initialize(chain_id=31337, hub=market.hub)
    index_to_head(hub_deployment)
    (run,) = TaskRun.objects.all()
    assert run.replicates_wanted == 3

    workers = market.workers
    given = [
        scheduler.replicate_assign(chain_id=31337, worker=w.address, pool=market.workerpool)
        for w in workers[:3]
    ]
    assert {r.worker for r in given} == {w.address for w in workers[:3]}
    with pytest.raises(scheduler.NoWork, match="needs a worker"):
        scheduler.replicate_assign(
            chain_id=31337, worker=workers[3].address, pool=market.workerpool
        )
    with pytest.raises(scheduler.NoWork):  # never twice to the same worker
        scheduler.replicate_assign(
            chain_id=31337, worker=workers[0].address, pool=market.workerpool
        )

    # The authorization is the scheduler's: the Hub takes the worker's contribution.
    market.hub.commit(
        sender=market.sender(workers[0]),
        taskid=run.taskid,
        digest=new_digest(),
        authorization=bytes.fromhex(given[0].authorization[2:]),
    )

    # A silent worker's replicate expires, and its place goes to another worker.
    later = timezone.now() + datetime.timedelta(seconds=scheduler._lease_seconds() + 1)
    scheduler.replicate_heartbeat(replicate=given[1], percent=40, message="rendering")
    Replicate.objects.filter(pk=given[1].pk).update(lease_until=later + datetime.timedelta(60))
    assert scheduler.replicates_expire(now=later) == 2  # given[0] and given[2]
    taken = scheduler.replicate_assign(
        chain_id=31337, worker=workers[3].address, pool=market.workerpool
    )
    assert taken.task == run
    given[1].refresh_from_db()
    assert (given[1].status, given[1].percent, given[1].message) == (
        ReplicateStatus.RUNNING,
        40,
        "rendering",
    )


def test_a_pool_the_site_does_not_operate_gets_no_work(market, hub_deployment, monkeypatch):
    monkeypatch.setenv("POOL_OWNER_KEYS", market.other_scheduler.key.hex())
    _deal(market, hub_deployment, trust=1)
    assert scheduler.runs_create(chain_id=31337) == 0
    with pytest.raises(scheduler.NoWork, match="not scheduled by this site"):
        scheduler.replicate_assign(
            chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
        )


def test_tasks_started_elsewhere_run_and_those_the_hub_refuses_are_given_up(market, hub_deployment):
    _deal(market, hub_deployment, trust=1, volume=2)
    scheduler.runs_create(chain_id=31337)
    # Task 0 started by someone else, behind the index's back: the batch is refused, each
    # task is tried alone, and task 0 runs all the same.
    first = TaskRun.objects.get(idx=0)
    market.initialize(bytes.fromhex(first.dealid[2:]), 0)
    assert scheduler.runs_initialize(chain_id=31337, hub=market.hub) == 2
    assert set(TaskRun.objects.values_list("status", flat=True)) == {RunStatus.ACTIVE}

    # A task the Hub refuses to start (here an index beyond the deal's volume) is given up,
    # with the Hub's reason.
    TaskRun.objects.create(
        chain_id=31337,
        taskid="0x" + "ab" * 32,
        dealid=first.dealid,
        idx=7,
        workerpool=first.workerpool,
        trust=1,
    )
    assert scheduler.runs_initialize(chain_id=31337, hub=market.hub) == 0
    refused = TaskRun.objects.get(idx=7)
    assert refused.status == RunStatus.FAILED
    assert refused.failure.startswith("Could not start the task:")
