"""A pool's reliability record: how its tasks went on chain, from the index alone (tasks,
their deals, contributions, workers and the stakes the Hub seized), never from what the pool
or this site says of itself.

The record is derived by the pools' indexer follower (pools.followers) for the pools a batch
touched, inside the batch's transaction: a reorganization that takes the batch back takes the
record back with it. Pages read it as stored, adding what ages with the clock (the last 7 and 30
days, summed from its per-day counts when read) and what other pools' tasks change (the
workers' scores, read live), so that neither goes stale between batches.

The reliability figure (0 to 1000), over the pool's latest RECORD_TASKS ended tasks:

    reliability = 1000 * W * T
    W = lower bound of the 95 % Wilson interval of the share finalized among ended tasks
    T = share of the finalized ones that finished within their category's reference time

W rewards a long record over a short perfect one (3 of 3 finalized is W = 0.44, 300 of 300 is
W = 0.99); T weighs speed as the Hub's categories promise it. A task ends when it is finalized
or failed (given up by its scheduler, or claimed by its buyer after the final deadline); its
time runs from its deal's start, as the Hub's deadlines do. A pool with no ended task has no
figure ("no record yet"), which is not a figure of zero.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from marketplace.indexer.models import (
    Contribution,
    ContributionStatus,
    Deal,
    Task,
    TaskStatus,
    Worker,
    WorkerBond,
    reputation,
)
from marketplace.indexer.selectors import indexed_categories
from marketplace.matchmaking.choice import duration
from marketplace.prepared import Prepared
from pools.models import PoolRecord

# The tasks the times, the share in time and the reliability figure are taken over: recent
# enough to say how the pool works now, many enough to say it with some confidence.
RECORD_TASKS = 500
# The workers a record keeps, the most active first (all are counted in workers_seen).
WORKERS_KEPT = 20
WINDOWS_DAYS = (7, 30)
TIMES = "\N{MULTIPLICATION SIGN}"
_ENDED = (TaskStatus.COMPLETED, TaskStatus.FAILED)


def reliability(*, ended: int, finalized: int, in_time: int) -> int | None:
    """The figure of the module's docstring: 1000 * W * T, W taken in thousandths as
    indexer.models.reputation rounds it. None: nothing ended."""
    if ended == 0:
        return None
    if finalized == 0:
        return 0
    return round(reputation(finalized, ended - finalized) * in_time / finalized)


def _percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted `values` (the value below which `share` of them
    lie): p50 of 1..10 is 5, p95 is 10."""
    return values[max(0, math.ceil(share * len(values)) - 1)]


def _median(values: list[float]) -> float:
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


# ---------------------------------------------------------------------- derivation


def _days(chain_id: int, workerpool: str) -> tuple[dict[str, list[int]], Counter[str]]:
    """Ended tasks per UTC day ({day: [finalized, given up, claimed]}) and in all."""
    rows = (
        Task.objects.filter(
            chain_id=chain_id, workerpool=workerpool, status__in=_ENDED, finished_at__isnull=False
        )
        .annotate(day=TruncDate("finished_at", tzinfo=datetime.UTC))
        .values_list("day", "status", "given_up")
        .annotate(n=Count("id"))
    )
    days: dict[str, list[int]] = {}
    totals: Counter[str] = Counter()
    for day, status, given_up, n in rows:
        column = 0 if status == TaskStatus.COMPLETED else 1 if given_up else 2
        name = ("finalized", "given_up", "claimed")[column]
        days.setdefault(day.isoformat(), [0, 0, 0])[column] += n
        totals[name] += n
    return dict(sorted(days.items())), totals


def _recent(chain_id: int, workerpool: str) -> dict[str, Any]:
    """The reliability's inputs and the times per category, over the latest ended tasks."""
    tasks = list(
        Task.objects.filter(
            chain_id=chain_id, workerpool=workerpool, status__in=_ENDED, finished_at__isnull=False
        )
        .order_by("-finished_at", "-id")
        .values_list("dealid", "status", "finished_at")[:RECORD_TASKS]
    )
    deals = {
        dealid: (start, time_ref, category)
        for dealid, start, time_ref, category in Deal.objects.filter(
            chain_id=chain_id, dealid__in={dealid for dealid, _, _ in tasks}
        ).values_list("dealid", "start_time", "time_ref", "category")
    }
    finalized = in_time = 0
    times: dict[tuple[int, int], list[float]] = defaultdict(list)
    for dealid, status, finished in tasks:
        if status != TaskStatus.COMPLETED:
            continue
        finalized += 1
        deal = deals.get(dealid)
        if deal is None:  # a task whose deal the index lacks: counted, not timed
            continue
        start, time_ref, category = deal
        seconds = max(0.0, (finished - start).total_seconds())
        in_time += seconds <= time_ref
        times[(category, time_ref)].append(seconds)
    categories = []
    for (catid, time_ref), seconds in sorted(times.items()):
        seconds.sort()
        categories.append(
            {
                "catid": catid,
                "time_ref": time_ref,
                "finalized": len(seconds),
                "in_time": sum(1 for s in seconds if s <= time_ref),
                "median": _median(seconds),
                "p95": _percentile(seconds, 0.95),
            }
        )
    return {
        "recent_ended": len(tasks),
        "recent_finalized": finalized,
        "recent_in_time": in_time,
        "reliability": reliability(ended=len(tasks), finalized=finalized, in_time=in_time),
        "categories": categories,
        "last_ended_at": tasks[0][2] if tasks else None,
    }


def _workers(chain_id: int, workerpool: str) -> tuple[int, list[dict[str, Any]]]:
    """How many workers contributed to the pool's tasks, and the most active of them."""
    rows = list(
        Contribution.objects.filter(
            chain_id=chain_id,
            taskid__in=Task.objects.filter(chain_id=chain_id, workerpool=workerpool).values(
                "taskid"
            ),
        )
        .values("worker")
        .annotate(
            contributions=Count("id"),
            accurate=Count("id", filter=Q(status=ContributionStatus.ACCURATE)),
            faulty=Count("id", filter=Q(status=ContributionStatus.FAULTY)),
        )
        .order_by("-contributions", "worker")
    )
    kept = [{"address": row.pop("worker"), **row} for row in rows[:WORKERS_KEPT]]
    return len(rows), kept


def _record_fields(chain_id: int, workerpool: str) -> dict[str, Any] | None:
    """What the record of `workerpool` holds now; None: the index has nothing of it."""
    days, totals = _days(chain_id, workerpool)
    seen, workers = _workers(chain_id, workerpool)
    seized = Task.objects.filter(chain_id=chain_id, workerpool=workerpool).aggregate(
        pool=Sum("pool_stake_seized"), workers=Sum("workers_stake_seized")
    )
    if not days and not seen:
        return None
    return {
        "finalized": totals["finalized"],
        "given_up": totals["given_up"],
        "claimed": totals["claimed"],
        "days": days,
        **_recent(chain_id, workerpool),
        "workers_seen": seen,
        "workers": workers,
        "pool_stake_seized": seized["pool"] or 0,
        "workers_stake_seized": seized["workers"] or 0,
    }


def touched_pools(*, chain_id: int, dealids: Iterable[str]) -> set[str]:
    """The pools of these deals: those whose record a batch that changed them may change."""
    return set(
        Deal.objects.filter(chain_id=chain_id, dealid__in=list(dealids))
        .order_by()
        .values_list("workerpool", flat=True)
        .distinct()
    )


def pool_records_refresh(*, chain_id: int, workerpools: Iterable[str] | None) -> set[str]:
    """Derive again the records of `workerpools` (None: of every pool, dropping the records
    of pools the index no longer has anything of) from the index as it is now; the pools
    whose reliability figure changed (their listings rank by it)."""
    if workerpools is None:
        pools = set(
            Task.objects.filter(chain_id=chain_id)
            .order_by()
            .values_list("workerpool", flat=True)
            .distinct()
        )
        pools |= set(
            PoolRecord.objects.filter(chain_id=chain_id).values_list("workerpool", flat=True)
        )
    else:
        pools = set(workerpools)
    before = dict(
        PoolRecord.objects.filter(chain_id=chain_id, workerpool__in=pools).values_list(
            "workerpool", "reliability"
        )
    )
    changed = set()
    for pool in sorted(pools):
        fields = _record_fields(chain_id, pool)
        if fields is None:
            PoolRecord.objects.filter(chain_id=chain_id, workerpool=pool).delete()
            figure = None
        else:
            PoolRecord.objects.update_or_create(chain_id=chain_id, workerpool=pool, defaults=fields)
            figure = fields["reliability"]
        if before.get(pool) != figure:
            changed.add(pool)
    return changed


# ---------------------------------------------------------------------- reading


def pool_records(*, chain_id: int, workerpools: Iterable[str]) -> dict[str, PoolRecord]:
    """The stored records of these pools, by address (pools without one are left out)."""
    return {
        record.workerpool: record
        for record in PoolRecord.objects.filter(chain_id=chain_id, workerpool__in=set(workerpools))
    }


@dataclasses.dataclass(frozen=True)
class Window:
    """Tasks ended over the last `days` days (None: all time)."""

    days: int | None
    finalized: int
    given_up: int
    claimed: int

    @property
    def failed(self) -> int:
        return self.given_up + self.claimed

    @property
    def ended(self) -> int:
        return self.finalized + self.failed

    @property
    def label(self) -> str:
        return "all time" if self.days is None else f"last {self.days} days"


@dataclasses.dataclass(frozen=True)
class CategoryTimes:
    name: str
    time_ref: int
    finalized: int
    in_time: int
    median: float
    p95: float

    @property
    def in_time_share(self) -> float:
        return self.in_time / self.finalized

    @property
    def median_text(self) -> str:
        return duration(self.median)

    @property
    def p95_text(self) -> str:
        return duration(self.p95)

    @property
    def time_ref_text(self) -> str:
        return duration(self.time_ref)


@dataclasses.dataclass(frozen=True)
class SeenWorker:
    address: str
    score: int  # the Hub's score now, earned in any pool
    contributions: int  # to this pool's tasks
    accurate: int
    faulty: int


@dataclasses.dataclass(frozen=True)
class Reliability:
    """A pool's record as its page and the API show it."""

    workerpool: str
    windows: list[Window]  # the last 7 days, 30 days, all time
    categories: list[CategoryTimes]
    workers_seen: int
    workers: list[SeenWorker]  # the most active, best scored first
    pool_stake_seized: int
    workers_stake_seized: int
    bonds_seized: int
    recent_ended: int
    recent_finalized: int
    recent_in_time: int
    figure: int | None
    last_ended_at: datetime.datetime | None

    @property
    def wilson(self) -> float | None:
        """W of the figure, in thousandths as it was taken."""
        if not self.recent_ended:
            return None
        failed = self.recent_ended - self.recent_finalized
        return reputation(self.recent_finalized, failed) / 1000

    @property
    def in_time_share(self) -> float | None:
        """T of the figure (None before a task was finalized)."""
        return self.recent_in_time / self.recent_finalized if self.recent_finalized else None

    @property
    def formula(self) -> str:
        """The figure with its inputs, in words."""
        if self.figure is None:
            return "No record yet: none of its tasks has ended."
        tasks = f"its latest {self.recent_ended} ended task{'s' if self.recent_ended != 1 else ''}"
        if not self.recent_finalized:
            return f"0: none of {tasks} was finalized."
        return (
            f"1000 {TIMES} W {TIMES} T = 1000 {TIMES} {self.wilson:.3f} {TIMES} "
            f"{self.in_time_share:.3f} = "
            f"{self.figure}, over {tasks}: W is the lower bound of the 95 % Wilson interval "
            f"of {self.recent_finalized} finalized of {self.recent_ended}, T the share of "
            f"those finalized within their category's time ({self.recent_in_time} of "
            f"{self.recent_finalized})."
        )


def _windows(days: dict[str, list[int]], today: datetime.date) -> list[Window]:
    windows = []
    for span in WINDOWS_DAYS:
        since = (today - datetime.timedelta(days=span - 1)).isoformat()
        sums = [0, 0, 0]
        for day, counts in days.items():
            if day >= since:
                sums = [a + b for a, b in zip(sums, counts, strict=True)]
        windows.append(Window(span, *sums))
    return windows


# Every pool's page reads them: prepared (marketplace.prepared).
_record = Prepared(
    lambda chain_id, workerpool: PoolRecord.objects.filter(
        chain_id=chain_id, workerpool=workerpool
    ).order_by("pk")[:1]
)
_scores = Prepared(
    lambda chain_id, addresses: Worker.objects.filter(
        chain_id=chain_id, address__in=addresses
    ).values_list("address", "score")
)
_bonds_seized = Prepared(
    lambda chain_id, workerpool: WorkerBond.objects.filter(chain_id=chain_id, workerpool=workerpool)
    .order_by()
    .values("workerpool")
    .annotate(seized=Sum("seized"))
    .values_list("seized", flat=True)
)


def pool_reliability(
    *, chain_id: int, workerpool: str, now: datetime.datetime | None = None
) -> Reliability | None:
    """The record of `workerpool` as pages show it (None: the index has nothing of it yet),
    its windows counted up to `now`'s UTC day included."""
    found = _record(chain_id=chain_id, workerpool=workerpool)
    if not found:
        return None
    record = found[0]
    today = (now or timezone.now()).astimezone(datetime.UTC).date()
    names = indexed_categories(chain_id=chain_id)
    addresses = tuple(sorted({w["address"] for w in record.workers}))
    scores = dict(_scores(chain_id=chain_id, addresses=addresses)) if addresses else {}
    workers = sorted(
        (SeenWorker(score=scores.get(w["address"], 0), **w) for w in record.workers),
        key=lambda w: (-w.score, -w.contributions, w.address),
    )
    seized = _bonds_seized(chain_id=chain_id, workerpool=workerpool)
    return Reliability(
        workerpool=workerpool,
        windows=[
            *_windows(record.days, today),
            Window(None, record.finalized, record.given_up, record.claimed),
        ],
        categories=[
            CategoryTimes(
                name=names.get(c["catid"], f"category {c['catid']}"),
                time_ref=c["time_ref"],
                finalized=c["finalized"],
                in_time=c["in_time"],
                median=c["median"],
                p95=c["p95"],
            )
            for c in record.categories
        ],
        workers_seen=record.workers_seen,
        workers=workers,
        pool_stake_seized=int(record.pool_stake_seized),
        workers_stake_seized=int(record.workers_stake_seized),
        bonds_seized=int((seized[0] if seized else None) or Decimal(0)),
        recent_ended=record.recent_ended,
        recent_finalized=record.recent_finalized,
        recent_in_time=record.recent_in_time,
        figure=record.reliability,
        last_ended_at=record.last_ended_at,
    )
