"""The price histories' read model: the price levels (deals and tasks matched at each price in
each hour and day, of each asset and of each category market-wide), derived from the deals by
the indexer's follower for the buckets a batch touches, and all again after a reorganization.
Whatever the deals, a history read through the levels is the one the deals themselves make."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from marketplace.indexer import prices
from marketplace.indexer.followers import IndexedBatch
from marketplace.indexer.models import Deal, PriceLevel
from marketplace.indexer.prices import PriceLevelFollower, PriceSeries, price_window
from tests.factories.deals import DealFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
NOW = datetime.datetime(2025, 3, 10, 15, 30, tzinfo=UTC)
APPS = ("0x" + "a1" * 20, "0x" + "a2" * 20)
DATASETS = ("", "0x" + "d1" * 20)
POOLS = ("0x" + "b1" * 20, "0x" + "b2" * 20)
CHAIN = settings.CHAIN_ID


def _from_deals(window, price_field: str, **match) -> PriceSeries:
    """The series as the deals make it, read straight off them (what the levels stand for)."""
    rows = prices._series_rows(
        window.bucket, price_field, window.since, window.until, chain_id=CHAIN, **match
    )
    return PriceSeries(window=window, points=prices._points(rows))


def _levels() -> set[tuple]:
    return set(
        PriceLevel.objects.values_list(
            "chain_id", "role", "asset", "category", "bucket", "start", "price", "deals", "tasks"
        )
    )


def _without_levels(**fields) -> Deal:
    """A deal as the indexer writes it, before its follower is told."""
    deal = DealFactory(**fields)
    PriceLevel.objects.all().delete()
    return deal


def test_a_batch_derives_the_levels_of_the_buckets_its_deals_fall_in():
    DealFactory(  # three days before
        app=APPS[0],
        app_price=3,
        workerpool=POOLS[0],
        volume=2,
        start_time=NOW - datetime.timedelta(days=3),
    )
    before = _levels()
    deal = DealFactory.build(
        app=APPS[0],
        app_price=3,
        workerpool=POOLS[0],
        workerpool_price=5,
        category=2,
        volume=4,
        start_time=NOW,
    )
    deal.save()

    PriceLevelFollower()(IndexedBatch(chain_id=CHAIN, dealids=frozenset({deal.dealid})))

    hour, day = NOW.replace(minute=0), NOW.replace(hour=0, minute=0)
    added = _levels() - before
    assert added == {
        (CHAIN, "app", APPS[0], -1, "hour", hour, 3, 1, 4),
        (CHAIN, "app", APPS[0], -1, "day", day, 3, 1, 4),
        (CHAIN, "workerpool", POOLS[0], 2, "hour", hour, 5, 1, 4),
        (CHAIN, "workerpool", POOLS[0], 2, "day", day, 5, 1, 4),
        (CHAIN, "workerpool", "", 2, "hour", hour, 5, 1, 4),
        (CHAIN, "workerpool", "", 2, "day", day, 5, 1, 4),
    }
    assert before <= _levels()  # the older deal's levels were left as they were


def test_a_deal_at_a_price_already_matched_in_its_bucket_adds_to_that_level():
    DealFactory(app=APPS[0], app_price=3, volume=2, start_time=NOW)
    DealFactory(app=APPS[0], app_price=3, volume=5, start_time=NOW + datetime.timedelta(minutes=5))

    level = PriceLevel.objects.get(role="app", asset=APPS[0], bucket="hour")

    assert (level.price, level.deals, level.tasks) == (3, 2, 7)


def test_after_a_reorganization_every_level_is_derived_again():
    kept = DealFactory(app=APPS[0], app_price=3, start_time=NOW)
    gone = DealFactory(app=APPS[1], app_price=4, start_time=NOW)
    Deal.objects.filter(pk=gone.pk).delete()  # taken back with its block

    PriceLevelFollower()(IndexedBatch(chain_id=CHAIN, everything=True))

    assert set(PriceLevel.objects.values_list("asset", flat=True)) == {
        kept.app,
        kept.workerpool,
        "",
    }
    assert not PriceLevel.objects.filter(asset=APPS[1]).exists()


def test_a_batch_without_deals_leaves_the_levels_alone():
    DealFactory(app=APPS[0], start_time=NOW)
    before = _levels()

    PriceLevelFollower()(IndexedBatch(chain_id=CHAIN, addresses=frozenset({APPS[0]})))
    PriceLevelFollower()(IndexedBatch(chain_id=CHAIN, dealids=frozenset({"0x" + "9" * 64})))

    assert _levels() == before


_deal = st.fixed_dictionaries(
    {
        "app": st.sampled_from(APPS),
        "dataset": st.sampled_from(DATASETS),
        "workerpool": st.sampled_from(POOLS),
        "category": st.integers(0, 2),
        "app_price": st.integers(0, 4),
        "dataset_price": st.integers(0, 4),
        "workerpool_price": st.integers(1, 4),
        "volume": st.integers(1, 5),
        # Over the last days, so that windows by hour and by day both see them.
        "start_time": st.integers(0, 4 * 24 * 60).map(
            lambda minutes: NOW - datetime.timedelta(minutes=minutes)
        ),
    }
)


@hypothesis_settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deals=st.lists(_deal, max_size=12), in_batches=st.booleans())
def test_any_history_read_through_the_levels_is_the_one_the_deals_make(deals, in_batches):
    Deal.objects.all().delete()
    PriceLevel.objects.all().delete()
    made = [_without_levels(**fields) for fields in deals]
    follower = PriceLevelFollower()
    if in_batches:  # as the indexer tells it, a few deals at a time
        for start in range(0, len(made), 3):
            ids = frozenset(deal.dealid for deal in made[start : start + 3])
            follower(IndexedBatch(chain_id=CHAIN, dealids=ids))
    else:
        follower(IndexedBatch(chain_id=CHAIN, everything=True))

    for bucket in prices.BUCKETS:
        window = price_window(bucket=bucket, now=NOW)
        for app in APPS:
            assert prices.asset_price_series(
                chain_id=CHAIN, kind="app", address=app, window=window
            ) == _from_deals(window, "app_price", app=app)
        assert prices.asset_price_series(
            chain_id=CHAIN, kind="dataset", address=DATASETS[1], window=window
        ) == _from_deals(window, "dataset_price", dataset=DATASETS[1])
        for category in range(3):
            for pool in POOLS:
                assert prices.asset_price_series(
                    chain_id=CHAIN, kind="pool", address=pool, window=window, category=category
                ) == _from_deals(window, "workerpool_price", workerpool=pool, category=category)
            assert prices.category_price_series(
                chain_id=CHAIN, category=category, window=window
            ) == _from_deals(window, "workerpool_price", category=category)
