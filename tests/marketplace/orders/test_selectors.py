"""What listings cost now, read from the book: their open offers and the cheapest complete run
each takes part in, on cards, list and detail pages, in a bounded number of queries."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext

from marketplace.catalogue.freshness import catalogue_changed
from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.orders import selectors
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.services import order_unpublish
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db

_addresses = itertools.count(1)
_digests = itertools.count(1)
XS, S, M = 0, 1, 2


def _on_chain(row):
    """A market row whose listing is registered at a fresh (checksummed) address."""
    from marketplace.chain.orders import checksummed

    listing = row.listing
    listing.chain_address = checksummed(f"0x{next(_addresses):040x}")
    listing.save(update_fields=["chain_address"])
    return row


def app(name: str, price: str, args: str = "", **listing):
    row = _on_chain(AppFactory(listing__name=name, default_args=args, **listing))
    offer(row.listing, price)
    return row


def dataset(name: str, price: str, apps, **listing):
    row = _on_chain(DatasetFactory(listing__name=name, **listing))
    row.allowed_apps.set(apps)
    offer(row.listing, price)
    return row


def pool(name: str, prices: dict[int, str], **listing):
    row = _on_chain(WorkerpoolFactory(listing__name=name, **listing))
    for category, price in prices.items():
        offer(row.listing, price, category=category)
    return row


def offer(listing, price: str, *, category: int | None = None, **fields) -> Order:
    """An open sell order of the listing's asset in the book, as published."""
    kind = {"app": "app", "dataset": "dataset", "pool": "workerpool"}[listing.kind]
    return Order.objects.create(
        chain_id=settings.CHAIN_ID, hub="0x" + "1" * 40, digest=f"0x{next(_digests):064x}",
        kind=kind, asset=listing.chain_address, signer="0x" + "3" * 40,
        price=to_units(Decimal(price), decimals=ECT_DECIMALS, currency="ECT"), volume=100,
        remaining=100, tag="0x" + "0" * 64, category=category,
        trust=fields.pop("trust", 5 if category is not None else None),
        status=fields.pop("status", OrderStatus.OPEN),
        message={}, **fields,
    )  # fmt: skip


def units(price: str) -> int:
    return to_units(Decimal(price), decimals=ECT_DECIMALS, currency="ECT")


def runs(*rows):
    found = selectors.cheapest_runs(chain_id=settings.CHAIN_ID, listings=[r.listing for r in rows])
    return [found[r.listing.pk] for r in rows]


def test_an_app_that_reads_no_dataset_runs_cheapest_alone_with_the_cheapest_pool_category():
    graphviz = app("Graphviz", "0.03")
    lyon = pool("Lyon Edge Alpha", {XS: "0.1", S: "0.3"})
    pool("Nordic Hydro Cluster", {S: "0.6", M: "1.5"})

    (run,) = runs(graphviz)

    assert (run.price, run.category) == (units("0.13"), "XS")
    assert (run.app, run.dataset, run.workerpool) == (graphviz.listing, None, lyon.listing)


def test_an_app_whose_arguments_name_the_dataset_runs_with_the_cheapest_dataset_it_may_read():
    resvg = app("resvg", "0.05", args="--width 1024 {dataset} /output/out.png")
    dataset("Geometric drawings", "0.01", [resvg])
    poster = dataset("Poster", "0.005", [resvg])
    dataset("Not for resvg", "0.001", [])  # cheaper, but resvg may not read it
    lyon = pool("Lyon", {XS: "0.1"})

    (run,) = runs(resvg)

    assert run.price == units("0.155")
    assert (run.dataset, run.workerpool) == (poster.listing, lyon.listing)


def test_datasets_and_pools_take_the_cheapest_run_they_are_part_of():
    graphviz = app("Graphviz", "0.03")
    resvg = app("resvg", "0.05", args="{dataset} /output/out.png")
    dot = dataset("DOT sources", "0.01", [graphviz])
    poster = dataset("Poster", "0.005", [resvg])
    lyon = pool("Lyon", {XS: "0.1", S: "0.3"})
    nordic = pool("Nordic", {S: "0.6"})

    dot_run, poster_run, lyon_run, nordic_run = runs(dot, poster, lyon, nordic)

    assert (dot_run.price, dot_run.app, dot_run.category) == (units("0.14"), graphviz.listing, "XS")
    assert (poster_run.price, poster_run.app) == (units("0.155"), resvg.listing)
    assert (lyon_run.price, lyon_run.app, lyon_run.dataset) == (
        units("0.13"),
        graphviz.listing,
        None,
    )
    assert (nordic_run.price, nordic_run.category) == (units("0.63"), "S")


def test_only_offers_anyone_may_take_from_public_listings_count_and_restrictions_are_kept():
    graphviz = app("Graphviz", "0.03")
    lyon = pool("Lyon", {S: "0.3"})
    nordic = pool("Nordic", {M: "0.2"})
    hidden = pool("Pending pool", {XS: "0.01"}, listing__status=CurationStatus.PENDING)
    offer(lyon.listing, "0.02", category=XS, requester_restrict="0x" + "4" * 40)
    offer(lyon.listing, "0.02", category=XS, app_restrict="0x" + "5" * 40)
    offer(lyon.listing, "0.02", category=XS, status=OrderStatus.DEAD)
    offer(graphviz.listing, "0.001", workerpool_restrict=nordic.listing.chain_address)

    (run,) = runs(graphviz)

    # The pending pool, the offers for another buyer or app and the dead one are not for sale;
    # the cheaper app order is, but only in Nordic.
    assert (run.price, run.workerpool, run.category) == (units("0.201"), nordic.listing, "M")
    assert runs(hidden) == [None]


def test_a_listing_without_an_open_offer_has_no_run():
    graphviz = app("Graphviz", "0.03")
    lonely = _on_chain(AppFactory(listing__name="Unsold"))
    never = AppFactory(listing__name="Not on chain")

    assert runs(graphviz, lonely, never) == [None, None, None]  # no pool sells anything


def test_cards_show_the_cheapest_run_from_the_book_and_say_when_there_is_no_offer(client):
    graphviz = app("Graphviz", "0.03", listing__price_from=Decimal("0.03"))
    AppFactory(listing__name="Unsold")
    pool("Lyon Edge Alpha", {XS: "0.1", S: "0.3"})

    page = client.get("/apps/").content.decode()

    assert "from <strong>0.13 ECT</strong> per task with Lyon Edge Alpha, XS" in page
    assert page.count("No open offer") == 1
    assert "from <strong>0.03 ECT</strong>" not in page  # the app alone is not a run
    home = client.get("/").content.decode()
    assert "from <strong>0.13 ECT</strong> per task with Graphviz, XS" in home
    assert graphviz.listing.name in home


def test_the_detail_page_shows_the_books_prices_not_the_asked_ones(client):
    graphviz = app("Graphviz", "0.04", listing__price_from=Decimal("0.05"))
    lyon = pool("Lyon Edge Alpha", {XS: "0.1", S: "0.3"}, listing__prices={"XS": "0.2"})
    unsold = AppFactory(listing__name="Unsold", listing__price_from=Decimal("7"))

    app_page = client.get(graphviz.listing.get_absolute_url()).content.decode()
    pool_page = client.get(lyon.listing.get_absolute_url()).content.decode()
    unsold_page = client.get(unsold.listing.get_absolute_url()).content.decode()

    assert "<strong>0.04 ECT</strong> per task, whatever the category" in app_page
    assert "0.05 ECT" not in app_page
    assert "Cheapest complete run: from 0.14 ECT per task with Lyon Edge Alpha, XS." in app_page
    assert (
        '<td class="num">0.1 ECT</td>' in pool_page and '<td class="num">0.3 ECT</td>' in pool_page
    )
    assert "0.2 ECT" not in pool_page
    assert "No open offer" in unsold_page and "7 ECT" not in unsold_page


def test_the_list_page_reads_the_runs_in_a_bounded_number_of_queries(client):
    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/apps/").status_code == 200
            assert client.get("/pools/").status_code == 200
            assert client.get("/datasets/").status_code == 200
        return len(ctx.captured_queries)

    first = app("App 0", "0.03", args="{dataset}")
    dataset("Data 0", "0.01", [first])
    pool("Pool 0", {XS: "0.1", S: "0.3"})

    def more(count: int) -> None:
        for _ in range(count):
            n = Listing.objects.count()
            made = app(f"App {n}", "0.03", args="{dataset}" if n % 2 else "")
            dataset(f"Data {n}", "0.01", [made, first])
            pool(f"Pool {n}", {XS: "0.1", S: "0.3", M: "1"})

    # More listings than the market-wide candidates of a run, then twice as many.
    more(selectors.RUN_CANDIDATES + 1)
    few = queries()
    more(selectors.RUN_CANDIDATES + 1)

    assert queries() == few


def test_an_offer_taken_off_the_book_leaves_the_cached_cards_at_once(client):
    app("Graphviz", "0.03")
    lyon = pool("Lyon Edge Alpha", {XS: "0.1"})
    cheaper = offer(lyon.listing, "0.05", category=XS)
    assert "from <strong>0.08 ECT</strong>" in client.get("/apps/").content.decode()

    order_unpublish(order=cheaper, user=UserFactory(is_staff=True))

    assert "from <strong>0.13 ECT</strong>" in client.get("/apps/").content.decode()


def test_the_buy_page_offers_only_the_categories_pools_sell(client):
    from marketplace.indexer.models import Category

    for catid, name in enumerate(("XS", "S", "M", "L", "XL")):
        Category.objects.create(
            chain_id=settings.CHAIN_ID, catid=catid, name=name, time_ref=60, block_number=1
        )
    graphviz = app("Graphviz", "0.03")
    pool("Lyon", {XS: "0.1", S: "0.3"})
    pool("Nordic", {S: "0.6", M: "1.5"})
    client.force_login(UserFactory())

    page = client.get(f"/apps/{graphviz.listing.slug}/buy/").content.decode()

    assert [f'<option value="{n}">' in page for n in range(5)] == [True, True, True, False, False]
    assert 'data-categories="0 1">Lyon</option>' in page
    assert 'data-categories="1 2">Nordic</option>' in page


def test_a_run_takes_only_pool_offers_the_buy_forms_default_trust_can_buy(client):
    from marketplace.indexer.models import Category

    Category.objects.create(
        chain_id=settings.CHAIN_ID, catid=XS, name="XS", time_ref=60, block_number=1
    )
    graphviz = app("Graphviz", "0.03")
    lyon = pool("Lyon", {XS: "0.1"})
    offer(lyon.listing, "0.01", category=XS, trust=0)  # cheaper, but refuses the default trust

    (run,) = runs(graphviz)

    assert run.price == units("0.13")
    # The buy form opens at that trust, and the quote's pool offer for it is the card's.
    client.force_login(UserFactory())
    page = client.get(f"/apps/{graphviz.listing.slug}/buy/").content.decode()
    assert f'name="trust" min="0" max="1000" value="{selectors.DEFAULT_TRUST}"' in page
    wanted = selectors.Wanted(
        app=graphviz.listing.chain_address,
        category=XS,
        requester="0x" + "4" * 40,
        trust=selectors.DEFAULT_TRUST,
    )
    (found,) = selectors.best_workerpool_orders(
        chain_id=settings.CHAIN_ID, wanted=wanted, required_tag=bytes(32)
    )
    assert (found.asset, int(found.price)) == (run.workerpool.chain_address, units("0.1"))


def test_the_buy_page_offers_the_categories_a_pool_reserves_for_the_buyers_wallets(client):
    from marketplace.indexer.models import Category

    for catid, name in enumerate(("XS", "S", "M")):
        Category.objects.create(
            chain_id=settings.CHAIN_ID, catid=catid, name=name, time_ref=60, block_number=1
        )
    graphviz = app("Graphviz", "0.03")
    lyon = pool("Lyon", {XS: "0.1"})
    buyer = WalletFactory()
    offer(lyon.listing, "0.2", category=S, requester_restrict=buyer.address)
    offer(lyon.listing, "0.3", category=M, requester_restrict="0x" + "B" * 40)
    client.force_login(buyer.user)

    page = client.get(f"/apps/{graphviz.listing.slug}/buy/").content.decode()

    assert 'data-categories="0 1">Lyon</option>' in page
    assert [f'<option value="{n}">' in page for n in range(3)] == [True, True, False]


def _flood(listing, count: int, price: str, **fields) -> None:
    """`count` open offers of the listing's asset at `price`, published at once, each with
    `fields` (a callable gives the value for the offer's number)."""
    kind = {"app": "app", "dataset": "dataset", "pool": "workerpool"}[listing.kind]
    common = {
        "chain_id": settings.CHAIN_ID,
        "hub": "0x" + "1" * 40,
        "kind": kind,
        "asset": listing.chain_address,
        "signer": "0x" + "3" * 40,
        "price": units(price),
        "volume": 100,
        "remaining": 100,
        "tag": "0x" + "0" * 64,
        "trust": 5 if kind == "workerpool" else None,
        "status": OrderStatus.OPEN,
        "message": {},
    }
    Order.objects.bulk_create(
        Order(
            **{
                **common,
                **{name: value(n) if callable(value) else value for name, value in fields.items()},
            },
            digest=f"0x{next(_digests):064x}",
        )
        for n in range(count)
    )


def _flood_all(parts, count: int) -> None:
    """Dearer offers of every part: identical ones, and ones that fit differently (restricted
    to pools that are not listed, or asking a tag bit no pool offers)."""
    elsewhere = lambda n: f"0x{0xE0000 + n:040x}"  # noqa: E731
    tagged = lambda n: "0x" + f"{1 << (n % 200):064x}"  # noqa: E731
    for row in parts:
        listing = row.listing
        if listing.kind == "pool":
            for category in (XS, S):
                _flood(listing, count, "0.9", category=category)
                _flood(listing, count, "0.8", category=category, app_restrict=elsewhere)
        else:
            _flood(listing, count, "0.9")
            _flood(listing, count, "0.8", workerpool_restrict=elsewhere)
            _flood(listing, count, "0.7", tag=tagged)


def _read(rows):
    """The runs of `rows`, and how many orders reading them loaded from the database (with
    the market-wide candidates read afresh, not from the cache)."""
    cache.clear()
    loaded = []

    def count(sender, instance, **kwargs):
        loaded.append(instance.pk)

    post_init.connect(count, sender=Order)
    try:
        return runs(*rows), len(loaded)
    finally:
        post_init.disconnect(count, sender=Order)


def test_many_offers_leave_the_rows_read_bounded_and_the_run_still_the_cheapest():
    graphviz = app("Graphviz", "0.03")
    resvg = app("resvg", "0.05", args="{dataset} /output/out.png")
    poster = dataset("Poster", "0.02", [resvg])
    lyon = pool("Lyon", {XS: "0.2", S: "0.3"})
    nordic = pool("Nordic", {S: "0.4"})
    parts = (graphviz, resvg, poster, lyon, nordic)
    _flood_all(parts, 30)
    # The cheapest offers come in the middle of the flood, neither first nor last.
    offer(graphviz.listing, "0.01")
    offer(resvg.listing, "0.02")
    offer(poster.listing, "0.01")
    offer(lyon.listing, "0.1", category=XS)
    offer(nordic.listing, "0.15", category=S)
    _flood_all(parts, 30)
    few, read_few = _read(parts)

    _flood_all(parts, 300)
    many, read_many = _read(parts)

    assert Order.objects.count() > 5_000
    # At most: each app's, dataset's and pool category's few cheapest fits, the pools' cards'
    # app candidates, and the candidate pool offers of each category.
    per_asset, candidates = selectors.OFFERS_PER_ASSET, selectors.RUN_CANDIDATES
    bound = (2 + 1 + 2 * 2) * per_asset + candidates + 2 * candidates
    assert read_many == read_few <= bound  # not one more row for ten times the orders
    assert many == few
    graphviz_run, resvg_run, poster_run, lyon_run, nordic_run = many
    assert (graphviz_run.price, graphviz_run.workerpool) == (units("0.11"), lyon.listing)
    assert (resvg_run.price, resvg_run.dataset) == (units("0.13"), poster.listing)
    assert poster_run == resvg_run
    assert lyon_run == graphviz_run
    assert (nordic_run.price, nordic_run.app, nordic_run.category) == (
        units("0.16"),
        graphviz.listing,
        "S",
    )


def test_a_pool_cards_app_candidates_are_read_once_per_version_of_the_book():
    graphviz = app("Graphviz", "0.03")
    lyon = pool("Lyon", {XS: "0.2"})
    (before,) = runs(lyon)
    assert before.app == graphviz.listing
    resvg = app("resvg", "0.01")  # cheaper, but the book's version has not moved yet
    with CaptureQueriesContext(connection) as read:
        (cached,) = runs(lyon)
    assert cached.app == graphviz.listing
    catalogue_changed()  # what every service that opens or closes an offer calls
    (after,) = runs(lyon)
    assert (after.app, after.price) == (resvg.listing, units("0.21"))
    with CaptureQueriesContext(connection) as again:
        runs(lyon)
    assert len(again) == len(read)  # the market-wide ranking is not read again


def test_a_pool_offer_kept_for_one_app_makes_that_apps_run_and_no_other():
    graphviz = app("Graphviz", "0.03")
    wordcount = app("Word count", "0.03")
    lyon = pool("Lyon", {XS: "0.2"})
    offer(lyon.listing, "0.05", category=XS, app_restrict=graphviz.listing.chain_address)

    graphviz_run, wordcount_run = runs(graphviz, wordcount)

    assert graphviz_run.price == units("0.08")
    assert wordcount_run.price == units("0.23")


def test_listings_beyond_the_market_wide_candidates_find_their_own_runs():
    """The market side (read once per version) holds the cheapest app offers and what goes
    with them; an app too dear to be among them, the dataset only it may read, and a pool
    offer kept for it are read for its own page, and its pool's."""
    for n in range(selectors.RUN_CANDIDATES + 2):
        app(f"Cheap app {n}", "0.01")
    general = pool("General", {XS: "0.5"})
    dear = app("Dear app", "0.9", args="{dataset}")
    only = dataset("Only for the dear app", "0.02", [dear])
    kept = pool("Kept", {})
    offer(kept.listing, "0.1", category=XS, app_restrict=dear.listing.chain_address)

    dear_run, only_run, kept_run, general_run = runs(dear, only, kept, general)

    assert (dear_run.price, dear_run.workerpool) == (units("1.02"), kept.listing)
    assert only_run == dear_run
    assert kept_run == dear_run
    assert general_run.app != dear.listing and general_run.price == units("0.51")
    # The same runs read one listing at a time, once the market side is known.
    assert [runs(row)[0] for row in (dear, only, kept, general)] == [
        dear_run,
        only_run,
        kept_run,
        general_run,
    ]
