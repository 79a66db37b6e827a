"""The scheduler of the pools this site operates (their owners' keys are configured:
marketplace.chain.keys.pool_owner_accounts). The Hub takes a pool's owner as the scheduler of
its deals: it initializes their tasks, authorizes the workers that may contribute, finalizes.

Driven by the index: every indexed deal of an operated pool gets a TaskRun per task, started
on chain in batches; workers pull replicates (`replicate_assign`), each to a distinct worker
with the scheduler's signature, held by a lease that heartbeats renew; a silent worker's
replicate expires and its place goes to another worker while the contribution deadline
allows.

How many replicates a task needs follows the Hub's consensus rule (PROTOCOL.md): agreeing
workers of weights w1..wk reach consensus at trust t when w1 x ... x wk >= t (the total starts
at 1), a worker's weight being max(score / 3, 3) - 1. Trusted workers (high scores) thus need
fewer replicates: adaptive replication.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from datamarket.selectors import datasets_closed_to
from marketplace.catalogue.models import Market
from marketplace.chain.errors import ChainError, ChainRevert
from marketplace.chain.ids import TaskStatus, task_id
from marketplace.chain.keys import pool_owner_accounts
from marketplace.chain.signing import scheduler_authorization
from marketplace.errors import Forbidden
from marketplace.indexer.models import Asset, Contribution, ContributionStatus, Deal, Task, Worker
from marketplace.indexer.notify import progress_changed
from marketplace.indexer.selectors import index_freshness
from pools import membership
from pools.models import (
    LIVE_REPLICATES,
    MemberStatus,
    PoolMember,
    Replicate,
    ReplicateStatus,
    RunStatus,
    TaskRun,
)
from worker.failures import CONTRADICTABLE, classify
from worker.failures import KINDS as FAILURE_KINDS

if TYPE_CHECKING:
    from marketplace.chain.hub import Hub
    from marketplace.chain.keys import ServerKey

NEW_WORKER_WEIGHT = 2
# Most contributions a task takes on chain (Hub.sol's MAX_CONTRIBUTORS).
MAX_REPLICATES = 32
INITIALIZE_BATCH = 50


def worker_weight(score: int) -> int:
    """The Hub's weight of a worker of this score."""
    return max(score // 3, 3) - 1


def replicates_for(trust: int, scores: Sequence[int] = ()) -> int:
    """How many agreeing workers reach consensus at `trust`, taking the best-scored of
    `scores` first and new workers (weight 2) after them."""
    weights = sorted((worker_weight(score) for score in scores), reverse=True)
    group, count = 1, 0
    while group < max(trust, 1) and count < MAX_REPLICATES:
        group *= weights[count] if count < len(weights) else NEW_WORKER_WEIGHT
        count += 1
    return max(count, 1)


def highest_trust(scores: Sequence[int]) -> int:
    """The highest trust that workers of these scores reach when they all agree (the Hub
    counts at most MAX_REPLICATES contributions: the best-scored); 0 without workers."""
    if not scores:
        return 0
    best = sorted((worker_weight(score) for score in scores), reverse=True)[:MAX_REPLICATES]
    return math.prod(best)


def consensus_within_reach(
    trust: int, groups: Iterable[Sequence[int]], newcomers: Sequence[int]
) -> bool:
    """Whether an active task can still reach consensus at `trust` (the Hub's rule: a result's
    group weight g against the total T, which starts at 1, when g x trust > T x (trust - 1)).
    `groups` are the weights of the workers that contributed, one sequence per result;
    `newcomers` the weights of the workers that may still contribute. The best case is taken:
    every newcomer (the heaviest first, as many as the Hub still takes) agreeing on one result,
    one already contributed or a new one."""
    trust = max(trust, 1)
    products = [math.prod(group) for group in groups if group]
    room = MAX_REPLICATES - sum(len(group) for group in groups)
    joining = sorted(newcomers, reverse=True)[: max(room, 0)]
    if not joining:
        return False  # nobody left to contribute: an active task stays as it is
    weight = math.prod(joining)
    total = 1 + sum(products)
    for group in [*products, 0]:
        grown = max(group, 1) * weight
        if grown * trust > (total - group + grown) * (trust - 1):
            return True
    return False


def operated_pools(*, chain_id: int) -> dict[str, ServerKey]:
    """The pools this site schedules, by address, with their owner's key."""

    owners = pool_owner_accounts()
    if not owners:
        return {}
    pools = Asset.objects.filter(chain_id=chain_id, kind=Market.POOL, owner__in=list(owners))
    return {pool.address: owners[pool.owner] for pool in pools}


def _scores(chain_id: int, workers: Iterable[str]) -> list[int]:
    return list(
        Worker.objects.filter(chain_id=chain_id, address__in=set(workers)).values_list(
            "score", flat=True
        )
    )


def _pool_workers(chain_id: int, pool: str) -> list[str]:
    """Workers that ran replicates for the pool (its known workforce)."""
    return list(
        Replicate.objects.filter(task__chain_id=chain_id, task__workerpool=pool)
        .values_list("worker", flat=True)
        .distinct()
    )


@transaction.atomic
def runs_create(*, chain_id: int) -> int:
    """A TaskRun for every task of every indexed deal of an operated pool that has none;
    how many were made."""
    pools = operated_pools(chain_id=chain_id)
    if not pools:
        return 0
    known = TaskRun.objects.filter(chain_id=chain_id).values("dealid")
    deals = Deal.objects.filter(chain_id=chain_id, workerpool__in=list(pools)).exclude(
        dealid__in=known
    )
    runs = []
    for deal in deals:
        scores = _scores(chain_id, _pool_workers(chain_id, deal.workerpool))
        wanted = replicates_for(deal.trust, scores)
        runs += [
            TaskRun(
                chain_id=chain_id,
                taskid="0x" + task_id(deal.dealid, idx).hex(),
                dealid=deal.dealid,
                idx=idx,
                workerpool=deal.workerpool,
                trust=deal.trust,
                replicates_wanted=wanted,
                requester=deal.requester,
                beneficiary=deal.beneficiary,
                dataset=deal.dataset,
            )
            for idx in range(deal.bot_first, deal.bot_first + deal.volume)
        ]
    TaskRun.objects.bulk_create(runs, batch_size=500, ignore_conflicts=True)
    return len(runs)


def runs_initialize(*, chain_id: int, hub: Hub) -> int:
    """Start the pending tasks on chain (initializeArray, by each pool's owner, in batches);
    tasks someone else already initialized are only marked active. How many became active."""
    # Loads web3 (half a second): paid only by the processes that talk to the node.
    from marketplace.chain.client import TransactionSender

    pools = operated_pools(chain_id=chain_id)
    pending = list(TaskRun.objects.filter(chain_id=chain_id, status=RunStatus.PENDING))
    started = set(
        Task.objects.filter(chain_id=chain_id, taskid__in=[r.taskid for r in pending]).values_list(
            "taskid", flat=True
        )
    )
    activated = 0
    by_pool: dict[str, list[TaskRun]] = {}
    for run in pending:
        if run.taskid in started:
            TaskRun.objects.filter(pk=run.pk).update(status=RunStatus.ACTIVE)
            activated += 1
        elif run.workerpool in pools:
            by_pool.setdefault(run.workerpool, []).append(run)
    for pool, runs in by_pool.items():
        sender = TransactionSender(pools[pool], w3=hub.w3)
        for start in range(0, len(runs), INITIALIZE_BATCH):
            batch = runs[start : start + INITIALIZE_BATCH]
            try:
                hub.initialize_array(sender=sender, tasks=[(run.dealid, run.idx) for run in batch])
            except ChainRevert:
                # One refused task refuses the batch: start them one by one, and give up on
                # those the Hub refuses (a deal past its deadline), saying why.
                activated += _initialize_each(hub, sender, batch)
                continue
            TaskRun.objects.filter(pk__in=[run.pk for run in batch]).update(status=RunStatus.ACTIVE)
            activated += len(batch)
    return activated


def _initialize_each(hub: Hub, sender, runs: list[TaskRun]) -> int:
    activated = 0
    for run in runs:
        try:
            hub.initialize(sender=sender, dealid=run.dealid, idx=run.idx)
        except ChainRevert as refusal:
            if hub.task(run.taskid).status in (TaskStatus.ACTIVE, TaskStatus.REVEALING):
                pass  # someone else started it: it runs all the same
            else:
                TaskRun.objects.filter(pk=run.pk).update(
                    status=RunStatus.FAILED,
                    failure=f"Could not start the task: {refusal}"[:300],
                    stopped_at=timezone.now(),
                )
                continue
        TaskRun.objects.filter(pk=run.pk).update(status=RunStatus.ACTIVE)
        activated += 1
    return activated


class NoWork(Exception):
    """Nothing for this worker now; the message says why (for the agent's log)."""


class NotMember(Forbidden):
    """The worker may not work for the pool(s) it asked: not a member in good standing. The
    message says why and how to apply (403)."""


def lease_seconds(*, new_member: bool = False) -> int:
    """How long a replicate is held without a heartbeat; shorter for a member new to the pool
    (fewer than POOL_NEW_MEMBER_TASKS of its tasks completed), whose silence costs the buyer
    less time."""
    if new_member:
        return getattr(settings, "WORKER_NEW_MEMBER_LEASE_SECONDS", 30)
    return getattr(settings, "WORKER_LEASE_SECONDS", 60)


def is_new_member(*, chain_id: int, workerpool: str, worker: str) -> bool:
    """Whether `worker` completed fewer than POOL_NEW_MEMBER_TASKS tasks of `workerpool`."""
    proven = getattr(settings, "POOL_NEW_MEMBER_TASKS", 3)
    done = Replicate.objects.filter(
        worker=worker,
        status=ReplicateStatus.REVEALED,
        task__chain_id=chain_id,
        task__workerpool=workerpool,
        task__status=RunStatus.COMPLETED,
    )[:proven].count()
    return done < proven


def lease_for(replicate: Replicate) -> datetime.timedelta:
    """What a heartbeat renews `replicate`'s lease by (set when it was handed out)."""
    return datetime.timedelta(seconds=replicate.lease_seconds)


_live_replicates = (
    Replicate.objects.filter(task=OuterRef("pk"), status__in=LIVE_REPLICATES)
    .order_by()
    .values("task")
    .annotate(count=Count("id"))
    .values("count")
)


@transaction.atomic
def replicate_assign(*, chain_id: int, worker: str, pool: str | None) -> Replicate:
    """Give `worker` a replicate of the oldest active task of `pool` (of any pool this site
    schedules when None) that still needs one and that it has not run, with the scheduler's
    authorization; NoWork otherwise."""
    owners = operated_pools(chain_id=chain_id)
    if pool is not None:
        if pool not in owners:
            raise NoWork(f"Pool {pool} is not scheduled by this site.")
        owners = {pool: owners[pool]}
        # Locked: a removal or a strike of this member waits for this transaction, or wins.
        verdict = membership.member_standing(
            chain_id=chain_id, workerpool=pool, worker=worker, lock=True
        )
        if not verdict.ok:
            raise NotMember(verdict.reason)
    elif not owners:
        raise NoWork("This site schedules no pool yet (or its index has not reached them).")
    else:
        good = membership.pools_in_good_standing(
            chain_id=chain_id, worker=worker, pools=owners, lock=True
        )
        if not good:
            raise NotMember(
                "You are a member in good standing of no pool this site schedules: find a pool "
                "at /pools/ and ask to join it (POST /api/v1/workers/pools/<address>/apply/)."
            )
        owners = {address: key for address, key in owners.items() if address in good}
    # A buyer never works on its own deals: it would see their dataset. Nor does a worker run
    # a task whose dataset's owner would refuse it the key.
    buyer = membership.buyer_wallets([worker])
    closed = _datasets_closed(chain_id=chain_id, worker=worker, pools=owners)
    now = timezone.now()
    # A run is active once its task's start was mined; the index may not have the task yet
    # (then its contribution deadline is 7 reference times away), or may show it closed.
    closed_tasks = (
        Task.objects.filter(chain_id=chain_id, workerpool__in=list(owners))
        .exclude(status="active", contribution_deadline__gt=now)
        .values("taskid")
    )
    candidates = (
        TaskRun.objects.select_for_update(skip_locked=True)
        .filter(chain_id=chain_id, workerpool__in=list(owners), status=RunStatus.ACTIVE)
        .exclude(taskid__in=closed_tasks)
        .exclude(replicates__worker=worker)
        .exclude(requester__in=buyer)
        .exclude(beneficiary__in=buyer)
        .exclude(closed)
        # A correlated count, not a join: PostgreSQL locks no rows of a GROUP BY.
        .annotate(live=Coalesce(Subquery(_live_replicates), 0))
        .order_by("created_at", "id")
    )
    for run in candidates:
        if run.live >= run.replicates_wanted:
            continue
        signature = scheduler_authorization(
            worker=worker, taskid=run.taskid, scheduler_key=owners[run.workerpool]
        )
        new = is_new_member(chain_id=chain_id, workerpool=run.workerpool, worker=worker)
        seconds = lease_seconds(new_member=new)
        replicate = Replicate.objects.create(
            task=run,
            worker=worker,
            authorization="0x" + signature.hex(),
            lease_until=now + datetime.timedelta(seconds=seconds),
            lease_seconds=seconds,
        )
        progress_changed(run.dealid)
        return replicate
    raise NoWork(
        f"No task of pool {pool} needs a worker now."
        if pool
        else "No task of the pools this site schedules needs a worker now."
    )


def _datasets_closed(*, chain_id: int, worker: str, pools: Iterable[str]) -> Q:
    """The runs whose dataset's owner would refuse `worker` its key, in each of `pools`."""
    score = membership.Facts.of(chain_id=chain_id, workerpool="", worker=worker).score
    by_hand = set(
        PoolMember.objects.filter(
            chain_id=chain_id, worker=worker, workerpool__in=list(pools), admitted_via="hand"
        ).values_list("workerpool", flat=True)
    )
    refused = {
        hand: datasets_closed_to(score=score, admitted_by_hand=hand)
        for hand in {pool in by_hand for pool in pools}
    }
    closed = Q(pk__in=[])
    for pool in pools:
        if refused[pool in by_hand]:
            closed |= Q(workerpool=pool, dataset__in=refused[pool in by_hand])
    return closed


def replicate_heartbeat(
    *, replicate: Replicate, percent: float | None = None, message: str = ""
) -> Replicate:
    """The worker is alive (and this far): its lease is renewed."""
    now = timezone.now()
    updates = {
        "heartbeat_at": now,
        "lease_until": now + lease_for(replicate),
        "updated_at": now,
    }
    if replicate.status == ReplicateStatus.ASSIGNED:
        updates["status"] = ReplicateStatus.RUNNING
    if percent is not None:
        updates["percent"] = max(replicate.percent, min(100.0, max(0.0, percent)))
    if message:
        updates["message"] = message[:300]
    Replicate.objects.filter(pk=replicate.pk, status__in=LIVE_REPLICATES).update(**updates)
    progress_changed(replicate.task.dealid)  # before refresh_from_db drops the cached task
    replicate.refresh_from_db()
    return replicate


def _give_up_after() -> int:
    return max(1, getattr(settings, "POOL_GIVE_UP_AFTER_FAILURES", 2))


def runs_widen(*, chain_id: int) -> int:
    """One more replicate for each running task whose workers all contributed without reaching
    consensus (they disagree, or trust wants more weight than they carry): the chain's index
    has every contribution and the task is still active. How many tasks were widened."""
    running = (ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING, ReplicateStatus.UPLOADED)
    contributed = (ReplicateStatus.CONTRIBUTED, ReplicateStatus.REVEALED)
    now = timezone.now()
    runs = (
        TaskRun.objects.filter(chain_id=chain_id, status=RunStatus.ACTIVE)
        .exclude(replicates__status__in=running)
        .annotate(
            contributed=Count("replicates", filter=Q(replicates__status__in=contributed)),
        )
        .filter(contributed__gte=F("replicates_wanted"), replicates_wanted__lt=MAX_REPLICATES)
    )
    candidates = {run.taskid: run for run in runs}
    if not candidates:
        return 0
    undecided = Task.objects.filter(
        chain_id=chain_id,
        taskid__in=list(candidates),
        status="active",
        contribution_deadline__gt=now,
    ).values_list("taskid", "contributions")
    widened = 0
    for taskid, on_chain in undecided:
        run = candidates[taskid]
        if on_chain < run.contributed:
            continue  # a contribution not indexed yet: consensus may be in the same block
        updated = TaskRun.objects.filter(
            pk=run.pk, status=RunStatus.ACTIVE, replicates_wanted=run.replicates_wanted
        ).update(replicates_wanted=run.replicates_wanted + 1, updated_at=now)
        if updated:
            widened += 1
            progress_changed(run.dealid)
    return widened


def _agreeing_failures(run: TaskRun) -> tuple[str, list[Replicate]]:
    """The largest group of the run's app failures that count: reported by distinct members of
    the pool in good standing, of the same class. ("", []) when none count."""
    failures = list(
        run.replicates.filter(status=ReplicateStatus.FAILED, app_fault=True).order_by("updated_at")
    )
    good = membership.members_in_good_standing(
        chain_id=run.chain_id, workerpool=run.workerpool, workers=[f.worker for f in failures]
    )
    groups: dict[str, list[Replicate]] = {}
    for failure in failures:
        if failure.worker in good:
            groups.setdefault(failure.failure_kind or classify(failure.failure), []).append(failure)
    if not groups:
        return "", []
    return max(groups.items(), key=lambda group: (len(group[1]), group[1][-1].updated_at))


def runs_abandon(*, chain_id: int) -> int:
    """Stop handing out tasks whose app failed the same way (out of fuel, time or memory, a
    trap, files not matching their checksums...) for POOL_GIVE_UP_AFTER_FAILURES distinct
    members of the pool in good standing, with nothing live. Reports from others, and reports
    that disagree, do not count: a few wallets cannot sabotage a task. The agreed failure is its
    reason; `runs_give_up` then refunds the payer on chain at once. How many were given up."""
    app_failed = Q(replicates__status=ReplicateStatus.FAILED, replicates__app_fault=True)
    candidates = (
        TaskRun.objects.filter(chain_id=chain_id, status=RunStatus.ACTIVE)
        .exclude(replicates__status__in=LIVE_REPLICATES)
        .annotate(failed=Count("replicates", filter=app_failed))
        .filter(failed__gte=_give_up_after())
        .values_list("pk", flat=True)
    )
    abandoned = 0
    for pk in list(candidates):
        with transaction.atomic():
            # Locked as replicate_assign locks it: no replicate is handed out meanwhile.
            run = TaskRun.objects.select_for_update().filter(pk=pk, status=RunStatus.ACTIVE).first()
            if run is None or run.replicates.filter(status__in=LIVE_REPLICATES).exists():
                continue
            kind, agreeing = _agreeing_failures(run)
            if len(agreeing) < _give_up_after():
                continue
            reason = agreeing[-1].failure.rstrip(".") or FAILURE_KINDS[kind]
            run.status = RunStatus.ABANDONED
            run.failure = (
                f"Given up: the app failed the same way ({FAILURE_KINDS[kind]}) on "
                f"{len(agreeing)} workers; the last said: {reason}."
            )[:300]
            run.stopped_at = timezone.now()
            run.save(update_fields=["status", "failure", "stopped_at", "updated_at"])
            abandoned += 1
            progress_changed(run.dealid)
    return abandoned


def pool_members_able(
    *, chain_id: int, workerpool: str, buyers: Iterable[str] = (), dataset: str = ""
) -> dict[str, int]:
    """The members of `workerpool` in good standing that may work on a deal of `buyers` (a
    buyer never works on its own deals, with any of its wallets) reading `dataset` (none whom
    its owner refuses the key), with their on-chain scores."""
    active = PoolMember.objects.filter(
        chain_id=chain_id, workerpool=workerpool, status=MemberStatus.ACTIVE
    ).values_list("worker", flat=True)
    good = membership.members_in_good_standing(
        chain_id=chain_id, workerpool=workerpool, workers=list(active)
    )
    good -= membership.buyer_wallets(buyers)
    scores = dict(
        Worker.objects.filter(chain_id=chain_id, address__in=good).values_list("address", "score")
    )
    able = {worker: scores.get(worker, 0) for worker in good}
    if dataset:
        refused = members_refused_the_key(
            chain_id=chain_id, workerpool=workerpool, dataset=dataset, members=able
        )
        able = {worker: score for worker, score in able.items() if worker not in refused}
    return able


@dataclasses.dataclass
class _Reach:
    """What the scheduler knows of a run to judge whether its trust is within reach."""

    run: TaskRun
    ran: set[str] = dataclasses.field(default_factory=set)
    contributed: int = 0
    # Workers whose replicate expired after its upload: their late contribution still counts.
    late: set[str] = dataclasses.field(default_factory=set)


def runs_out_of_reach(*, chain_id: int) -> int:
    """Give up at once (`runs_give_up` refunds the payer) the active tasks whose trust nobody
    can reach any more: even if every member of the pool in good standing that may still take
    a replicate contributed and agreed with the best result so far, the Hub would see no
    consensus. Such a task would otherwise wait, its payment locked, until its final deadline.

    Members who have not run the task count as able to, even when they are offline or busy now:
    they may come back before the contribution deadline, and a task given up cannot be taken
    back. Workers that did run it (failed, went silent, or contributed) are never handed it
    again (replicate_assign), but one that went silent after uploading its result may still
    contribute it (its late report counts): it counts as able to. Judged only with no
    replicate in progress (its worker may yet contribute, and its agent would run on for a task
    given up under it) and once the index
    has every contribution reported, while the task is active before its contribution
    deadline. How many were given up."""
    now = timezone.now()
    open_tasks = Task.objects.filter(
        chain_id=chain_id, status="active", contribution_deadline__gt=now
    )
    in_progress = (ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING, ReplicateStatus.UPLOADED)
    runs = {
        run.pk: _Reach(run)
        for run in TaskRun.objects.filter(
            chain_id=chain_id, status=RunStatus.ACTIVE, taskid__in=open_tasks.values("taskid")
        ).exclude(replicates__status__in=in_progress)
    }
    if not runs:
        return 0
    contributed = (ReplicateStatus.CONTRIBUTED, ReplicateStatus.REVEALED)
    for task_pk, worker, status, digest in Replicate.objects.filter(
        task__in=list(runs)
    ).values_list("task_id", "worker", "status", "digest"):
        if task_pk not in runs:
            continue
        if status in in_progress:  # handed out since the runs were read: judged next round
            del runs[task_pk]
            continue
        runs[task_pk].ran.add(worker)
        runs[task_pk].contributed += status in contributed
        if status == ReplicateStatus.EXPIRED and digest:
            runs[task_pk].late.add(worker)
    taskids = [reach.run.taskid for reach in runs.values()]
    indexed = dict(open_tasks.filter(taskid__in=taskids).values_list("taskid", "contributions"))
    results: dict[str, dict[str, list[str]]] = {}
    for taskid, worker, result_hash in Contribution.objects.filter(
        chain_id=chain_id, taskid__in=taskids, status=ContributionStatus.CONTRIBUTED
    ).values_list("taskid", "worker", "result_hash"):
        results.setdefault(taskid, {}).setdefault(result_hash, []).append(worker)
    contributors = {w for groups in results.values() for ws in groups.values() for w in ws}
    scores = dict(
        Worker.objects.filter(chain_id=chain_id, address__in=contributors).values_list(
            "address", "score"
        )
    )
    # Members able to run a deal's tasks, by pool, buyer and dataset.
    able: dict[tuple[str, str, str, str], dict[str, int]] = {}
    hopeless: dict[int, str] = {}
    for pk, reach in runs.items():
        run = reach.run
        if indexed.get(run.taskid, 0) < reach.contributed:
            continue  # a contribution not indexed yet: it may be the one that agrees
        deal = (run.workerpool, run.requester, run.beneficiary, run.dataset)
        if deal not in able:
            able[deal] = pool_members_able(
                chain_id=chain_id, workerpool=run.workerpool, buyers=deal[1:3], dataset=run.dataset
            )
        others = {w: s for w, s in able[deal].items() if w not in reach.ran or w in reach.late}
        groups = results.get(run.taskid, {})
        weights = [[worker_weight(scores.get(w, 0)) for w in group] for group in groups.values()]
        if consensus_within_reach(run.trust, weights, [worker_weight(s) for s in others.values()]):
            continue
        hopeless[pk] = _out_of_reach_failure(run, groups=groups, others=others, scores=scores)
    given_up = 0
    for pk, failure in hopeless.items():
        with transaction.atomic():
            # Locked as replicate_assign locks it: no replicate is handed out meanwhile.
            run = TaskRun.objects.select_for_update().filter(pk=pk, status=RunStatus.ACTIVE).first()
            if run is None or run.replicates.count() != len(runs[pk].ran):
                continue  # a replicate was handed out since: judged again next round
            run.status = RunStatus.ABANDONED
            run.failure = failure[:300]
            run.stopped_at = timezone.now()
            run.save(update_fields=["status", "failure", "stopped_at", "updated_at"])
            given_up += 1
            progress_changed(run.dealid)
    return given_up


def members_refused_the_key(
    *, chain_id: int, workerpool: str, dataset: str, members: dict[str, int]
) -> set[str]:
    """Those of `members` whose score or admission the owner of `dataset` refuses its key."""
    by_hand = set(
        PoolMember.objects.filter(
            chain_id=chain_id, workerpool=workerpool, worker__in=list(members), admitted_via="hand"
        ).values_list("worker", flat=True)
    )
    refused: dict[tuple[int, bool], bool] = {}
    closed = set()
    for worker, score in members.items():
        key = (score, worker in by_hand)
        if key not in refused:
            refused[key] = dataset in datasets_closed_to(score=key[0], admitted_by_hand=key[1])
        if refused[key]:
            closed.add(worker)
    return closed


def _out_of_reach_failure(
    run: TaskRun, *, groups: dict[str, list[str]], others: dict[str, int], scores: dict[str, int]
) -> str:
    """Why `run` is given up, for the deal's page: its contributors (`groups`, by result, with
    their `scores`) and the members still able to run it (`others`, with theirs) reach no
    consensus at its trust."""
    if len(groups) > 1:
        contributors = sum(len(group) for group in groups.values())
        return (
            f"Given up: the {contributors} workers that ran it returned {len(groups)} different "
            f"results, and the {len(others)} other member{'s' if len(others) != 1 else ''} "
            f"of the pool in good standing cannot outweigh that disagreement at trust "
            f"{run.trust}. The payer is refunded."
        )
    team = [scores.get(w, 0) for group in groups.values() for w in group] + list(others.values())
    if not team:
        return (
            "Given up: this pool has no member in good standing that may run it. The payer is "
            "refunded."
        )
    needed = replicates_for(run.trust, team)
    return (
        f"Given up: trust {run.trust} needs the agreement of {needed} workers, and this pool "
        f"has {len(team)} member{'s' if len(team) != 1 else ''} in good standing to run it. "
        "The payer is refunded."
    )


def runs_give_up(*, chain_id: int, hub: Hub) -> tuple[int, list[str]]:
    """Refund at once the tasks given up (`runs_abandon`): the Hub's giveUp, with each operated
    pool owner's key, for every given-up run whose task the index shows ACTIVE before its final
    deadline and whose giveUp has not landed yet (its transaction is recorded: never sent twice).
    One the chain does not take is tried again next round. One the chain refuses because the
    task moved on first (a late contribution reached a consensus, or someone claimed it) is left
    to the index, which moves its run along (pools.lifecycle); past the final deadline, the
    round's claim refunds it instead. How many landed, and the problems met."""
    from marketplace.chain.client import TransactionSender  # loads web3: only with a chain

    owners = operated_pools(chain_id=chain_id)
    _give_up_again_if_dropped(chain_id=chain_id, hub=hub, workerpools=list(owners))
    runs = TaskRun.objects.filter(
        chain_id=chain_id,
        status=RunStatus.ABANDONED,
        give_up_tx="",
        workerpool__in=list(owners),
    )
    active = dict(
        Task.objects.filter(
            chain_id=chain_id, taskid__in=runs.values("taskid"), status="active"
        ).values_list("taskid", "final_deadline")
    )
    if not active:
        return 0, []
    try:
        # Deadlines are the chain's: block time, never behind the wall clock for long.
        now = max(timezone.now().timestamp(), hub.chain_time())
    except ChainError as error:
        return 0, [f"giving up tasks: {error}"]
    landed, problems = 0, []
    for pk in list(runs.filter(taskid__in=list(active)).values_list("pk", flat=True)):
        with transaction.atomic():
            # Locked while it is sent: another round waits, then finds it recorded.
            run = (
                TaskRun.objects.select_for_update()
                .filter(pk=pk, status=RunStatus.ABANDONED, give_up_tx="")
                .first()
            )
            final_deadline = active.get(run.taskid) if run is not None else None
            if run is None or (final_deadline and now >= final_deadline.timestamp()):
                continue
            sender = TransactionSender(owners[run.workerpool], w3=hub.w3)
            try:
                receipt = hub.give_up(sender=sender, taskid=run.taskid)
            except ChainRevert as refusal:
                try:
                    moved_on = hub.task(run.taskid).status != TaskStatus.ACTIVE
                except ChainError:
                    moved_on = False
                if not moved_on:
                    problems.append(f"giving up task {run.taskid[:10]}: {refusal}")
                continue
            except ChainError as error:
                problems.append(f"giving up task {run.taskid[:10]}: {error}")
                continue
            run.give_up_tx = "0x" + bytes(receipt["transactionHash"]).hex()
            run.save(update_fields=["give_up_tx", "updated_at"])
            landed += 1
            progress_changed(run.dealid)
    return landed, problems


def _give_up_again_if_dropped(*, chain_id: int, hub: Hub, workerpools: list[str]) -> None:
    """A giveUp whose transaction was recorded while the chain still shows its task ACTIVE was
    dropped (a reorganization took its block away and it was not mined again): forget it, so
    that this round sends it again. Asks the chain only while the index has not seen the task
    fail, which is a block or two after a giveUp lands."""
    recorded = TaskRun.objects.filter(
        chain_id=chain_id,
        status=RunStatus.ABANDONED,
        workerpool__in=workerpools,
        taskid__in=Task.objects.filter(chain_id=chain_id, status="active").values("taskid"),
    ).exclude(give_up_tx="")
    for run in recorded:
        try:
            dropped = hub.task(run.taskid).status == TaskStatus.ACTIVE
        except ChainError:
            return
        if dropped:
            TaskRun.objects.filter(pk=run.pk, give_up_tx=run.give_up_tx).update(give_up_tx="")


def runs_judge(*, chain_id: int) -> int:
    """Weigh the failure reports of finished tasks: a member that reported an app failure of a
    class every worker meets alike (worker.failures.CONTRADICTABLE: not out of time, nor a
    refused download) for a task that completed anyway, in a block the index holds as
    confirmed (a reorganization cannot take it back), gets a strike (membership.member_strike:
    at POOL_MEMBER_STRIKES it loses its standing, and its bond may be due to be seized). How
    many strikes were given."""
    confirmed = index_freshness().confirmed_block
    if confirmed is None:
        return 0
    settled = Task.objects.filter(
        chain_id=chain_id, status__in=("completed", "failed"), block_number__lte=confirmed
    ).values("taskid")
    finished = TaskRun.objects.filter(
        chain_id=chain_id,
        status__in=(RunStatus.COMPLETED, RunStatus.FAILED),
        failures_judged=False,
        taskid__in=settled,
    )
    strikes = 0
    for pk in list(finished.values_list("pk", flat=True)[:200]):
        with transaction.atomic():
            # Marked judged with its strikes, in one transaction: never judged twice.
            run = TaskRun.objects.select_for_update().get(pk=pk)
            if run.failures_judged:
                continue
            if run.status == RunStatus.COMPLETED:
                strikes += _strike_contradicted(run)
            run.failures_judged = True
            run.save(update_fields=["failures_judged", "updated_at"])
    return strikes


def _strike_contradicted(run: TaskRun) -> int:
    struck = 0
    failures = run.replicates.filter(
        status=ReplicateStatus.FAILED, app_fault=True, failure_kind__in=CONTRADICTABLE
    )
    for failure in failures:
        member = PoolMember.objects.filter(
            chain_id=run.chain_id, workerpool=run.workerpool, worker=failure.worker
        ).first()
        if member is None:
            continue
        reason = (
            f"Reported “{failure.failure}” on task {run.taskid[:10]}…, which other workers "
            "completed."
        )
        membership.member_strike(member=member, reason=reason)
        struck += 1
    return struck


def bonds_seize(*, chain_id: int, hub: Hub) -> tuple[int, list[str]]:
    """Send the bond seizures due (members that lost their standing in a pool whose policy
    seizes bonds), with each operated pool owner's key; one that fails is tried again next
    round. How many landed, and the problems met."""
    from marketplace.chain.client import TransactionSender  # loads web3: only with a chain

    owners = operated_pools(chain_id=chain_id)
    due = PoolMember.objects.filter(
        chain_id=chain_id, workerpool__in=list(owners), seizure_due__gt=""
    )
    seized, problems = 0, []
    for member in due:
        try:
            amount = hub.bond(workerpool=member.workerpool, worker=member.worker).amount
            tx_hash = ""
            if amount:
                call = hub.seize_bond_call(
                    workerpool=member.workerpool, worker=member.worker, amount=amount
                )
                receipt = call.send(TransactionSender(owners[member.workerpool], w3=hub.w3))
                tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        except ChainError as error:
            problems.append(f"seizing the bond of {member.worker}: {error}")
            continue
        membership.bond_seized(member=member, amount=amount, tx_hash=tx_hash)
        seized += 1
    return seized, problems


def replicates_expire(*, now: datetime.datetime | None = None) -> int:
    """Replicates whose worker went silent expire: no heartbeat before the lease ended, or a
    result uploaded and its contribution never reported. Their place goes to another worker
    (a late report of the contribution still counts). How many expired."""
    now = now or timezone.now()
    silent = Replicate.objects.filter(
        status__in=(ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING), lease_until__lt=now
    )
    unreported = Replicate.objects.filter(status=ReplicateStatus.UPLOADED, lease_until__lt=now)
    dealids = set(silent.values_list("task__dealid", flat=True))
    dealids |= set(unreported.values_list("task__dealid", flat=True))
    expired = silent.update(
        status=ReplicateStatus.EXPIRED,
        failure="The worker went silent (no heartbeat before its lease ended).",
        updated_at=now,
    )
    expired += unreported.update(
        status=ReplicateStatus.EXPIRED,
        failure="The worker uploaded its result but did not report its contribution in time.",
        updated_at=now,
    )
    for dealid in dealids:
        progress_changed(dealid)
    return expired
