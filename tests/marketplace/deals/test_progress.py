"""Snapshots of a deal's progress on anvil (the chain's record merged with the scheduler's), and
who may read what workers say."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone
from eth_account import Account

from marketplace.accounts.models import Wallet
from marketplace.chain.orders import sign_order
from marketplace.deals import progress
from marketplace.indexer.models import Contribution, Task, TaskStatus
from pools import scheduler
from pools.models import Replicate, TaskRun
from tests.chain_scaffold import ECT, Market, new_digest
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit

DEALID = "0x" + "ab" * 32
SECRET = "page 3 of 7 (secret.txt)"


@pytest.fixture
def market(chain, opened_market) -> Market:
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    return market


def started_deal(market: Market, hub_deployment, *, volume: int = 1, beneficiary: str = "") -> str:
    """An indexed deal of the market's (operated) pool, its tasks started on chain (also for
    the consumer and browser tests)."""
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=ECT, volume=volume
    )
    if beneficiary:
        request = dataclasses.replace(orders.request, beneficiary=beneficiary)
        orders = dataclasses.replace(
            orders,
            request=request,
            request_sign=sign_order(request, market.domain, market.requester.key),
        )
    dealid = "0x" + market.match(orders).hex()
    index_to_head(hub_deployment)
    scheduler.runs_create(chain_id=31337)
    scheduler.runs_initialize(chain_id=31337, hub=market.hub)
    index_to_head(hub_deployment)
    return dealid


def user_of(address: str):
    """The user whose linked wallet `address` is (indexing may have made one already)."""
    wallet = Wallet.objects.filter(address=address).first() or WalletFactory(address=address)
    return wallet.user


def _kinds(snapshot: dict) -> list[tuple[str, int | None]]:
    return [(event["kind"], event["task"]) for event in snapshot["timeline"]]


@pytest.mark.django_db
def test_a_deal_the_index_does_not_hold_is_waiting_for_its_block():
    snapshot = progress.deal_snapshot(DEALID.upper().replace("0X", "0x"), viewer=None)

    assert snapshot["dealid"] == DEALID
    assert (snapshot["indexed"], snapshot["status"]) == (False, "waiting")
    assert snapshot["status_label"] == "Sent, waiting for its block"
    assert (snapshot["deal"], snapshot["tasks"], snapshot["timeline"]) == (None, [], [])
    with pytest.raises(ValueError, match="not a deal id"):
        progress.deal_snapshot("0x1234", viewer=None)


@pytest.mark.django_db
def test_a_deal_is_followed_from_its_match_to_its_finalization(market, hub_deployment):
    # Given a deal of 2 tasks, both started on chain, one handed to a worker that beats
    dealid = started_deal(market, hub_deployment, volume=2)
    worker = market.workers[0]
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=worker.address, pool=market.workerpool
    )
    scheduler.replicate_heartbeat(replicate=replicate, percent=40, message=SECRET)
    staff = UserFactory(is_staff=True)

    running = progress.deal_snapshot(dealid, viewer=staff)

    assert (running["indexed"], running["status"], running["logs"]) == (True, "running", True)
    assert running["percent"] == 20.0  # 40 % of one task of two
    assert running["counts"] == {
        "completed": 0,
        "failed": 0,
        "running": 2,
        "claimable": 0,
        "abandoned": 0,
        "waiting": 0,
        "given_up": 0,
    }
    assert running["refunded"] == 0
    assert running["deal"]["requester"] == market.requester.address
    first, second = running["tasks"]
    assert (first["idx"], first["status"], first["status_label"], first["percent"]) == (
        0,
        "active",
        "Running",
        40.0,
    )
    assert (second["idx"], second["status"], second["percent"], second["replicates"]) == (
        1,
        "active",
        0.0,
        [],
    )
    (row,) = first["replicates"]
    assert {key: row[key] for key in ("worker", "status", "percent", "message", "failure")} == {
        "worker": worker.address,
        "status": "running",
        "percent": 40.0,
        "message": SECRET,
        "failure": "",
    }
    assert row["heartbeat_at"] is not None and row["assigned_at"] <= row["heartbeat_at"]
    assert _kinds(running)[0] == ("matched", None)
    assert sorted(_kinds(running)[1:3]) == [("initialized", 0), ("initialized", 1)]
    assert _kinds(running)[3:] == [("assigned", 0), ("running", 0)]
    assert running["timeline"][-1]["label"].endswith("running, 40 %")

    # When the worker contributes (consensus at trust 1), reveals, and the task is finalized
    taskid = bytes.fromhex(first["taskid"][2:])
    digest = new_digest()
    market.contribute(worker, taskid, digest)
    index_to_head(hub_deployment)
    revealing = progress.deal_snapshot(dealid, viewer=staff)
    market.reveal(worker, taskid, digest)
    index_to_head(hub_deployment)
    revealed = progress.deal_snapshot(dealid, viewer=staff)
    market.finalize(taskid)
    index_to_head(hub_deployment)
    finalized = progress.deal_snapshot(dealid, viewer=staff)

    # Then each step shows, in order and with its time
    task = revealing["tasks"][0]
    assert (task["status"], task["percent"], task["contribution_count"]) == ("revealing", 99, 1)
    assert task["consensus"] and task["consensus_at"] is not None
    assert [c["status"] for c in task["contributions"]] == ["contributed"]
    assert _kinds(revealing)[-2:] == [("contributed", 0), ("consensus", 0)]
    assert _kinds(revealed)[-1] == ("revealed", 0) and revealed["timeline"][-1]["at"] is not None
    task = finalized["tasks"][0]
    assert (task["status"], task["percent"], task["reveals"]) == ("completed", 100.0, 1)
    assert task["result_digest"] == "0x" + digest.hex() and task["finished_at"] is not None
    assert task["results"].startswith("http://127.0.0.1/results/")
    assert finalized["percent"] == 50.0 and finalized["counts"]["completed"] == 1
    assert _kinds(finalized)[-2:] == [("revealed", 0), ("finalized", 0)]
    # The life of task 0 in order, though its times come from two clocks (the site's and the
    # chain's blocks, which anvil's snapshots keep behind the wall clock in a long test run).
    life = [kind for kind, task in _kinds(finalized) if task == 0]
    assert life == [
        "initialized",
        "assigned",
        "running",
        "contributed",
        "consensus",
        "revealed",
        "finalized",
    ]
    json.dumps(progress.snapshot_json(finalized))  # plain JSON for clients


@pytest.mark.django_db
def test_a_task_past_its_final_deadline_is_claimable(market, hub_deployment):
    dealid = started_deal(market, hub_deployment)
    deadline = Task.objects.get().final_deadline

    before = progress.deal_snapshot(dealid, viewer=None, now=deadline - datetime.timedelta(1))
    after = progress.deal_snapshot(dealid, viewer=None, now=deadline)

    assert (before["status"], before["tasks"][0]["status"]) == ("running", "active")
    assert (after["status"], after["tasks"][0]["status"]) == ("claimable", "claimable")
    assert after["counts"]["claimable"] == 1 and after["counts"]["running"] == 0
    assert _kinds(after)[-1] == ("claimable", 0)
    assert after["timeline"][-1]["at"] == deadline


@pytest.mark.django_db
def test_an_expired_replicate_says_why_only_to_those_who_may_read_it(market, hub_deployment):
    dealid = started_deal(market, hub_deployment)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    Replicate.objects.filter(pk=replicate.pk).update(lease_until=replicate.created_at)
    assert scheduler.replicates_expire() == 1

    owner = progress.deal_snapshot(dealid, viewer=user_of(market.requester.address))
    stranger = progress.deal_snapshot(dealid, viewer=UserFactory())

    assert owner["tasks"][0]["replicates"][0]["failure"].startswith("The worker went silent")
    assert owner["timeline"][-1]["label"].endswith(
        "went silent: The worker went silent (no heartbeat before its lease ended)."
    )
    assert stranger["tasks"][0]["replicates"][0]["status"] == "expired"
    assert "failure" not in stranger["tasks"][0]["replicates"][0]
    assert stranger["timeline"][-1]["label"].endswith("went silent")
    assert "no heartbeat" not in json.dumps(progress.snapshot_json(stranger))


@pytest.mark.django_db
def test_logs_are_for_the_requester_the_beneficiary_the_pool_owner_and_staff(
    market, hub_deployment
):
    beneficiary = market.other_scheduler.address
    dealid = started_deal(market, hub_deployment, beneficiary=beneficiary)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    scheduler.replicate_heartbeat(replicate=replicate, percent=25, message=SECRET)
    TaskRun.objects.update(failure="the scheduler's own trouble")
    viewers = {
        "requester": user_of(market.requester.address),
        "beneficiary": WalletFactory(address=beneficiary.lower()).user,  # any case
        "pool owner": user_of(market.scheduler.address),
        "staff": UserFactory(is_staff=True),
        "stranger": user_of(market.workers[1].address),
        "no wallet": UserFactory(),
        "anonymous": AnonymousUser(),
    }
    WalletFactory(user=viewers["stranger"])  # more wallets, none of the deal's

    seen = {name: progress.deal_snapshot(dealid, viewer=user) for name, user in viewers.items()}

    for name in ("requester", "beneficiary", "pool owner", "staff"):
        assert progress.can_see_logs(dealid, viewers[name]), name
        assert seen[name]["logs"] is True
        assert seen[name]["tasks"][0]["replicates"][0]["message"] == SECRET
        assert seen[name]["tasks"][0]["failure"] == "the scheduler's own trouble"
    for name in ("stranger", "no wallet", "anonymous"):
        assert not progress.can_see_logs(dealid, viewers[name]), name
        text = json.dumps(progress.snapshot_json(seen[name]))
        assert seen[name]["logs"] is False
        assert SECRET not in text and "own trouble" not in text
        # Statuses and percents they do see
        assert seen[name]["tasks"][0]["replicates"][0]["percent"] == 25.0
        assert seen[name]["tasks"][0]["status"] == "active"
    assert not progress.can_see_logs(DEALID, viewers["requester"])  # a deal not indexed
    assert progress.can_see_logs(DEALID, viewers["staff"])
    assert not progress.can_see_logs("0x1234", viewers["staff"])


# ---------------------------------------------------------------------- bar, percent, timeline
# Deals and tasks as the indexer writes them (factories), with the scheduler's runs beside them.


def _indexed_task(deal, idx: int, status: str, at: datetime.datetime) -> Task:
    return TaskFactory(
        deal=deal, idx=idx, status=status, initialized_at=at, result_digest="", finished_at=None
    )


def _run(task: Task, deal) -> TaskRun:
    return TaskRun.objects.create(
        chain_id=31337,
        taskid=task.taskid,
        dealid=deal.dealid,
        idx=task.idx,
        workerpool=deal.workerpool,
        status="active",
        trust=1,
    )


def _replicate(run: TaskRun, *, at: datetime.datetime, **fields) -> Replicate:
    """A replicate assigned at `at`, with `fields` (heartbeat_at, updated_at, ...) as given."""
    replicate = Replicate.objects.create(
        task=run,
        worker=fields.pop("worker", Account.create().address),
        authorization="0x",
        lease_until=at + datetime.timedelta(minutes=1),
    )
    Replicate.objects.filter(pk=replicate.pk).update(created_at=at, **fields)
    replicate.refresh_from_db()
    return replicate


@pytest.mark.django_db
def test_the_bar_shows_the_work_done_not_the_tasks_started():
    # Given a deal of 4 tasks: one running at 0 %, one at 50 %, one completed, one not started
    start = timezone.now() - datetime.timedelta(minutes=10)
    deal = DealFactory(volume=4, start_time=start)
    idle = _run(_indexed_task(deal, 0, TaskStatus.ACTIVE, start), deal)
    _replicate(idle, at=start, status="running", heartbeat_at=start, percent=0)
    halfway = _run(_indexed_task(deal, 1, TaskStatus.ACTIVE, start), deal)
    _replicate(halfway, at=start, status="running", heartbeat_at=start, percent=50)
    _indexed_task(deal, 2, TaskStatus.COMPLETED, start)

    snapshot = progress.deal_snapshot(deal.dealid, viewer=None)

    # Then the bar is green for the completed task and blue for what the others did: the
    # running task at 0 % fills none of it, and its parts add up to the percentage shown
    assert snapshot["counts"]["running"] == 2
    assert snapshot["shares"] == {"completed": 25.0, "failed": 0.0, "running": 12.5}
    assert snapshot["percent"] == 37.5
    html = render_to_string(
        "deals/deal_detail.html#live", {"live": snapshot}, request=RequestFactory().get("/")
    )
    assert '<span class="done w-25"></span>' in html
    assert '<span class="running w-12"></span>' in html
    assert '<span class="failed w-0"></span>' in html
    # Each task's own bar says where it stands, for the stylesheet to colour a finished one
    assert html.count('class="task-bar" data-status="completed"') == 1
    assert html.count('class="task-bar" data-status="active"') == 2


@pytest.mark.django_db
def test_a_worker_done_with_its_run_shows_no_more_than_its_unfinished_task():
    # Given a task whose only worker reported 100 % (its result not yet agreed on chain)
    start = timezone.now() - datetime.timedelta(minutes=10)
    deal = DealFactory(volume=1, start_time=start)
    run = _run(_indexed_task(deal, 0, TaskStatus.ACTIVE, start), deal)
    _replicate(run, at=start, status="running", heartbeat_at=start, percent=100)

    snapshot = progress.deal_snapshot(deal.dealid, viewer=None)

    # Then the worker, the task, the deal and the bar all say 99 %
    (task,) = snapshot["tasks"]
    assert (task["percent"], task["replicates"][0]["percent"]) == (99.0, 99.0)
    assert snapshot["percent"] == 99.0 and snapshot["shares"]["running"] == 99.0
    html = render_to_string(
        "deals/task_detail.html#live", {"live": progress.task_snapshot(snapshot, 0)}
    )
    assert '<strong class="deal-percent">99 %</strong>' in html
    assert "<td>99 %</td>" in html and "100 %" not in html


@pytest.mark.django_db
def test_a_deal_of_many_tasks_shows_100_percent_only_once_all_are_finished():
    start = timezone.now() - datetime.timedelta(minutes=10)
    deal = DealFactory(volume=1000, start_time=start)
    for idx in range(999):
        _indexed_task(deal, idx, TaskStatus.COMPLETED, start)
    _indexed_task(deal, 999, TaskStatus.ACTIVE, start)

    assert progress.deal_snapshot(deal.dealid, viewer=None)["percent"] == 99.9


@pytest.mark.django_db
def test_the_timeline_of_a_task_handed_to_a_second_worker_reads_in_time_order():
    # Given a task whose first worker ran, failed and went, and a second that took it over
    # (the case where ordering by the kind of step put one worker's steps in another's)
    start = timezone.now() - datetime.timedelta(minutes=30)
    minute = datetime.timedelta(minutes=1)
    deal = DealFactory(volume=1, start_time=start)
    run = _run(_indexed_task(deal, 0, TaskStatus.ACTIVE, start + minute), deal)
    _replicate(
        run,
        at=start + 2 * minute,
        status="failed",
        heartbeat_at=start + 3 * minute,
        percent=30,
        updated_at=start + 4 * minute,
    )
    _replicate(run, at=start + 5 * minute, status="running", heartbeat_at=start + 6 * minute)

    timeline = progress.deal_snapshot(deal.dealid, viewer=None)["timeline"]

    assert [event["kind"] for event in timeline] == [
        "matched",
        "initialized",
        "assigned",
        "running",
        "replicate_failed",
        "assigned",
        "running",
    ]
    times = [event["at"] for event in timeline]
    assert times == sorted(times)


@pytest.mark.django_db
def test_a_heartbeat_after_the_contribution_comes_after_it_in_the_timeline():
    # Given a worker that contributed on chain, then went on beating while the reveal waited
    start = timezone.now() - datetime.timedelta(minutes=30)
    minute = datetime.timedelta(minutes=1)
    deal = DealFactory(volume=1, start_time=start)
    task = _indexed_task(deal, 0, TaskStatus.ACTIVE, start + minute)
    worker = Account.create().address
    run = _run(task, deal)
    _replicate(
        run,
        worker=worker,
        at=start + 2 * minute,
        status="contributed",
        heartbeat_at=start + 5 * minute,
        percent=100,
    )
    Contribution.objects.create(
        chain_id=31337,
        block_number=1,
        taskid=task.taskid,
        worker=worker,
        result_hash="0x" + "12" * 32,
        key=f"{task.taskid}:{worker}",
        status="contributed",
        contributed_at=start + 3 * minute,
    )

    timeline = progress.deal_snapshot(deal.dealid, viewer=None)["timeline"]

    assert [event["kind"] for event in timeline] == [
        "matched",
        "initialized",
        "assigned",
        "contributed",
        "running",
    ]
    times = [event["at"] for event in timeline]
    assert times == sorted(times)
