"""The scheduler's rounds on anvil: a task finalized once its winner revealed, reopened when
nobody revealed in time, claimed (the buyer refunded) when its final deadline passed."""

from __future__ import annotations

import pytest

from marketplace.chain import client
from marketplace.chain.hub import TaskStatus
from pools import lifecycle, scheduler
from pools.models import RunStatus, TaskRun
from tests.marketplace.chain.hub_helpers import ECT, new_digest
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit

pytestmark = pytest.mark.django_db


@pytest.fixture
def started(chain, hub_deployment, dev_accounts, opened_market):
    """A one-task deal (trust 1) of an operated pool, started by a round, assigned to a
    worker: (market, run, replicate)."""
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    market.match(market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT))
    index_to_head(hub_deployment)
    first = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    assert (first.created, first.started) == (1, 1)
    index_to_head(hub_deployment)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    return market, TaskRun.objects.get(), replicate


def _contribute(market, replicate) -> bytes:
    digest = new_digest()
    market.hub.commit(
        sender=market.sender(market.workers[0]),
        taskid=replicate.task.taskid,
        digest=digest,
        authorization=bytes.fromhex(replicate.authorization[2:]),
    )
    return digest


def _later(market, seconds: int) -> None:
    client.rpc("evm_increaseTime", [seconds], w3=market.w3)
    client.rpc("evm_mine", w3=market.w3)


def test_a_revealed_task_is_finalized_and_the_owners_paid(started, hub_deployment):
    market, run, replicate = started
    digest = _contribute(market, replicate)
    index_to_head(hub_deployment)
    assert str(lifecycle.scheduler_round(chain_id=31337, hub=market.hub)) == "nothing to do"
    market.hub.reveal(sender=market.sender(market.workers[0]), taskid=run.taskid, digest=digest)
    index_to_head(hub_deployment)
    app_owner_before = market.hub.account(market.app_owner.address).stake

    done = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    assert done.finalized == 1
    assert market.hub.task(run.taskid).status == TaskStatus.COMPLETED
    assert market.hub.account(market.app_owner.address).stake == app_owner_before + ECT
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    run.refresh_from_db()
    assert (run.status, run.result_digest) == (RunStatus.COMPLETED, "0x" + digest.hex())
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).finalized == 0  # once


def test_nobody_revealed_in_time_so_the_task_is_reopened(started, hub_deployment):
    market, run, replicate = started
    _contribute(market, replicate)
    index_to_head(hub_deployment)
    _later(market, 2 * 300 + 1)  # the reveal deadline: 2 x the category's reference time
    index_to_head(hub_deployment)
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).reopened == 1
    assert market.hub.task(run.taskid).status == TaskStatus.ACTIVE


def test_a_task_past_its_final_deadline_is_claimed_and_the_buyer_refunded(started, hub_deployment):
    market, run, _ = started
    locked = market.hub.account(market.requester.address).locked
    _later(market, 10 * 300 + 1)  # the final deadline: 10 x the reference time
    index_to_head(hub_deployment)
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).claimed == 1
    assert market.hub.task(run.taskid).status == TaskStatus.FAILED
    assert market.hub.account(market.requester.address).locked == locked - 2 * ECT
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def _record(hub_deployment) -> None:
    import dataclasses

    from marketplace.chain.models import Deployment

    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)


def test_the_command_runs_rounds(chain, hub_deployment, dev_accounts, capsys, opened_market):
    from django.core.management import call_command

    _record(hub_deployment)
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    market.match(market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT))
    index_to_head(hub_deployment)
    call_command("run_scheduler", "--once")
    assert "round: 1 created, 1 started" in capsys.readouterr().out
    assert TaskRun.objects.get().status == RunStatus.ACTIVE


def test_the_beat_task_runs_one_round_at_a_time(chain, hub_deployment, dev_accounts, opened_market):
    from django.core.cache import cache

    from pools.tasks import schedule_pools

    _record(hub_deployment)
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    market.match(market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT))
    index_to_head(hub_deployment)
    cache.add("pools:scheduler-round:31337", 1, timeout=60)  # another round is running
    schedule_pools()
    assert not TaskRun.objects.exists()
    cache.delete("pools:scheduler-round:31337")
    schedule_pools()
    assert TaskRun.objects.get().status == RunStatus.ACTIVE
