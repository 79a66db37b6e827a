"""Price history from the indexed deals: the prices deals were matched at, per hour or per day,
of one app, dataset or pool, or of the pools of one category market-wide.

An app's price in a deal is its `app_price`, a dataset's its `dataset_price`, a pool's its
`workerpool_price`; market-wide, a category's price is the pools' price of its deals. A pool's
prices depend on the category (an XL task costs more than an XS one), so a pool's history is
always of one category.

Each bucket (an hour or a UTC day, by the deal's `start_time`) says the median, lowest and
highest price and how many deals and tasks were matched. The median is over tasks: the price
half of the tasks were bought at or below (the lower one when they split evenly), so that one
deal of 1,000 tasks weighs more than one of a single task, and it is always a price someone
paid. A read covers a bounded window (at most MAX_SPAN of its bucket).

What a window reads is its read model, the price levels (PriceLevel: the deals and tasks matched
at each price in each hour and each day, of each asset and of each category market-wide),
derived from the deals by the indexer's follower (PriceLevelFollower) again for the buckets a
batch touched, and all of them again when a reorganization was taken back. A history then reads
a few rows per bucket however many deals a hot asset has; only a window ending within a bucket
reads that last part of a bucket from the deals themselves, off their index by asset (or
category) and start time. The medians are taken here over those rows.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections.abc import Iterable

from django.db import connection
from django.db.models import CharField, Count, F, Func, IntegerField, QuerySet, Sum, Value
from django.db.models.functions import Trunc
from django.utils.dateparse import parse_date, parse_datetime

from marketplace.errors import AppError
from marketplace.indexer.followers import IndexedBatch
from marketplace.indexer.models import Deal, Market, OrderKind, PriceLevel
from marketplace.prepared import Prepared

UTC = datetime.UTC
HOUR, DAY = "hour", "day"
BUCKETS = (HOUR, DAY)
BUCKET_LENGTH = {HOUR: datetime.timedelta(hours=1), DAY: datetime.timedelta(days=1)}
# The window shown unless another is asked for, and the longest one may ask.
DEFAULT_WINDOW = {HOUR: datetime.timedelta(hours=48), DAY: datetime.timedelta(days=30)}
MAX_SPAN = {HOUR: datetime.timedelta(days=14), DAY: datetime.timedelta(days=366)}
# The times a window may name: from the year Ethereum began to as late as anyone will ask.
EARLIEST = datetime.datetime(2015, 1, 1, tzinfo=UTC)
LATEST = datetime.datetime(2999, 12, 31, tzinfo=UTC)
# The deal field naming an asset of each market, and the field of its price.
_ROLE = {market: str(Market(market).order_kind) for market in Market.values}


class PricesRefused(AppError):
    """A price history asked with a bucket or window it cannot have: says what is allowed."""


@dataclasses.dataclass(frozen=True)
class Window:
    """[since, until) cut in buckets of `bucket`: `since` is a bucket's start."""

    bucket: str
    since: datetime.datetime
    until: datetime.datetime

    @property
    def step(self) -> datetime.timedelta:
        return BUCKET_LENGTH[self.bucket]


@dataclasses.dataclass(frozen=True)
class PricePoint:
    """The deals matched in one bucket (`start`, UTC): their median, lowest and highest price
    per task (ECT base units), how many deals and how many tasks."""

    start: datetime.datetime
    median: int
    low: int
    high: int
    deals: int
    tasks: int


@dataclasses.dataclass(frozen=True)
class PriceSeries:
    """The buckets of `window` in which deals were matched, oldest first (none: no trade)."""

    window: Window
    points: list[PricePoint]

    @property
    def deals(self) -> int:
        return sum(point.deals for point in self.points)

    @property
    def tasks(self) -> int:
        return sum(point.tasks for point in self.points)


def _floor(moment: datetime.datetime, bucket: str) -> datetime.datetime:
    moment = moment.astimezone(UTC)
    if bucket == DAY:
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def _moment(value: str, *, field: str) -> datetime.datetime:
    """A date (its midnight, UTC) or a time (UTC when it names no zone) given as text."""
    try:
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is not None:
                moment = datetime.datetime.combine(day, datetime.time(), tzinfo=UTC)
    except ValueError:  # well formed, but no such date (2025-02-30)
        moment = None
    if moment is None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise PricesRefused(
            f"{field} must be a date (2025-03-01) or a time (2025-03-01T12:00:00Z), not {shown!r}.",
            field=field,
        )
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first day there is
        in_utc = None
    # Windows are widened and stepped back by days: the years near the calendar's ends have
    # no room for it, and no chain holds trades from before its own time anyway.
    if in_utc is None or not EARLIEST <= in_utc <= LATEST:
        raise PricesRefused(
            f"{field} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.", field=field
        )
    return moment


def price_window(
    *,
    bucket: str = DAY,
    since: str | datetime.datetime | None = None,
    until: str | datetime.datetime | None = None,
    now: datetime.datetime,
) -> Window:
    """The window of a price history: from `since` (default DEFAULT_WINDOW before `until`),
    moved back to its bucket's start, to `until` (default `now`, or MAX_SPAN after `since`
    when that is sooner). PricesRefused for an unknown bucket, a time that does not parse,
    `since` not before `until`, or a window longer than MAX_SPAN of its bucket."""
    if bucket not in BUCKETS:
        raise PricesRefused(
            f"bucket must be one of {', '.join(BUCKETS)}, not {bucket[:40]!r}.", field="bucket"
        )
    start = _moment(since, field="since") if isinstance(since, str) else since
    end = _moment(until, field="until") if isinstance(until, str) else until
    if end is None:  # now, or as far as a window goes from `since` when that is sooner
        end = now if start is None else min(now, _floor(start, bucket) + MAX_SPAN[bucket])
    start = _floor(start if start is not None else end - DEFAULT_WINDOW[bucket], bucket)
    if start >= end:
        raise PricesRefused(
            f"since ({start:%Y-%m-%d %H:%M} UTC, the start of its {bucket}) must be before "
            f"until ({end:%Y-%m-%d %H:%M} UTC).",
            field="since",
        )
    if end - start > MAX_SPAN[bucket]:
        raise PricesRefused(
            f"A history by {bucket} covers {MAX_SPAN[bucket].days} days at most: bring since "
            f"and until closer{'' if bucket == DAY else ', or ask by day'}.",
            field="since",
        )
    return Window(bucket=bucket, since=start, until=end.astimezone(UTC))


def _points(rows: Iterable[tuple[datetime.datetime | str, int, int, int]]) -> list[PricePoint]:
    """Points from (bucket, price, deals, tasks) rows, one per bucket."""
    by_bucket: dict[datetime.datetime, list[tuple[int, int, int]]] = {}
    for start, price, deals, tasks in rows:
        if isinstance(start, str):  # SQLite's text, in UTC
            start = datetime.datetime.fromisoformat(start).replace(tzinfo=UTC)
        by_bucket.setdefault(start.astimezone(UTC), []).append((int(price), deals, tasks))
    points = []
    for start, prices in sorted(by_bucket.items()):
        prices.sort()
        total = sum(tasks for _, _, tasks in prices)
        # The lower median over tasks: the first price at which half of them are counted.
        counted, median = 0, prices[-1][0]
        for price, _, tasks in prices:
            counted += tasks
            if 2 * counted >= total:
                median = price
                break
        points.append(
            PricePoint(
                start=start,
                median=median,
                low=prices[0][0],
                high=prices[-1][0],
                deals=sum(deals for _, deals, _ in prices),
                tasks=total,
            )
        )
    return points


class _SQLiteBucket(Func):
    """The start of a deal's bucket as SQLite's own strftime writes it ("2025-03-01 14:00:00",
    UTC as Django stores times there): Django's Trunc calls a Python function per row on
    SQLite, which a hot asset's thousands of deals a month make slow."""

    function = "strftime"
    output_field = CharField()

    def __init__(self, expression: str, bucket: str) -> None:
        hour = "00" if bucket == DAY else "%H"
        super().__init__(Value(f"%Y-%m-%d {hour}:00:00"), expression)


def _bucket(bucket: str) -> Func:
    if connection.vendor == "sqlite":
        return _SQLiteBucket("start_time", bucket)
    return Trunc("start_time", bucket, tzinfo=UTC)


def _series_rows(bucket: str, price_field: str, since, until, **match: object) -> QuerySet:
    """(bucket start, price, deals, tasks) of the deals in [since, until), from the deals."""
    return (
        Deal.objects.filter(start_time__gte=since, start_time__lt=until, **match)
        .annotate(bucket=_bucket(bucket))
        .values("bucket", price_field)
        .annotate(deals=Count("*"), tasks=Sum("volume"))
        .order_by()
        .values_list("bucket", price_field, "deals", "tasks")
    )


# A price level's category when its part is an app's or a dataset's (their prices are of any).
ANY_CATEGORY = -1

# Every listing page reads a series: prepared (marketplace.prepared). Its whole buckets come
# from the levels (one shape), the part of a bucket a window ends within from the deals (one
# query per bucket, price and the fields matched).
_LEVELS = Prepared(
    lambda since, until, **level: PriceLevel.objects.filter(
        start__gte=since, start__lt=until, **level
    )
    .order_by()
    .values_list("start", "price", "deals", "tasks")
)
_SERIES: dict[tuple[str, str, tuple[str, ...]], Prepared] = {}


def _series(
    window: Window, price_field: str, *, level: dict[str, object], **match: object
) -> PriceSeries:
    """The series of `window`: its whole buckets' levels (`level`: what names them), and the
    deals (`match`) of the bucket it ends within, from that bucket's start to the window's
    end."""
    last = _floor(window.until, window.bucket)
    found = list(
        _LEVELS(since=window.since, until=last, bucket=window.bucket, **level)
        if last > window.since
        else ()
    )
    ending = max(last, window.since)
    if ending < window.until:
        shape = (window.bucket, price_field, tuple(sorted(match)))
        rows = _SERIES.get(shape)
        if rows is None:
            rows = _SERIES[shape] = Prepared(functools.partial(_series_rows, *shape[:2]))
        found += rows(since=ending, until=window.until, **match)
    return PriceSeries(window=window, points=_points(found))


def asset_price_series(
    *, chain_id: int, kind: str, address: str, window: Window, category: int | None = None
) -> PriceSeries:
    """The prices the asset of market `kind` (app, dataset, pool) at `address` (checksummed,
    as the index keeps it) was matched at. A pool's are of `category` only (required)."""
    role = _ROLE[kind]
    match: dict[str, object] = {"chain_id": chain_id, role: address}
    level: dict[str, object] = {
        "chain_id": chain_id,
        "role": role,
        "asset": address,
        "category": ANY_CATEGORY,
    }
    if role == OrderKind.WORKERPOOL:
        if category is None:
            raise ValueError("a pool's prices are of one category: give the category")
        match["category"] = level["category"] = category
    return _series(window, f"{role}_price", level=level, **match)


def category_price_series(*, chain_id: int, category: int, window: Window) -> PriceSeries:
    """The prices pools were matched at for tasks of `category`, market-wide."""
    level = {"chain_id": chain_id, "role": _ROLE[Market.POOL], "asset": "", "category": category}
    return _series(window, "workerpool_price", level=level, chain_id=chain_id, category=category)


# ------------------------------------------------------------------------- the price levels
#
# Derived from the deals in SQL (INSERT ... SELECT): each part's levels, per hour and per day,
# and the pools' of each category market-wide.

_LEVEL_COLUMNS = (
    "chain_id",
    "role",
    "asset",
    "category",
    "bucket",
    "start",
    "price",
    "deals",
    "tasks",
)


# What names a level besides its chain and price, as _level_rows annotates the deals with it.
_LEVEL_KEY = ("level_role", "level_asset", "level_category", "level_bucket", "level_start")


def _level_rows(deals: QuerySet, role: str, bucket: str, *, market_wide: bool) -> QuerySet:
    """The levels of `deals` for the part `role` by `bucket` (market-wide: of the pools of
    each category), in the columns of _LEVEL_COLUMNS."""
    pool = role == OrderKind.WORKERPOOL
    return (
        deals.annotate(
            level_role=Value(role, output_field=CharField()),
            level_asset=Value("", output_field=CharField()) if market_wide else F(role),
            level_category=F("category")
            if pool
            else Value(ANY_CATEGORY, output_field=IntegerField()),
            level_bucket=Value(bucket, output_field=CharField()),
            level_start=_bucket(bucket),
        )
        .values(*(group := ("chain_id", *_LEVEL_KEY, f"{role}_price")))
        .annotate(level_deals=Count("*"), level_tasks=Sum("volume"))
        .order_by()
        .values_list(*group, "level_deals", "level_tasks")
    )


def _insert_levels(rows: QuerySet, table: str) -> None:
    sql, params = rows.query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(column) for column in _LEVEL_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) {sql}", params)


def _derive(deals: QuerySet, levels: QuerySet, bucket: str, parts: dict[str, object]) -> None:
    """Replace the `levels` of `bucket` (narrowed to a window, or not) by those of `deals`: for
    each role of `parts` those of its assets, and market-wide those of the categories of
    `parts["market"]`. A part given None is every one of it, whose levels the caller cleared."""
    table = levels.model._meta.db_table
    levels = levels.filter(bucket=bucket)
    for role in (OrderKind.APP, OrderKind.DATASET, OrderKind.WORKERPOOL):
        if role not in parts:
            continue
        of_role = deals.exclude(**{role: ""}) if role == OrderKind.DATASET else deals
        if (assets := parts[role]) is not None:
            of_role = of_role.filter(**{f"{role}__in": assets})
            levels.filter(role=role, asset__in=assets).delete()
        _insert_levels(_level_rows(of_role, role, bucket, market_wide=False), table)
    if "market" in parts:
        of_market = deals
        if (categories := parts["market"]) is not None:
            of_market = deals.filter(category__in=categories)
            levels.filter(role=OrderKind.WORKERPOOL, asset="", category__in=categories).delete()
        _insert_levels(
            _level_rows(of_market, OrderKind.WORKERPOOL, bucket, market_wide=True), table
        )


def derive_all_price_levels(deals: QuerySet, levels: QuerySet) -> None:
    """Every level of `deals` (one chain's, or all of them), replacing `levels`."""
    levels.delete()
    every = dict.fromkeys((OrderKind.APP, OrderKind.DATASET, OrderKind.WORKERPOOL, "market"))
    for bucket in BUCKETS:
        _derive(deals, levels, bucket, every)


def price_levels_refresh(*, chain_id: int, dealids: Iterable[str] | None) -> None:
    """Derive `chain_id`'s price levels again: all of them (`dealids` None), or those of the
    buckets of these deals' app, dataset, pool and category."""
    deals = Deal.objects.filter(chain_id=chain_id)
    levels = PriceLevel.objects.filter(chain_id=chain_id)
    if dealids is None:
        derive_all_price_levels(deals, levels)
        return
    touched = list(
        deals.filter(dealid__in=list(dealids)).values_list(
            "app", "dataset", "workerpool", "category", "start_time"
        )
    )
    if not touched:
        return
    parts = {
        OrderKind.APP: sorted({app for app, *_ in touched}),
        OrderKind.DATASET: sorted({dataset for _, dataset, *_ in touched if dataset}),
        OrderKind.WORKERPOOL: sorted({pool for _, _, pool, *_ in touched}),
        "market": sorted({category for *_, category, _ in touched}),
    }
    first = min(start for *_, start in touched)
    last = max(start for *_, start in touched)
    for bucket in BUCKETS:
        since = _floor(first, bucket)
        until = _floor(last, bucket) + BUCKET_LENGTH[bucket]
        window = {"start_time__gte": since, "start_time__lt": until}
        _derive(
            deals.filter(**window),
            levels.filter(start__gte=since, start__lt=until),
            bucket,
            {part: assets for part, assets in parts.items() if assets},
        )


class PriceLevelFollower:
    """Follows the indexer (marketplace.indexer.followers): the price levels of the buckets a
    batch's deals fall in are derived again, inside the batch's transaction, so that they
    commit (or roll back) with the deals."""

    in_transaction = True

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything:
            price_levels_refresh(chain_id=batch.chain_id, dealids=None)
        elif batch.dealids:
            price_levels_refresh(chain_id=batch.chain_id, dealids=batch.dealids)
