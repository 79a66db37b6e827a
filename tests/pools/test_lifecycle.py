"""The scheduler's rounds on anvil: a task finalized once its winner revealed, reopened when
nobody revealed in time, given up and refunded at once when its app fails alike on two
workers, claimed (the buyer refunded) when its final deadline passed."""

from __future__ import annotations

import pytest

from marketplace.chain import client
from marketplace.chain.errors import ChainRevert
from marketplace.chain.hub import Hub, TaskStatus
from marketplace.deals import progress
from marketplace.indexer.models import Task
from pools import lifecycle, scheduler
from pools.models import RunStatus, TaskRun
from pools.work import replicate_fail
from tests.chain_scaffold import ECT, new_digest
from tests.factories.accounts import WalletFactory
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


def _fail_on_two_workers(market, replicate) -> None:
    """The started replicate, then a second worker's, fail the same way (the app's fault)."""
    reason = "The app did not finish: exit code 1."
    replicate_fail(replicate=replicate, reason=reason, app_fault=True, exit_code=1)
    second = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[1].address, pool=market.workerpool
    )
    replicate_fail(replicate=second, reason=reason, app_fault=True, exit_code=1)


def test_a_task_given_up_is_refunded_at_once_its_pool_stake_to_the_kitty(started, hub_deployment):
    market, run, replicate = started
    hub, requester, pool_owner = market.hub, market.requester.address, market.scheduler.address
    deal = hub.deal(hub.task(run.taskid).dealid)
    before = {who: hub.account(who) for who in (requester, pool_owner)}
    kitty = hub.kitty()
    _fail_on_two_workers(market, replicate)

    done = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)

    assert (done.abandoned, done.refunded, done.claimed, done.problems) == (1, 1, 0, [])
    view = hub.task(run.taskid)
    assert view.status == TaskStatus.FAILED
    assert market.now() < view.final_deadline  # refunded without waiting for it
    price = deal.app_price + deal.workerpool_price
    assert hub.account(requester).stake == before[requester].stake + price
    assert hub.account(requester).locked == before[requester].locked - price
    assert hub.account(pool_owner).locked == before[pool_owner].locked - deal.worker_stake
    assert hub.account(pool_owner).stake == before[pool_owner].stake
    assert hub.kitty() == kitty + deal.worker_stake
    run.refresh_from_db()
    assert (run.status, run.give_up_tx[:2], len(run.give_up_tx)) == (RunStatus.ABANDONED, "0x", 66)
    # Never twice: before the index shows it, the next round sends nothing.
    again = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    assert (again.refunded, again.claimed, again.problems) == (0, 0, [])
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert Task.objects.get(taskid=run.taskid).given_up
    # The buyer reads that it was given up and refunded, and how much.
    snapshot = progress.deal_snapshot(run.dealid, viewer=None)
    (row,) = snapshot["tasks"]
    assert (row["status"], row["status_label"], row["given_up"]) == (
        "failed",
        "Given up: refunded",
        True,
    )
    assert row["refund"] == price == snapshot["refunded"]
    assert (snapshot["counts"]["failed"], snapshot["counts"]["given_up"]) == (1, 1)
    # The stop is dated when the scheduler gave the task up, even once a later round has
    # touched the run again; the refund it caused comes after it.
    scheduler.runs_judge(chain_id=31337)
    run.refresh_from_db()
    assert run.updated_at > run.stopped_at
    snapshot = progress.deal_snapshot(run.dealid, viewer=None)
    kinds = [event["kind"] for event in snapshot["timeline"]]
    assert kinds.index("stopped") < kinds.index("failed")
    assert snapshot["timeline"][kinds.index("stopped")]["at"] == run.stopped_at
    assert (
        snapshot["timeline"][-1]["label"]
        == "Task #0 failed: given up by the pool, the payer refunded"
    )


def test_a_give_up_the_chain_did_not_take_is_sent_again_next_round(started, hub_deployment):
    market, run, replicate = started
    _fail_on_two_workers(market, replicate)
    assert scheduler.runs_abandon(chain_id=31337) == 1
    # A node that does not answer (nothing listens on the discard port).
    unreachable = Hub(address=market.hub.address, w3=client.web3(url="http://127.0.0.1:9"))

    landed, problems = scheduler.runs_give_up(chain_id=31337, hub=unreachable)

    assert landed == 0 and len(problems) == 1 and problems[0].startswith("giving up tasks: ")
    run.refresh_from_db()
    assert run.give_up_tx == ""
    assert market.hub.task(run.taskid).status == TaskStatus.ACTIVE
    assert scheduler.runs_give_up(chain_id=31337, hub=market.hub) == (1, [])
    assert market.hub.task(run.taskid).status == TaskStatus.FAILED
    assert scheduler.runs_give_up(chain_id=31337, hub=market.hub) == (0, [])


def test_a_give_up_a_reorganization_dropped_is_sent_again(started, hub_deployment):
    market, run, replicate = started
    _fail_on_two_workers(market, replicate)
    assert scheduler.runs_abandon(chain_id=31337) == 1
    before = client.rpc("evm_snapshot", w3=market.w3)
    assert scheduler.runs_give_up(chain_id=31337, hub=market.hub) == (1, [])
    run.refresh_from_db()
    first = run.give_up_tx
    # A reorganization takes the giveUp's block away, and its transaction with it
    client.rpc("evm_revert", [before], w3=market.w3)
    assert market.hub.task(run.taskid).status == TaskStatus.ACTIVE

    # The next round sees the chain still has the task ACTIVE and gives it up again
    assert scheduler.runs_give_up(chain_id=31337, hub=market.hub) == (1, [])

    assert market.hub.task(run.taskid).status == TaskStatus.FAILED
    run.refresh_from_db()
    assert run.give_up_tx == first  # the same transaction, mined again (same nonce, same data)
    assert scheduler.runs_give_up(chain_id=31337, hub=market.hub) == (0, [])


def test_a_consensus_that_came_first_refuses_the_give_up_and_the_task_goes_on(
    started, hub_deployment, monkeypatch
):
    market, run, replicate = started
    locked = market.hub.account(market.requester.address).locked
    # A late contribution reaches consensus (trust 1) while the scheduler gives the task up;
    # the index has not seen the contribution yet.
    digest = _contribute(market, replicate)
    TaskRun.objects.filter(pk=run.pk).update(status=RunStatus.ABANDONED)
    refusals = []
    give_up = market.hub.give_up

    def recorded_give_up(**arguments):
        try:
            return give_up(**arguments)
        except ChainRevert as refusal:
            refusals.append(refusal.name)
            raise

    monkeypatch.setattr(market.hub, "give_up", recorded_give_up)

    done = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)

    assert refusals == ["GiveUpAfterConsensus"]
    assert (done.refunded, done.problems) == (0, [])  # refused by the chain, and that is fine
    assert market.hub.task(run.taskid).status == TaskStatus.REVEALING
    assert market.hub.account(market.requester.address).locked == locked
    run.refresh_from_db()
    assert run.give_up_tx == ""
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    run.refresh_from_db()
    assert run.status == RunStatus.REVEALING
    market.hub.reveal(sender=market.sender(market.workers[0]), taskid=run.taskid, digest=digest)
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).finalized == 1
    assert market.hub.task(run.taskid).status == TaskStatus.COMPLETED


def test_a_task_given_up_past_its_final_deadline_is_claimed_instead(started, hub_deployment):
    market, run, replicate = started
    _fail_on_two_workers(market, replicate)
    assert scheduler.runs_abandon(chain_id=31337) == 1
    _later(market, 10 * 300 + 1)  # the final deadline: 10 x the reference time
    index_to_head(hub_deployment)

    done = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)

    assert (done.refunded, done.claimed, done.problems) == (0, 1, [])
    assert market.hub.task(run.taskid).status == TaskStatus.FAILED
    index_to_head(hub_deployment)
    assert not Task.objects.get(taskid=run.taskid).given_up


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


def test_a_task_whose_trust_the_pool_cannot_reach_is_given_up_and_refunded_at_once(
    chain, hub_deployment, dev_accounts, opened_market
):
    # Trust 5 takes three agreeing new workers (2 x 2 = 4 < 5); the pool has two members.
    market = opened_market.copy()
    admit(market.workerpool, market.workers[:2])
    requester = market.requester.address
    market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, trust=5)
    )
    index_to_head(hub_deployment)
    first = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    assert (first.started, first.abandoned) == (1, 0)  # the index has not seen it start yet
    before = market.hub.account(requester)
    index_to_head(hub_deployment)

    done = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)

    assert (done.abandoned, done.refunded, done.claimed, done.problems) == (1, 1, 0, [])
    run = TaskRun.objects.get()
    view = market.hub.task(run.taskid)
    assert view.status == TaskStatus.FAILED
    assert market.now() < view.final_deadline  # refunded without waiting for it
    deal = market.hub.deal(view.dealid)
    price = deal.app_price + deal.workerpool_price
    assert market.hub.account(requester).stake == before.stake + price
    assert market.hub.account(requester).locked == before.locked - price
    reason = (
        "Given up: trust 5 needs the agreement of 3 workers, and this pool has 2 members in "
        "good standing to run it. The payer is refunded."
    )
    assert (run.status, run.failure, run.replicates.count()) == (RunStatus.ABANDONED, reason, 0)
    # The buyer reads why on the deal's progress.
    buyer = WalletFactory(address=requester).user
    snapshot = progress.deal_snapshot(run.dealid, viewer=buyer)
    (row,) = snapshot["tasks"]
    assert (row["status"], row["given_up"], row["failure"]) == ("abandoned", True, reason)
    labels = [event["label"] for event in snapshot["timeline"]]
    assert f"Task #0 stopped: {reason}" in labels
    with pytest.raises(scheduler.NoWork):  # handed out no more
        scheduler.replicate_assign(
            chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
        )


def test_a_task_whose_trust_the_pool_reaches_is_not_given_up(
    chain, hub_deployment, dev_accounts, opened_market
):
    # Trust 4: two agreeing new workers (2 x 2 = 4) are enough, and the pool has two members.
    market = opened_market.copy()
    admit(market.workerpool, market.workers[:2])
    market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, trust=4)
    )
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    index_to_head(hub_deployment)

    done = lifecycle.scheduler_round(chain_id=31337, hub=market.hub)

    assert (done.abandoned, done.refunded) == (0, 0)
    run = TaskRun.objects.get()
    assert (run.status, run.failure) == (RunStatus.ACTIVE, "")
    assert market.hub.task(run.taskid).status == TaskStatus.ACTIVE
