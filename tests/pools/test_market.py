"""The Cloud market's adapter: a pool prices each task category and stakes what it offers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.indexer.models import Asset
from marketplace.orders.selectors import Run
from pools.models import Workerpool
from tests.factories.catalogue import ListingFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db

POOLS = MARKETS["pool"]
ADDRESS = "0x" + "ab" * 20


def test_a_pool_offer_is_one_order_per_category_priced_giving_its_trust():
    listing = WorkerpoolFactory(listing__chain_address=ADDRESS).listing

    orders = POOLS.sell_orders(
        listing,
        volume=100,
        prices={"XS": Decimal("0.1"), "S": None, "L": Decimal(2)},
        trust=5,
    )

    common = {"volume": 100, "workerpool": ADDRESS, "trust": 5}
    assert orders == [
        {**common, "workerpoolprice": 100_000_000, "category": 0},
        {**common, "workerpoolprice": 2_000_000_000, "category": 3},
    ]
    assert POOLS.sell_orders(listing, volume=100, price=Decimal(1)) == []  # no category priced


def test_a_pool_asks_the_price_of_each_category_it_sells():
    listing = WorkerpoolFactory(listing__prices={"XS": Decimal("0.3")}).listing

    assert POOLS.asked_price(listing, "XS") == Decimal("0.3")
    assert POOLS.asked_price(listing, "M") is None


def test_a_pool_seen_first_on_chain_gets_placeholder_attributes_and_is_matched_by_name():
    listing = ListingFactory(kind="pool", name="Lyon Edge")
    asset = Asset(kind="pool", address=ADDRESS, name="Lyon Edge")

    POOLS.create_placeholder(listing=listing, asset=asset)

    pool = Workerpool.objects.get(listing=listing)
    assert (pool.cpu_cores, pool.memory_mb, pool.location, pool.energy_class) == (
        1,
        1024,
        "eu-west",
        "E",
    )
    assert list(Listing.objects.filter(POOLS.unlinked_match(asset))) == [listing]
    assert not Listing.objects.filter(POOLS.unlinked_match(Asset(name="Lyon"))).exists()


def test_a_pools_card_shows_its_attributes_escaped():
    pool = WorkerpoolFactory(cpu_cores=8, memory_mb=1536, location="us-east", energy_class="A")

    html = POOLS.card_attributes(pool.listing)

    assert '<li title="CPU cores per worker">8 cores</li>' in html
    assert '<li title="Memory per worker">1.5 GiB</li>' in html
    assert '<li title="Location">North America East</li>' in html
    assert 'class="energy energy-A">A</li>' in html


def test_a_pools_card_names_the_app_and_dataset_it_runs():
    app, dataset, pool = Listing(name="resvg"), Listing(name="Poster"), Listing(name="Lyon")

    assert POOLS.run_partners(Run(1, "XS", app, dataset, pool)) == "resvg and Poster"
    assert POOLS.run_partners(Run(1, "XS", app, None, pool)) == "resvg"
