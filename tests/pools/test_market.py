"""The Cloud market's adapter: a pool prices each task category and stakes what it offers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.addresses import normalize
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.indexer.models import Asset, Category, Worker
from marketplace.orders.selectors import Run
from pools.models import PoolRecord, Workerpool
from pools.records import TIMES
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


def _recorded_pool() -> Listing:
    """A published pool at ADDRESS with a record: 3 of 5 recent tasks finalized, 2 in time."""
    listing = WorkerpoolFactory(listing__chain_address=ADDRESS).listing
    Category.objects.create(chain_id=31337, block_number=1, catid=0, name="XS", time_ref=300)
    worker = "0x" + "cd" * 20
    Worker.objects.create(chain_id=31337, block_number=1, address=worker, score=7)
    PoolRecord.objects.create(
        chain_id=31337,
        workerpool=normalize(ADDRESS),  # as the index keeps it
        finalized=3,
        given_up=1,
        claimed=1,
        days={"2020-01-01": [3, 1, 1]},
        recent_ended=5,
        recent_finalized=3,
        recent_in_time=2,
        reliability=154,
        categories=[
            {"catid": 0, "time_ref": 300, "finalized": 3, "in_time": 2, "median": 42, "p95": 460}
        ],
        workers_seen=1,
        workers=[{"address": worker, "contributions": 3, "accurate": 1, "faulty": 0}],
        pool_stake_seized=1_800_000_000,
        workers_stake_seized=300_000_000,
    )
    return listing


def test_a_pools_page_shows_its_reliability_with_the_formula_behind_its_figure(client):
    page = client.get(_recorded_pool().get_absolute_url()).content.decode()
    panel = page[page.index('id="reliability"') : page.index('id="workers"')]
    x = TIMES
    assert "<summary><strong>154</strong> of 1000: how it is computed</summary>" in panel
    formula = f"1000 {x} W {x} T = 1000 {x} 0.231 {x} 0.667 = 154, over its latest 5 ended tasks"
    assert formula in panel
    assert "<td>0</td><td>0</td><td>3</td>" in panel  # finalized: 7 days, 30 days, all time
    assert '<th scope="row">XS</th><td>42 s</td><td>7.7 min</td>' in panel
    assert "1.8 ECT of the pool's on failed tasks; 0.3 ECT of its workers'" in panel
    worker = "0x" + "cd" * 20  # shortened, whole on hover
    assert (
        f'<abbr title="{worker}">0xcdcdcd…cdcd</abbr></td><td>7</td>'
        '<td title="3 contributions here">1 / 0</td>'
    ) in panel


def test_a_pool_with_no_record_says_so_rather_than_a_figure(client):
    listing = WorkerpoolFactory(listing__chain_address=ADDRESS).listing
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "No record yet: the index has no task of this pool." in page
    assert MARKETS["pool"].listing_record(listing) is None


def test_a_pools_api_detail_gives_its_reliability_record(client):
    listing = _recorded_pool()
    answer = client.get(reverse("api_v1_pool_detail", args=[listing.slug])).json()
    record = answer["reliability"]
    assert record["figure"] == 154
    assert record["windows"][2] == {
        "days": None,
        "finalized": 3,
        "failed": 2,
        "given_up": 1,
        "claimed": 1,
    }
    assert record["categories"] == [
        {"name": "XS", "time_ref": 300, "finalized": 3, "in_time": 2, "median": 42.0, "p95": 460.0}
    ]
    assert record["workers"] == [
        {"address": "0x" + "cd" * 20, "score": 7, "contributions": 3, "accurate": 1, "faulty": 0}
    ]
    assert (
        record["pool_stake_seized_units"],
        record["workers_stake_seized_units"],
        record["bonds_seized_units"],
    ) == ("1800000000", "300000000", "0")
    assert answer["reputation"] == 0  # ranked by the indexer's follower, not by reading
