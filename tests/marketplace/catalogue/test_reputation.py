"""A listing's reputation: the blend of an app's or a dataset's chain record, usage, revenue and
rating, checked by hand; re-ranking one listing once its rating changed; lists ordered by it."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from marketplace.catalogue import selectors, services
from marketplace.catalogue.filters import ListingFilters
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.reputation import WEIGHTS, blend, components, listing_rerank
from marketplace.indexer.models import Asset
from tests.factories.catalogue import AppFactory, ListingFactory
from tests.factories.reviews import buyer

pytestmark = pytest.mark.django_db
ECT = 10**9


def test_the_blends_parts_by_hand():
    parts = components(
        completed=99, failed=1, revenue_units=999 * ECT, rating_avg=4, rating_count=8
    )
    # record: Wilson lower bound of 99 of 100 = 0.9455; usage: log10(100) / 4 = 0.5;
    # revenue: log10(1000) / 5 = 0.6; rating: 8 ratings of 4 are 6 of 8 stars above one,
    # Wilson lower bound of 6 of 8 = 0.4093.
    assert parts == {
        "record": 946.0,
        "usage": pytest.approx(500.0),
        "revenue": pytest.approx(600.0),
        "rating": 409.0,
    }
    assert blend(
        completed=99, failed=1, revenue_units=999 * ECT, rating_avg=4, rating_count=8
    ) == round(0.4 * 946 + 0.2 * 500 + 0.2 * 600 + 0.2 * 409)
    assert sum(WEIGHTS.values()) == 1


def test_nothing_ranks_nothing_and_usage_and_revenue_are_full_at_their_caps():
    assert blend(completed=0, failed=0, revenue_units=0, rating_avg=0, rating_count=0) == 0
    capped = components(
        completed=10**6, failed=0, revenue_units=10**7 * ECT, rating_avg=0, rating_count=0
    )
    assert (capped["usage"], capped["revenue"], capped["rating"]) == (1000.0, 1000.0, 0.0)


def test_the_list_page_says_how_each_market_computes_reputation():
    assert "40 % the record" in MARKETS["app"].reputation_note
    assert "reliability" in MARKETS["pool"].reputation_note


def test_a_listing_is_reranked_once_its_rating_changed():
    app = AppFactory(listing__chain_address="0x" + "a5" * 20).listing
    Asset.objects.create(
        chain_id=31337,
        address=app.chain_address,
        kind="app",
        owner="0x" + "b6" * 20,
        listing=app,
        name=app.name,
        registered_block=1,
        block_number=1,
        tasks_completed=9,
    )
    assert (
        listing_rerank(listing=app) == app.reputation == round(0.4 * 701 + 0.2 * 250)
    )  # Wilson 9 of 9 = 0.701, log10(10) / 4 = 0.25
    Listing.objects.filter(pk=app.pk).update(rating_avg=5, rating_count=2)

    assert listing_rerank(listing=app) == round(0.4 * 701 + 0.2 * 250 + 0.2 * 342)
    app.refresh_from_db()
    assert app.reputation == 399


def test_a_listing_not_on_chain_ranks_nothing_whatever_its_rating():
    app = AppFactory().listing
    Listing.objects.filter(pk=app.pk).update(rating_avg=5, rating_count=40, reputation=12)
    assert listing_rerank(listing=app) == 0
    app.refresh_from_db()
    assert app.reputation == 0


def test_lists_open_by_reputation_and_equals_come_newest_first():
    older = ListingFactory(kind=Market.APP, name="older")
    ranked = ListingFactory(kind=Market.APP, name="ranked")
    newer = ListingFactory(kind=Market.APP, name="newer")
    Listing.objects.filter(pk=ranked.pk).update(reputation=300)

    listed = selectors.listing_list(kind=Market.APP, filters=ListingFilters())
    assert [listing.name for listing in listed] == ["ranked", "newer", "older"]
    newest = selectors.listing_list(kind=Market.APP, filters=ListingFilters(sort="newest"))
    assert [listing.name for listing in newest] == ["newer", "ranked", "older"]
    assert older.pk < ranked.pk < newer.pk


def test_a_verified_review_reranks_its_listing_through_the_rating_service():
    app = AppFactory(listing__chain_address=to_checksum_address("0x" + "a7" * 20)).listing
    Asset.objects.create(
        chain_id=31337,
        address=app.chain_address,
        kind="app",
        owner="0x" + "b6" * 20,
        listing=app,
        name=app.name,
        registered_block=1,
        block_number=1,
        tasks_completed=9,
    )
    assert listing_rerank(listing=app) == round(0.4 * 701 + 0.2 * 250)

    services.rating_set(listing=app, user=buyer(app), stars=5)

    app.refresh_from_db()  # one 5-star review: Wilson 1 of 1 = 0.206
    assert app.reputation == round(0.4 * 701 + 0.2 * 250 + 0.2 * 206)
