"""Price histories from the indexed deals: per hour or per UTC day, the median over tasks, the
lowest and highest price, deals and tasks, of an app, a dataset, a pool in one category, or a
category market-wide; over a window that must be short enough and the right way round."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.chain import client
from marketplace.indexer import prices
from marketplace.indexer.prices import PricePoint, PricesRefused, price_window
from tests.chain_scaffold import ECT, Market
from tests.factories.deals import DealFactory
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)
NOW = datetime.datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
APP = "0x" + "a1" * 20
POOL = "0x" + "b2" * 20


def test_the_default_windows_end_now_and_start_on_a_bucket():
    by_day = price_window(bucket="day", now=NOW)
    assert (by_day.since, by_day.until) == (datetime.datetime(2025, 2, 8, tzinfo=UTC), NOW)
    by_hour = price_window(bucket="hour", now=NOW)
    assert (by_hour.since, by_hour.until) == (datetime.datetime(2025, 3, 8, 15, tzinfo=UTC), NOW)
    assert by_hour.step == HOUR


def test_dates_and_times_are_read_in_utc_unless_they_say_otherwise():
    window = price_window(
        bucket="day", since="2025-03-01", until="2025-03-05T12:00:00+02:00", now=NOW
    )
    assert window.since == datetime.datetime(2025, 3, 1, tzinfo=UTC)
    assert window.until == datetime.datetime(2025, 3, 5, 10, tzinfo=UTC)
    window = price_window(bucket="hour", since="2025-03-09T10:45:00", now=NOW)
    assert (window.since, window.until) == (datetime.datetime(2025, 3, 9, 10, tzinfo=UTC), NOW)


def test_a_window_from_long_ago_ends_where_the_longest_one_would():
    window = price_window(bucket="hour", since="2025-01-01T10:45:00", now=NOW)
    assert (window.since, window.until) == (
        datetime.datetime(2025, 1, 1, 10, tzinfo=UTC),
        datetime.datetime(2025, 1, 15, 10, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("asked", "field", "message"),
    [
        ({"bucket": "week"}, "bucket", "bucket must be one of hour, day, not 'week'."),
        (
            {"since": "yesterday"},
            "since",
            "since must be a date (2025-03-01) or a time (2025-03-01T12:00:00Z), not 'yesterday'.",
        ),
        (
            {"until": "2025-02-30"},
            "until",
            "until must be a date (2025-03-01) or a time (2025-03-01T12:00:00Z), not '2025-02-30'.",
        ),
        (
            {"since": "2025-03-05", "until": "2025-03-01"},
            "since",
            "since (2025-03-05 00:00 UTC, the start of its day) must be before until "
            "(2025-03-01 00:00 UTC).",
        ),
        (
            {"bucket": "hour", "since": "2025-02-01", "until": "2025-03-01"},
            "since",
            "A history by hour covers 14 days at most: bring since and until closer, or ask by "
            "day.",
        ),
        (
            {"since": "2023-01-01", "until": "2025-03-01"},
            "since",
            "A history by day covers 366 days at most: bring since and until closer.",
        ),
        # The calendar's ends: no room to widen or step back a window there.
        ({"since": "9999-12-31"}, "since", "since must be between 2015-01-01 and 2999-12-31."),
        (
            {"since": "9999-12-31T23:00:00-14:00", "bucket": "hour"},
            "since",
            "since must be between 2015-01-01 and 2999-12-31.",
        ),
        ({"until": "0001-01-01"}, "until", "until must be between 2015-01-01 and 2999-12-31."),
        (
            {"until": "0001-01-01T00:00:00+14:00"},
            "until",
            "until must be between 2015-01-01 and 2999-12-31.",
        ),
    ],
)
def test_a_window_it_cannot_have_is_refused_saying_what_it_takes(asked, field, message):
    with pytest.raises(PricesRefused) as refused:
        price_window(now=NOW, **asked)
    assert (str(refused.value), refused.value.field, refused.value.status) == (message, field, 400)


def test_a_day_holds_the_median_over_tasks_and_the_range():
    day = datetime.datetime(2025, 3, 9, tzinfo=UTC)
    for hours, price, volume in ((1, 2, 3), (5, 4, 1), (23, 9, 1)):
        DealFactory(app=APP, app_price=price * ECT, volume=volume, start_time=day + hours * HOUR)
    DealFactory(app=APP, app_price=5 * ECT, start_time=day + DAY + HOUR)
    DealFactory(app=APP, app_price=7 * ECT, start_time=day - 40 * DAY)  # before the window
    DealFactory(app="0x" + "c3" * 20, app_price=ECT, start_time=day)  # another app
    window = price_window(bucket="day", now=NOW)

    series = prices.asset_price_series(
        chain_id=settings.CHAIN_ID, kind="app", address=APP, window=window
    )

    # Tasks at 2, 2, 2, 4, 9: the third is the median.
    assert series.points == [
        PricePoint(start=day, median=2 * ECT, low=2 * ECT, high=9 * ECT, deals=3, tasks=5),
        PricePoint(start=day + DAY, median=5 * ECT, low=5 * ECT, high=5 * ECT, deals=1, tasks=1),
    ]
    assert (series.deals, series.tasks) == (4, 6)


def test_tasks_split_evenly_take_the_lower_middle_price():
    start = datetime.datetime(2025, 3, 10, 14, 5, tzinfo=UTC)
    DealFactory(app=APP, app_price=3, volume=2, start_time=start)
    DealFactory(app=APP, app_price=8, volume=2, start_time=start + datetime.timedelta(minutes=50))
    window = price_window(bucket="hour", now=NOW)

    series = prices.asset_price_series(
        chain_id=settings.CHAIN_ID, kind="app", address=APP, window=window
    )

    assert series.points == [
        PricePoint(start=start.replace(minute=0), median=3, low=3, high=8, deals=2, tasks=4)
    ]


def test_a_pools_history_is_of_one_category_and_the_market_of_all_its_pools():
    day = datetime.datetime(2025, 3, 9, tzinfo=UTC)
    DealFactory(workerpool=POOL, workerpool_price=ECT, category=0, start_time=day)
    DealFactory(workerpool=POOL, workerpool_price=9 * ECT, category=3, start_time=day)
    DealFactory(workerpool_price=3 * ECT, category=0, start_time=day, volume=2)  # another pool
    window = price_window(bucket="day", now=NOW)

    pool = prices.asset_price_series(
        chain_id=settings.CHAIN_ID, kind="pool", address=POOL, window=window, category=0
    )
    market = prices.category_price_series(chain_id=settings.CHAIN_ID, category=0, window=window)

    assert pool.points == [PricePoint(start=day, median=ECT, low=ECT, high=ECT, deals=1, tasks=1)]
    assert market.points == [
        PricePoint(start=day, median=3 * ECT, low=ECT, high=3 * ECT, deals=2, tasks=3)
    ]
    with pytest.raises(ValueError, match="one category"):
        prices.asset_price_series(
            chain_id=settings.CHAIN_ID, kind="pool", address=POOL, window=window
        )


def test_a_window_reads_its_levels_and_only_its_last_part_of_a_bucket_from_the_deals():
    """Whole buckets come off the levels' index; the part of the bucket the window ends within
    (now: today so far) off the deals' price index. Both without a sort or a table read."""
    window = price_window(bucket="day", now=NOW)
    with CaptureQueriesContext(connection) as queries:
        prices.asset_price_series(
            chain_id=settings.CHAIN_ID, kind="app", address=APP, window=window
        )
    assert len(queries) == 2
    if connection.vendor == "sqlite":
        plans = []
        with connection.cursor() as cursor:
            for query in queries:
                cursor.execute(f"EXPLAIN QUERY PLAN {query['sql']}")
                plans.append(" ".join(str(row[-1]) for row in cursor.fetchall()))
        # (SQLite names the unique constraint's index itself.)
        assert "SEARCH deals_pricelevel USING INDEX" in plans[0]
        assert (
            "(chain_id=? AND role=? AND asset=? AND category=? AND bucket=? AND start>?"
            in (plans[0])
        )
        assert "USING COVERING INDEX deal_app_prices" in plans[1]

    on_the_hour = price_window(bucket="hour", now=NOW.replace(minute=0, second=0, microsecond=0))
    with CaptureQueriesContext(connection) as queries:
        prices.asset_price_series(
            chain_id=settings.CHAIN_ID, kind="app", address=APP, window=on_the_hour
        )
    assert len(queries) == 1  # ending on a bucket's start: levels alone


# ---------------------------------------------------------------------- on anvil


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _deal_at(market: Market, timestamp: int, **prices_and_volume) -> None:
    client.rpc("evm_setNextBlockTimestamp", [timestamp], w3=market.w3)
    market.match(market.sign_orders(dataset_price=None, **prices_and_volume))


def test_deals_matched_on_anvil_and_indexed_make_the_series(market, hub_deployment):
    # Given three deals of the market's app and pool: two on one day (01:00 and 01:10 UTC),
    # one the next day
    midnight = (market.now() // 86400 + 1) * 86400
    first_day = datetime.datetime.fromtimestamp(midnight, UTC)
    _deal_at(market, midnight + 3600, app_price=2 * ECT, workerpool_price=ECT, volume=3)
    _deal_at(market, midnight + 4200, app_price=4 * ECT, workerpool_price=ECT, volume=1)
    _deal_at(market, midnight + 86400 + 60, app_price=3 * ECT, workerpool_price=2 * ECT, volume=2)
    index_to_head(hub_deployment)

    # When their histories are read by day and by hour
    by_day = price_window(bucket="day", since=first_day, until=first_day + 2 * DAY, now=NOW)
    by_hour = price_window(bucket="hour", since=first_day, until=first_day + 2 * DAY, now=NOW)
    app = {
        bucket: prices.asset_price_series(
            chain_id=settings.CHAIN_ID, kind="app", address=market.app, window=window
        ).points
        for bucket, window in (("day", by_day), ("hour", by_hour))
    }
    pool = prices.asset_price_series(
        chain_id=settings.CHAIN_ID,
        kind="pool",
        address=market.workerpool,
        window=by_day,
        category=0,
    ).points
    xs = prices.category_price_series(chain_id=settings.CHAIN_ID, category=0, window=by_day).points
    s = prices.category_price_series(chain_id=settings.CHAIN_ID, category=1, window=by_day).points

    # Then the app's first day has tasks at 2, 2, 2 and 4 ECT (median 2), its second 2 at 3
    second_day = first_day + DAY
    assert app["day"] == [
        PricePoint(start=first_day, median=2 * ECT, low=2 * ECT, high=4 * ECT, deals=2, tasks=4),
        PricePoint(start=second_day, median=3 * ECT, low=3 * ECT, high=3 * ECT, deals=1, tasks=2),
    ]
    assert app["hour"] == [
        PricePoint(
            start=first_day + HOUR, median=2 * ECT, low=2 * ECT, high=4 * ECT, deals=2, tasks=4
        ),
        PricePoint(start=second_day, median=3 * ECT, low=3 * ECT, high=3 * ECT, deals=1, tasks=2),
    ]
    # and the pool's prices (category XS, the only pool) are the market's
    assert (
        pool
        == xs
        == [
            PricePoint(start=first_day, median=ECT, low=ECT, high=ECT, deals=2, tasks=4),
            PricePoint(
                start=second_day, median=2 * ECT, low=2 * ECT, high=2 * ECT, deals=1, tasks=2
            ),
        ]
    )
    assert s == []
