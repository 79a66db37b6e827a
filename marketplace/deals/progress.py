"""Live progress of deals: where a deal stands now, as one viewer may see it (`deal_snapshot`).
Services nudge the websocket consumers after they change a deal (marketplace.indexer.notify).

A snapshot merges two records of the same work: the chain's (marketplace.deals: Deal, Task,
Contribution, as indexed) and the site's (pools.models: the TaskRun and Replicates of the pools it
schedules: who runs what, heartbeats, percent, messages, failures). It is plain data (datetimes
for times; `snapshot_json` encodes them as ISO 8601) so that a consumer can tell whether anything
changed by comparing two snapshots.

What workers say (replicate messages, failure texts) is the requester's, the beneficiary's, the
pool owner's and staff's to read (`can_see_logs`); everyone else gets statuses and percents, as
the chain shows them to anyone.

Each consumer re-reads the snapshot for its own viewer when notified, and also every
PROGRESS_POLL_SECONDS (`poll_seconds`), which covers changes whose notification could not reach
its process.
"""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.template.defaultfilters import pluralize
from django.utils import timezone

from marketplace.accounts.selectors import wallet_list
from marketplace.deals import selectors
from marketplace.indexer.models import ChainEvent, ContributionStatus, Deal, Task, TaskStatus
from pools.models import LIVE_REPLICATES, ReplicateStatus, RunStatus, TaskRun

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from marketplace.indexer.models import Contribution
    from pools.models import Replicate

DEFAULT_POLL_SECONDS = 2
# A deal of many tasks would make a long timeline: its latest events are enough to follow it.
TIMELINE_LIMIT = 100
# A task the chain has not finished never shows 100 %: finalizing is still to come. Nor does
# a deal with a task left (shown to a tenth of a percent).
UNFINISHED_CAP = 99.0
DEAL_UNFINISHED_CAP = 99.9
# The longest end of a stderr line the deal page shows (the task page shows the whole tail).
STDERR_LINE_CHARS = 200

# Replicates whose work is done (their result is uploaded, committed or revealed).
_DONE_REPLICATES = (
    ReplicateStatus.UPLOADED,
    ReplicateStatus.CONTRIBUTED,
    ReplicateStatus.REVEALED,
)
_CONTRIBUTION_REVEALED = (ContributionStatus.REVEALED, ContributionStatus.ACCURATE)

DEAL_STATUS_LABELS = {
    "waiting": "Sent, waiting for its block",
    "matched": "Matched: waiting for the pool to start its tasks",
    "running": "Running",
    "claimable": "Past its final deadline: anyone can claim the refund of unfinished tasks",
    "abandoned": "Given up by the pool: its failing tasks are being refunded",
    "completed": "Completed",
    "failed": "Failed: the payer is refunded",
    "finished": "Finished, some tasks failed",
}
TASK_STATUS_LABELS = {
    "pending": "Starting on chain",
    **dict(TaskStatus.choices),
    "claimable": "Past its final deadline: claimable",
    "abandoned": "Given up: being refunded",
    # Failed on chain, so refunded: claimed at its final deadline, or given up by the pool
    # (Hub giveUp) before it.
    "refunded": "Failed: refunded",
    "given_up": "Given up: refunded",
}
# Where a task's percent goes on the deal's bar, by its status (any other: running).
_BAR_PARTS = {"completed": "completed", "failed": "failed", "abandoned": "failed"}
# Events of one instant, in the order they happen.
_EVENT_ORDER = {
    kind: position
    for position, kind in enumerate(
        (
            "matched",
            "initialized",
            "assigned",
            "running",
            "uploaded",
            "replicate_failed",
            "stopped",
            "contributed",
            "consensus",
            "revealed",
            "finalized",
            "failed",
            "claimable",
        )
    )
}


def poll_seconds() -> float:
    """How often a consumer re-reads its snapshot without being told (settings)."""
    return float(getattr(settings, "PROGRESS_POLL_SECONDS", DEFAULT_POLL_SECONDS))


def socket_path(dealid: str) -> str:
    """Where a deal's websocket is (marketplace.deals.routing)."""
    return f"/ws/deals/{dealid}/"


# ---------------------------------------------------------------------- who sees what


def _user_wallets(user: AbstractBaseUser | AnonymousUser | None) -> set[str] | None:
    """The linked wallets of `user` in lower case; None for staff (who see everything)."""
    if user is None or not user.is_authenticated:
        return set()
    if user.is_staff:
        return None
    return {address.lower() for address in wallet_list(user=user).values_list("address", flat=True)}


def _logs_allowed(deal: Deal | None, user: AbstractBaseUser | AnonymousUser | None) -> bool:
    wallets = _user_wallets(user)
    if wallets is None:
        return True
    if deal is None or not wallets:
        return False
    parties = {deal.requester, deal.beneficiary, deal.workerpool_owner}
    return any(party and party.lower() in wallets for party in parties)


def can_see_logs(dealid: str, user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Whether `user` may read what the workers of deal `dealid` say: staff, and a user whose
    linked wallet is the deal's requester, beneficiary or pool owner. Nobody but staff for a
    deal the index does not hold (its parties are not known yet)."""
    key = selectors.bytes32_key(dealid)
    if key is None:
        return False
    deal = Deal.objects.filter(chain_id=settings.CHAIN_ID, dealid=key).first()
    return _logs_allowed(deal, user)


# ---------------------------------------------------------------------- snapshots


def deal_snapshot(
    dealid: str,
    *,
    viewer: AbstractBaseUser | AnonymousUser | None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """Deal `dealid` now, as `viewer` may see it (see `snapshot_of`). ValueError when `dealid`
    is not 0x and 64 hex digits."""
    key = selectors.bytes32_key(dealid)
    if key is None:
        raise ValueError(f"{dealid[:80]!r} is not a deal id (0x and 64 hexadecimal digits).")
    return snapshot_of(selectors.deal_detail(dealid=key), dealid=key, viewer=viewer, now=now)


def snapshot_of(
    deal: Deal | None,
    *,
    dealid: str,
    viewer: AbstractBaseUser | AnonymousUser | None,
    now: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The snapshot of `deal`, as `selectors.deal_detail(dealid=dealid)` returned it (with its
    `task_rows` and their `contribution_rows`; None when not indexed). A fixed number of
    queries whatever the deal's size.

    {"dealid", "indexed", "logs" (whether messages are included), "status", "status_label",
     "percent" (0-100, over the deal's volume; 100 only once every task is finished), "volume",
     "counts" {completed, failed, running, claimable, abandoned, waiting; and given_up, the
     tasks the pool gave up among failed and abandoned}, "refunded" (ECT base units back to the
     payer), "shares" (how
     `percent` splits into the bar's parts: completed and failed tasks, and the progress of
     the others; they add up to `percent`),
     "deal" {parties, assets, trust, category, start_time, final_deadline, tx_hash} or None,
     "tasks" [by idx: see `_task`], "timeline" [{"at", "kind", "label", "task", "worker"}],
     "timeline_omitted"}
    """
    now = now or timezone.now()
    logs = _logs_allowed(deal, viewer)
    if deal is None:
        return {
            "dealid": dealid,
            "indexed": False,
            "logs": logs,
            "status": "waiting",
            "status_label": DEAL_STATUS_LABELS["waiting"],
            "percent": 0.0,
            "volume": 0,
            "counts": {
                "completed": 0,
                "failed": 0,
                "running": 0,
                "claimable": 0,
                "abandoned": 0,
                "waiting": 0,
                "given_up": 0,
            },
            "refunded": 0,
            "shares": {"completed": 0.0, "failed": 0.0, "running": 0.0},
            "deal": None,
            "tasks": [],
            "timeline": [],
            "timeline_omitted": 0,
        }

    runs = {
        run.idx: run
        for run in TaskRun.objects.filter(chain_id=deal.chain_id, dealid=dealid).prefetch_related(
            "replicates"
        )
    }
    chain_tasks = {task.idx: task for task in deal.task_rows}
    reveal_times = _reveal_times(deal)
    tasks = [
        _task(
            deal,
            chain_tasks.get(idx),
            runs.get(idx),
            logs=logs,
            now=now,
            reveal_times=reveal_times,
        )
        for idx in sorted(chain_tasks.keys() | runs.keys())
    ]

    counts = {"completed": 0, "failed": 0, "running": 0, "claimable": 0, "abandoned": 0}
    for task in tasks:
        if task["status"] in ("completed", "failed", "claimable", "abandoned"):
            counts[task["status"]] += 1
        elif task["status"] in ("active", "revealing"):
            counts["running"] += 1
    volume = deal.volume
    counts["waiting"] = max(0, volume - sum(counts.values()))
    # Apart from the statuses above: the tasks the pool gave up, refunded or being refunded.
    counts["given_up"] = sum(1 for task in tasks if task["given_up"])
    # One source for the bar and the percentage: each task adds its own percent to the part of
    # the bar of where it stands (a finished task all of its share, a running one what it did).
    parts = {"completed": 0.0, "failed": 0.0, "running": 0.0}
    for task in tasks:
        parts[_BAR_PARTS.get(task["status"], "running")] += task["percent"]
    percent = sum(parts.values()) / volume if volume else 0.0
    if counts["completed"] + counts["failed"] + counts["abandoned"] < volume:
        percent = min(percent, DEAL_UNFINISHED_CAP)

    events = [_event(deal.start_time, "matched", f"Deal matched: {volume} task{pluralize(volume)}")]
    for task in tasks:
        events += _causal(task.pop("_events"), after=events[0]["_key"][0])
    events.sort(key=lambda event: event["_key"])
    timeline = [
        {name: value for name, value in event.items() if name != "_key"} for event in events
    ]
    omitted = max(0, len(timeline) - TIMELINE_LIMIT)

    final_deadline = selectors.deal_final_deadline(deal)
    status = _deal_status(counts, volume=volume, started=bool(tasks))
    return {
        "dealid": dealid,
        "indexed": True,
        "logs": logs,
        "status": status,
        "status_label": DEAL_STATUS_LABELS[status],
        "percent": round(min(100.0, percent), 1),
        "volume": volume,
        "counts": counts,
        # ECT base units given back to the payer's escrow: the price of every failed task.
        "refunded": sum(task["refund"] or 0 for task in tasks),
        "shares": {
            name: round(part / volume, 2) if volume else 0.0 for name, part in parts.items()
        },
        "deal": {
            "requester": deal.requester,
            "beneficiary": deal.beneficiary,
            "app": deal.app,
            "dataset": deal.dataset,
            "workerpool": deal.workerpool,
            "workerpool_owner": deal.workerpool_owner,
            "category": deal.category,
            "trust": deal.trust,
            "tx_hash": deal.tx_hash,
            "start_time": deal.start_time,
            "final_deadline": final_deadline,
            "block_number": deal.block_number,
        },
        "tasks": tasks,
        "timeline": timeline[omitted:],
        "timeline_omitted": omitted,
    }


def deal_summaries(deals: list[Deal], *, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Where each of `deals` (of one chain) stands, for lists of deals, by dealid: "status" and
    "status_label" as their snapshots say, and "results" (the taskids of their completed tasks
    with a result, by index). Two queries whatever their number."""
    now = now or timezone.now()
    if not deals:
        return {}
    chain_id, dealids = deals[0].chain_id, [deal.dealid for deal in deals]
    tasks: dict[str, dict[int, Task]] = {dealid: {} for dealid in dealids}
    for task in Task.objects.filter(chain_id=chain_id, dealid__in=dealids).only(
        "dealid", "idx", "taskid", "status", "final_deadline", "result_digest"
    ):
        tasks[task.dealid][task.idx] = task
    runs: dict[str, dict[int, str]] = {dealid: {} for dealid in dealids}
    for dealid, idx, status in TaskRun.objects.filter(
        chain_id=chain_id, dealid__in=dealids
    ).values_list("dealid", "idx", "status"):
        runs[dealid][idx] = status
    summaries = {}
    for deal in deals:
        chain_tasks, run_statuses = tasks[deal.dealid], runs[deal.dealid]
        counts = {"completed": 0, "failed": 0, "running": 0, "claimable": 0, "abandoned": 0}
        results = []
        for idx in sorted(chain_tasks.keys() | run_statuses.keys()):
            task = chain_tasks.get(idx)
            status = _task_status(task, run_statuses.get(idx, ""), now=now)
            if status in counts:
                counts[status] += 1
            elif status in ("active", "revealing"):
                counts["running"] += 1
            if status == "completed" and task.result_digest:
                results.append(task.taskid)
        counts["waiting"] = max(0, deal.volume - sum(counts.values()))
        status = _deal_status(counts, volume=deal.volume, started=bool(chain_tasks or run_statuses))
        summaries[deal.dealid] = {
            "status": status,
            "status_label": DEAL_STATUS_LABELS[status],
            "results": results,
        }
    return summaries


def task_snapshot(snapshot: dict[str, Any], idx: int) -> dict[str, Any]:
    """The part of a deal's snapshot about its task `idx`: "task" (its row, None when the deal
    has no such task yet) and the timeline's events of that task and of the deal."""
    row = next((task for task in snapshot.get("tasks", []) if task["idx"] == idx), None)
    return {
        **snapshot,
        "idx": idx,
        "task": row,
        "tasks": [row] if row is not None else [],
        "timeline": [e for e in snapshot.get("timeline", []) if e["task"] in (None, idx)],
        "timeline_omitted": 0,
    }


def _deal_status(counts: dict[str, int], *, volume: int, started: bool) -> str:
    finished = counts["completed"] + counts["failed"]
    if volume and finished >= volume:
        if not counts["failed"]:
            return "completed"
        return "failed" if not counts["completed"] else "finished"
    if counts["claimable"]:
        return "claimable"
    if counts["abandoned"] and not counts["running"] and not counts["waiting"]:
        return "abandoned"
    return "running" if started else "matched"


def _reveal_times(deal: Deal) -> dict[int, datetime.datetime]:
    """Block times of the blocks where the deal's contributions were last changed, for those
    still marked revealed (their block is the reveal's); one query, none when there are none."""
    blocks = {
        contribution.block_number
        for task in deal.task_rows
        for contribution in task.contribution_rows
        if contribution.status == ContributionStatus.REVEALED
    }
    if not blocks:
        return {}
    rows = (
        ChainEvent.objects.filter(chain_id=deal.chain_id, block_number__in=blocks)
        .values_list("block_number", "block_time")
        .distinct()
    )
    return {number: time for number, time in rows if time is not None}


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


# A task's events by the clock that dates them: the chain's blocks, or the site's.
_CHAIN_KINDS = frozenset(
    ("initialized", "contributed", "consensus", "revealed", "finalized", "failed", "claimable")
)


def _causal(events: list[dict[str, Any]], *, after: datetime.datetime) -> list[dict[str, Any]]:
    """A task's events placed in time order, and never before what caused them.

    Their times come from two clocks, the chain's (blocks) and the site's (assignments,
    heartbeats, failures). Events of one clock are placed at their own second: that order is
    right. Across the two, where the clocks disagree (a dev chain moved in time, a node whose
    clock drifts) an event is placed no earlier than its cause: a worker's assignment after
    the task's initialization, a worker's contribution after its assignment (after its run,
    when the chain's clock is behind), the chain's later steps after that contribution, and
    a task's failure on chain after the scheduler stopped it (its give-up refunds at once).
    The time shown stays the event's own; with the clocks in step, as in production, each
    event is placed at its own second and the timeline reads in time order."""

    def second(event: dict[str, Any]) -> datetime.datetime:
        return max(after, event["_key"][0])

    def own_order(event: dict[str, Any]) -> tuple:
        return (event["_key"][0], _EVENT_ORDER[event["kind"]], event["_key"][3])

    placed: dict[int, datetime.datetime] = {}
    chain = sorted((e for e in events if e["kind"] in _CHAIN_KINDS), key=own_order)
    site = sorted((e for e in events if e["kind"] not in _CHAIN_KINDS), key=own_order)
    initialized = next((e for e in chain if e["kind"] == "initialized"), None)
    start = second(initialized) if initialized is not None else after
    if initialized is not None:
        placed[id(initialized)] = start

    # Per worker: when it was assigned, and its last step of the run before a contribution.
    assigned: dict[str, datetime.datetime] = {}
    worked: dict[str, datetime.datetime] = {}
    latest = start
    for event in site:
        latest = max(latest, second(event))
        placed[id(event)] = latest
        if event["kind"] == "assigned":
            assigned[event["worker"]] = latest
        if event["kind"] in ("assigned", "running", "uploaded"):
            worked[event["worker"]] = latest

    stopped = max((placed[id(e)] for e in site if e["kind"] == "stopped"), default=None)
    latest = start
    for event in chain:
        if event is initialized:
            continue
        latest = max(latest, second(event))
        if event["kind"] == "failed" and stopped is not None:
            latest = max(latest, stopped)
        worker = event["worker"]
        if event["kind"] == "contributed" and worker in assigned and latest < assigned[worker]:
            # The chain's clock is behind the site's: its own time says nothing of where the
            # contribution falls in the worker's run, which it ends.
            latest = worked[worker]
        placed[id(event)] = latest

    for event in events:
        event["_key"] = (placed[id(event)], *event["_key"][1:])
    return events


def _event(
    at: datetime.datetime | None,
    kind: str,
    label: str,
    *,
    task: int | None = None,
    worker: str = "",
    sort_at: datetime.datetime | None = None,
) -> dict[str, Any]:
    """A timeline entry; `sort_at` places one whose time is unknown (`at` None).

    Entries are ordered by the second: block times have no finer grain, so that within a
    second the order of a task's life decides (the site's assignment before the chain's
    contribution of the same second)."""
    when = at or sort_at or datetime.datetime.max.replace(tzinfo=datetime.UTC)
    return {
        "at": at,
        "kind": kind,
        "label": label,
        "task": task,
        "worker": worker,
        "_key": (
            when.replace(microsecond=0),
            _EVENT_ORDER[kind],
            -1 if task is None else task,
            when,
            worker,
        ),
    }


def _replicate(replicate: Replicate, *, logs: bool) -> dict[str, Any]:
    done = replicate.status in _DONE_REPLICATES
    row = {
        "worker": replicate.worker,
        "status": replicate.status,
        "status_label": replicate.get_status_display(),
        "percent": 100.0 if done else round(replicate.percent, 1),
        "assigned_at": replicate.created_at,
        "heartbeat_at": replicate.heartbeat_at,
    }
    if logs:
        row["message"] = replicate.message
        row["failure"] = replicate.failure
        # What the app said when it failed: the buyer's data, so only for those who see logs.
        row["exit_code"] = replicate.exit_code
        row["stderr_tail"] = replicate.stderr_tail
        # The short form (the deal page's): the last line the app wrote to stderr.
        row["stderr_last_line"] = replicate.stderr_tail.rsplit("\n", 1)[-1][-STDERR_LINE_CHARS:]
    return row


def _task_percent(task: Task | None, run: TaskRun | None, replicates: list[dict]) -> float:
    """100 once the chain finished the task; 99 once consensus is reached (revealing and
    finalizing are left); otherwise the mean progress of the replicates the task needs (the
    furthest live ones), capped at 99."""
    if task is not None and task.status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        return 100.0
    if task is not None and task.status == TaskStatus.REVEALING:
        return UNFINISHED_CAP
    if run is None:
        return 0.0
    wanted = max(1, run.replicates_wanted)
    live = sorted(
        (row["percent"] for row in replicates if row["status"] in LIVE_REPLICATES), reverse=True
    )[:wanted]
    return round(min(UNFINISHED_CAP, sum(live) / wanted), 1)


def _task_status(task: Task | None, run_status: str, *, now: datetime.datetime) -> str:
    """Where a task stands: the chain's record (None before it is initialized) read with the
    scheduler's run status ("" for a pool the site does not schedule)."""
    finished = task is not None and task.status in (TaskStatus.COMPLETED, TaskStatus.FAILED)
    if (
        task is not None
        and not finished
        and task.final_deadline is not None
        and task.final_deadline <= now
    ):
        return "claimable"
    if run_status == RunStatus.ABANDONED and (task is None or task.status == TaskStatus.ACTIVE):
        return "abandoned"
    if task is not None:
        return task.status
    if run_status == RunStatus.FAILED:
        return "failed"
    return "pending"


def _task(
    deal: Deal,
    task: Task | None,
    run: TaskRun | None,
    *,
    logs: bool,
    now: datetime.datetime,
    reveal_times: dict[int, datetime.datetime],
) -> dict[str, Any]:
    """One task of the deal: the chain's record (None before it is initialized) merged with the
    site's (None for a pool the site does not schedule)."""
    replicate_rows = list(run.replicates.all()) if run is not None else []
    replicates = [_replicate(replicate, logs=logs) for replicate in replicate_rows]
    idx = task.idx if task is not None else run.idx
    status = _task_status(task, run.status if run is not None else "", now=now)
    consensus_at = None
    if task is not None and task.consensus and task.reveal_deadline is not None:
        # The indexer sets the reveal deadline to the consensus's block time + 2 reference times.
        consensus_at = task.reveal_deadline - datetime.timedelta(seconds=2 * deal.time_ref)
    contributions = task.contribution_rows if task is not None else []
    # Stopped for good, a given-up task has had its share of the deal, as a failed one has.
    percent = 100.0 if status == "abandoned" else _task_percent(task, run, replicates)
    if percent < 100:
        # Until the chain finishes the task, none of its workers shows more than the task does
        # (a worker whose run is done still waits for the consensus).
        for replicate in replicates:
            replicate["percent"] = min(replicate["percent"], UNFINISHED_CAP)
    failed = task is not None and task.status == TaskStatus.FAILED
    given_up = (failed and task.given_up) or status == "abandoned"
    label = TASK_STATUS_LABELS[("given_up" if given_up else "refunded") if failed else status]
    row = {
        "idx": idx,
        "taskid": task.taskid if task is not None else run.taskid,
        "status": status,
        "status_label": label,
        "chain_status": task.status if task is not None else "",
        # Given up by the pool: refunded at once (failed on chain) or being refunded.
        "given_up": given_up,
        # ECT base units the chain gave back to the payer for this task (None: not refunded).
        "refund": deal.task_price if failed else None,
        "percent": percent,
        "initialized_at": task.initialized_at if task is not None else None,
        "contribution_deadline": task.contribution_deadline if task is not None else None,
        "reveal_deadline": task.reveal_deadline if task is not None else None,
        "final_deadline": task.final_deadline if task is not None else None,
        "finished_at": task.finished_at if task is not None else None,
        "consensus": task.consensus if task is not None else "",
        "consensus_at": consensus_at,
        "result_digest": task.result_digest if task is not None else "",
        "results": task.results if task is not None else "",
        "contribution_count": task.contributions if task is not None else 0,
        "reveals": task.reveals if task is not None else 0,
        "contributions": [
            {
                "worker": contribution.worker,
                "status": contribution.status,
                "status_label": contribution.get_status_display(),
                "at": contribution.contributed_at,
            }
            for contribution in contributions
        ],
        "replicates_wanted": run.replicates_wanted if run is not None else None,
        "replicates": replicates,
    }
    if logs:
        row["failure"] = run.failure if run is not None else ""
    row["_events"] = _task_events(
        row, task, replicate_rows, contributions, logs=logs, reveal_times=reveal_times
    )
    if run is not None and run.failure and run.status in (RunStatus.ABANDONED, RunStatus.FAILED):
        because = f": {run.failure}" if logs else " by its scheduler"
        row["_events"].append(
            _event(
                run.stopped_at or run.updated_at,
                "stopped",
                f"Task #{idx} stopped{because}",
                task=idx,
            )
        )
    return row


def _task_events(
    row: dict[str, Any],
    task: Task | None,
    replicates: list[Replicate],
    contributions: list[Contribution],
    *,
    logs: bool,
    reveal_times: dict[int, datetime.datetime],
) -> list[dict[str, Any]]:
    idx = row["idx"]
    name = f"Task #{idx}"
    events = []

    def shown(percent: float) -> float:
        # As the task's rows show it: no more than the task until the chain finishes it.
        return percent if row["percent"] >= 100 else min(percent, UNFINISHED_CAP)

    if row["initialized_at"]:
        events.append(
            _event(row["initialized_at"], "initialized", f"{name} initialized on chain", task=idx)
        )
    for replicate in replicates:
        worker, short = replicate.worker, _short(replicate.worker)
        events.append(
            _event(
                replicate.created_at,
                "assigned",
                f"{name}: worker {short} assigned",
                task=idx,
                worker=worker,
            )
        )
        if replicate.heartbeat_at:
            events.append(
                _event(
                    replicate.heartbeat_at,
                    "running",
                    f"{name}: worker {short} running, {round(shown(replicate.percent))} %",
                    task=idx,
                    worker=worker,
                )
            )
        if replicate.status == ReplicateStatus.UPLOADED:
            events.append(
                _event(
                    replicate.updated_at,
                    "uploaded",
                    f"{name}: worker {short} uploaded its result",
                    task=idx,
                    worker=worker,
                )
            )
        elif replicate.status in (ReplicateStatus.FAILED, ReplicateStatus.EXPIRED):
            what = "failed" if replicate.status == ReplicateStatus.FAILED else "went silent"
            because = f": {replicate.failure}" if logs and replicate.failure else ""
            events.append(
                _event(
                    replicate.updated_at,
                    "replicate_failed",
                    f"{name}: worker {short} {what}{because}",
                    task=idx,
                    worker=worker,
                )
            )
    for contribution in contributions:
        short = _short(contribution.worker)
        if contribution.contributed_at:
            events.append(
                _event(
                    contribution.contributed_at,
                    "contributed",
                    f"{name}: worker {short} contributed",
                    task=idx,
                    worker=contribution.worker,
                )
            )
        if contribution.status in _CONTRIBUTION_REVEALED:
            # Finalizing rewrites the contribution (accurate), and its reveal's block with it.
            at = (
                reveal_times.get(contribution.block_number)
                if contribution.status == ContributionStatus.REVEALED
                else None
            )
            events.append(
                _event(
                    at,
                    "revealed",
                    f"{name}: worker {short} revealed",
                    task=idx,
                    worker=contribution.worker,
                    sort_at=row["finished_at"],
                )
            )
    if row["consensus_at"]:
        events.append(_event(row["consensus_at"], "consensus", f"{name}: consensus", task=idx))
    if task is not None and task.finished_at:
        if task.status == TaskStatus.COMPLETED:
            events.append(_event(task.finished_at, "finalized", f"{name} finalized", task=idx))
        else:
            how = "given up by the pool" if task.given_up else "claimed"
            events.append(
                _event(
                    task.finished_at,
                    "failed",
                    f"{name} failed: {how}, the payer refunded",
                    task=idx,
                )
            )
    if row["status"] == "claimable":
        events.append(
            _event(
                row["final_deadline"],
                "claimable",
                f"{name} passed its final deadline: anyone can claim the refund",
                task=idx,
            )
        )
    return events


def snapshot_json(snapshot: dict[str, Any]) -> Any:
    """`snapshot` as JSON values (times as ISO 8601 text)."""
    return json.loads(json.dumps(snapshot, cls=DjangoJSONEncoder))
