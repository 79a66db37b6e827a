"""The scheduler of operated pools, on anvil: tasks started from indexed deals, replicates
handed to distinct workers with an authorization the Hub takes, leases that expire."""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest
from django.utils import timezone

from marketplace.chain.hub import TaskStatus
from pools import scheduler
from pools.models import MemberStatus, PoolMember, Replicate, ReplicateStatus, RunStatus, TaskRun
from tests.chain_scaffold import ECT, Market, new_digest
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit
from tests.worker import archives

pytestmark = pytest.mark.django_db


def test_trusted_workers_need_fewer_replicates():
    assert scheduler.replicates_for(1) == 1
    assert scheduler.replicates_for(5) == 3  # new workers weigh 2: 2 x 2 x 2 >= 5
    assert scheduler.replicates_for(5, scores=[30]) == 1  # weight 9 alone
    assert scheduler.replicates_for(18, scores=[30, 9]) == 2  # 9 x 2
    assert scheduler.replicates_for(19, scores=[30, 9]) == 3  # and a new worker
    assert scheduler.replicates_for(2**40) == scheduler.MAX_REPLICATES


def test_consensus_is_within_reach_when_the_workers_left_could_still_outweigh_the_rest():
    # Two new workers agree (2 x 2 = 4): trust 4 is theirs, trust 5 needs a third.
    assert scheduler.consensus_within_reach(4, [], [2, 2])
    assert not scheduler.consensus_within_reach(5, [], [2, 2])
    assert not scheduler.consensus_within_reach(5, [[2, 2]], [])
    assert scheduler.consensus_within_reach(5, [[2, 2]], [2])
    # Two disagreeing results at trust 3: one more worker joining either group is not enough
    # (4 x 3 <= (1 + 4 + 2) x 2), two more are (8 x 3 > 11 x 2).
    assert not scheduler.consensus_within_reach(3, [[2], [2]], [2])
    assert scheduler.consensus_within_reach(3, [[2], [2]], [2, 2])
    # Nobody left: an active task stays as it is.
    assert not scheduler.consensus_within_reach(1, [], [])
    # The Hub takes no more than MAX_REPLICATES contributions.
    assert not scheduler.consensus_within_reach(2**40, [], [2] * 40)
    assert scheduler.highest_trust([]) == 0
    assert scheduler.highest_trust([0, 0]) == 4
    assert scheduler.highest_trust([30, 0]) == 18


@pytest.fixture
def market(chain, opened_market) -> Market:
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    return market


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
    later = timezone.now() + datetime.timedelta(seconds=scheduler.lease_seconds() + 1)
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


def _started_run(market, hub_deployment, *, trust: int) -> TaskRun:
    _deal(market, hub_deployment, trust=trust, volume=1)
    scheduler.runs_create(chain_id=31337)
    scheduler.runs_initialize(chain_id=31337, hub=market.hub)
    index_to_head(hub_deployment)
    return TaskRun.objects.get()


def _contribute(market, run: TaskRun, worker, digest: bytes) -> Replicate:
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=worker.address, pool=market.workerpool
    )
    market.hub.commit(
        sender=market.sender(worker),
        taskid=run.taskid,
        digest=digest,
        authorization=bytes.fromhex(replicate.authorization[2:]),
    )
    Replicate.objects.filter(pk=replicate.pk).update(
        status=ReplicateStatus.CONTRIBUTED, digest="0x" + digest.hex()
    )
    return replicate


def test_disagreeing_workers_get_one_more_replicate_once_the_index_has_them(market, hub_deployment):
    run = _started_run(market, hub_deployment, trust=3)
    assert run.replicates_wanted == 2
    first, second, third = market.workers[:3]
    _contribute(market, run, first, new_digest())
    _contribute(market, run, second, new_digest())  # another result: no consensus
    assert scheduler.runs_widen(chain_id=31337) == 0  # the index does not have them yet
    index_to_head(hub_deployment)
    assert scheduler.runs_widen(chain_id=31337) == 1
    assert scheduler.runs_widen(chain_id=31337) == 0  # once: the new place is not taken yet
    run.refresh_from_db()
    assert run.replicates_wanted == 3
    taken = scheduler.replicate_assign(chain_id=31337, worker=third.address, pool=market.workerpool)
    assert taken.task == run
    # Replicates of a task nobody disagrees on are not widened: consensus ends the task's run.
    TaskRun.objects.filter(pk=run.pk).update(replicates_wanted=scheduler.MAX_REPLICATES)
    assert scheduler.runs_widen(chain_id=31337) == 0


def test_a_task_is_given_up_after_its_app_failed_on_two_workers_not_after_worker_trouble(
    market, hub_deployment, settings
):
    settings.POOL_GIVE_UP_AFTER_FAILURES = 2
    run = _started_run(market, hub_deployment, trust=1)
    TaskRun.objects.filter(pk=run.pk).update(replicates_wanted=2)  # two may run at once
    workers = market.workers

    def fail(worker, reason: str, *, app_fault: bool) -> None:
        from pools.work import replicate_fail

        replicate = scheduler.replicate_assign(
            chain_id=31337, worker=worker.address, pool=market.workerpool
        )
        replicate_fail(replicate=replicate, reason=reason, app_fault=app_fault)

    fail(workers[0], "Could not download the app: HTTP 502.", app_fault=False)
    fail(workers[1], "The app did not finish: out of fuel.", app_fault=True)
    assert scheduler.runs_abandon(chain_id=31337) == 0  # one app failure, one worker's trouble
    live = scheduler.replicate_assign(
        chain_id=31337, worker=workers[2].address, pool=market.workerpool
    )
    Replicate.objects.filter(pk=live.pk).update(status=ReplicateStatus.RUNNING)
    fail(workers[3], "The app did not finish: out of fuel.", app_fault=True)
    assert scheduler.runs_abandon(chain_id=31337) == 0  # a replicate still runs
    Replicate.objects.filter(pk=live.pk).update(status=ReplicateStatus.EXPIRED)
    assert scheduler.runs_abandon(chain_id=31337) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.ABANDONED
    assert run.failure == (
        "Given up: the app failed the same way (out of fuel) on 2 workers; the last said: "
        "The app did not finish: out of fuel."
    )
    admit(market.workerpool, [market.accounts[9]])
    with pytest.raises(scheduler.NoWork):  # handed out no more
        scheduler.replicate_assign(
            chain_id=31337, worker=market.accounts[9].address, pool=market.workerpool
        )


def test_agreeing_workers_short_of_the_trust_wait_for_a_member_left_then_are_given_up(
    market, hub_deployment
):
    # Trust 5: two agreeing new workers weigh 2 x 2 = 4, a third is needed.
    run = _started_run(market, hub_deployment, trust=5)
    first, second, third, fourth = market.workers
    PoolMember.objects.filter(worker=fourth.address).update(status=MemberStatus.REMOVED)
    digest = new_digest()
    _contribute(market, run, first, digest)
    busy = scheduler.replicate_assign(chain_id=31337, worker=second.address, pool=market.workerpool)
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0  # a replicate in progress
    market.hub.commit(
        sender=market.sender(second),
        taskid=run.taskid,
        digest=digest,
        authorization=bytes.fromhex(busy.authorization[2:]),
    )
    Replicate.objects.filter(pk=busy.pk).update(
        status=ReplicateStatus.CONTRIBUTED, digest="0x" + digest.hex()
    )
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0  # not indexed yet
    index_to_head(hub_deployment)
    # The third member has not run it: offline or busy now, it may come back in time.
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0
    run.refresh_from_db()
    assert run.status == RunStatus.ACTIVE

    PoolMember.objects.filter(worker=third.address).update(status=MemberStatus.REMOVED)
    assert scheduler.runs_out_of_reach(chain_id=31337) == 1
    run.refresh_from_db()
    assert (run.status, run.failure) == (
        RunStatus.ABANDONED,
        "Given up: trust 5 needs the agreement of 3 workers, and this pool has 2 members in "
        "good standing to run it. The payer is refunded.",
    )
    assert run.stopped_at is not None
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0  # once


def test_disagreeing_workers_nobody_left_can_outweigh_are_given_up(market, hub_deployment):
    run = _started_run(market, hub_deployment, trust=3)
    first, second, third, fourth = market.workers
    _contribute(market, run, first, new_digest())
    _contribute(market, run, second, new_digest())
    index_to_head(hub_deployment)
    # Two members left: both joining one result outweigh the other (8 x 3 > 11 x 2).
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0
    # One left: it cannot (4 x 3 <= 7 x 2).
    PoolMember.objects.filter(worker=fourth.address).update(status=MemberStatus.REMOVED)
    assert scheduler.runs_out_of_reach(chain_id=31337) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.ABANDONED
    assert run.failure == (
        "Given up: the 2 workers that ran it returned 2 different results, and the 1 other "
        "member of the pool in good standing cannot outweigh that disagreement at trust 3. "
        "The payer is refunded."
    )
    assert third.address not in set(run.replicates.values_list("worker", flat=True))


def test_a_replicate_handed_out_while_the_scheduler_judges_the_task_keeps_it_alive(
    market, hub_deployment, monkeypatch
):
    # Two disagreeing contributions at trust 3 and one member left, who takes a replicate
    # after the scheduler read which tasks had none in progress, before it read their
    # replicates: that member may yet contribute, so the task is judged again next round.
    run = _started_run(market, hub_deployment, trust=3)
    first, second, third, fourth = market.workers
    _contribute(market, run, first, new_digest())
    _contribute(market, run, second, new_digest())
    index_to_head(hub_deployment)
    PoolMember.objects.filter(worker=fourth.address).update(status=MemberStatus.REMOVED)
    TaskRun.objects.filter(pk=run.pk).update(replicates_wanted=3)  # widened for a third
    judged = scheduler._Reach

    def reach_then_assign(task_run):
        scheduler.replicate_assign(chain_id=31337, worker=third.address, pool=market.workerpool)
        return judged(task_run)

    monkeypatch.setattr(scheduler, "_Reach", reach_then_assign)

    assert scheduler.runs_out_of_reach(chain_id=31337) == 0
    run.refresh_from_db()
    assert run.status == RunStatus.ACTIVE
    monkeypatch.setattr(scheduler, "_Reach", judged)
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0  # while its replicate is out


def test_a_member_silent_after_its_upload_may_still_contribute_and_counts_as_able(
    market, hub_deployment
):
    run = _started_run(market, hub_deployment, trust=3)
    first, second, third, _fourth = market.workers
    _contribute(market, run, first, new_digest())
    _contribute(market, run, second, new_digest())
    TaskRun.objects.filter(pk=run.pk).update(replicates_wanted=3)  # widened on disagreeing
    late = scheduler.replicate_assign(chain_id=31337, worker=third.address, pool=market.workerpool)
    Replicate.objects.filter(pk=late.pk).update(
        status=ReplicateStatus.EXPIRED, digest="0x" + new_digest().hex()
    )
    index_to_head(hub_deployment)
    # The third's late report still counts: with the fourth, two may yet outweigh (8 x 3 > 11 x 2).
    assert scheduler.runs_out_of_reach(chain_id=31337) == 0
    # Silent before uploading anything, it will not contribute: one left cannot (4 x 3 <= 7 x 2).
    Replicate.objects.filter(pk=late.pk).update(digest="")
    assert scheduler.runs_out_of_reach(chain_id=31337) == 1


def test_an_upload_whose_contribution_is_never_reported_expires(market, hub_deployment):
    from pools.work import result_upload

    run = _started_run(market, hub_deployment, trust=1)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    archive = archives.agent_archive()
    result_upload(
        replicate=replicate,
        archive=io.BytesIO(archive),
        size=len(archive),
        digest="0x" + hashlib.sha256(archive).hexdigest(),
    )
    assert scheduler.replicates_expire() == 0  # its lease started again at the upload
    later = timezone.now() + datetime.timedelta(seconds=scheduler.lease_seconds() + 1)
    assert scheduler.replicates_expire(now=later) == 1
    replicate.refresh_from_db()
    assert replicate.status == ReplicateStatus.EXPIRED
    assert "did not report its contribution" in replicate.failure
    assert run.replicates.count() == 1
