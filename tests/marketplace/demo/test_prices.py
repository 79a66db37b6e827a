"""The demo's prices on the development chain: what a quote charges is what the listings ask,
and what the pages show is what the book offers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command

from marketplace.catalogue.models import Listing, Market, TaskCategory
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.chain.keys import DEV_ADDRESSES
from marketplace.orders.purchases import purchase_quote
from marketplace.orders.selectors import Wanted, needs_dataset
from tests.marketplace.demo.deployments import record_deployment
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


def units(price: Decimal) -> int:
    return to_units(price, decimals=ECT_DECIMALS, currency="ECT")


@pytest.fixture
def demo(chain, hub_deployment):
    record_deployment(hub_deployment)
    call_command("seed_demo")
    index_to_head(hub_deployment)


def _combinations():
    """Every app with every dataset its buy page offers (and alone when its arguments read no
    dataset), in every pool."""
    pools = list(Listing.objects.filter(kind=Market.POOL).prefetch_related("prices"))
    for app in Listing.objects.filter(kind=Market.APP).select_related("app"):
        datasets = list(
            Listing.objects.filter(dataset__allowed_apps=app.app, is_public=True).exclude(
                chain_address=""
            )
        )
        for dataset in datasets + ([] if needs_dataset(app) else [None]):
            for pool in pools:
                yield app, dataset, pool


def test_every_demo_quote_charges_the_sum_of_the_listings_prices_and_only_sold_categories(
    demo,
):
    sold_runs = unsold = 0
    cheapest: dict[str, int] = {}
    for app, dataset, pool in _combinations():
        pool_prices = {p.category: p.price for p in pool.prices.all()}
        for catid, category in enumerate(TaskCategory.values):
            quote = purchase_quote(
                wanted=Wanted(
                    app=app.chain_address,
                    dataset=dataset.chain_address if dataset else "",
                    workerpool=pool.chain_address,
                    category=catid,
                    trust=1,
                    requester=DEV_ADDRESSES[8],
                ),
                params="{}",
            )
            where = f"{app} with {dataset} in {pool} at {category}"
            if category not in pool_prices:
                # A category the pool does not sell is refused, saying what it sells.
                assert [f.check for f in quote.failures] == ["NoWorkerpoolOrder"], where
                assert "That pool sells" in quote.failures[0].message, where
                unsold += 1
                continue
            listed = app.price + (dataset.price if dataset else 0) + pool_prices[category]
            assert quote.failures == [], where
            assert quote.task_price == units(listed), where
            assert (
                int(quote.app_order.price),
                int(quote.dataset_order.price) if dataset else 0,
                int(quote.workerpool_order.price),
            ) == (
                units(app.price),
                units(dataset.price) if dataset else 0,
                units(pool_prices[category]),
            ), where
            sold_runs += 1
            for part in (app, dataset, pool):
                if part is not None:
                    cheapest[part.name] = min(
                        cheapest.get(part.name, quote.task_price), quote.task_price
                    )
    assert sold_runs and unsold

    # Each demo listing's card shows the cheapest run a quote gives with it.
    pages = "".join(_anonymous_pages("/apps/", "/datasets/", "/pools/"))
    cards = {
        card.split("</h2>", 1)[0].rsplit(">", 1)[-1]: card for card in pages.split("<article")[1:]
    }
    assert set(cards) == set(cheapest)
    for name, price in cheapest.items():
        shown = f"{Decimal(price).scaleb(-ECT_DECIMALS).normalize():f}"
        assert f"from <strong>{shown} ECT</strong> per task with" in cards[name], name
    run = cards["usvg SVG normalizer"].split('class="run"', 1)[1].split("</p>", 1)[0]
    assert run == (
        ">from <strong>0.125 ECT</strong> per task with Single poster drawing"
        " on Lyon Edge Alpha, XS"
    ), run


def _anonymous_pages(*urls: str):
    from django.test import Client

    client = Client()
    for url in urls:
        answer = client.get(url)
        assert answer.status_code == 200
        yield answer.content.decode()


def test_demo_listing_pages_show_the_books_prices(demo):
    from django.test import Client

    client = Client()
    for listing in Listing.objects.filter(kind__in=[Market.APP, Market.DATASET]):
        page = client.get(listing.get_absolute_url()).content.decode()
        shown = f"{listing.price.normalize():f}"
        assert f"<strong>{shown} ECT</strong> per task, whatever the category" in page, listing
    for listing in Listing.objects.filter(kind=Market.POOL).prefetch_related("prices"):
        page = client.get(listing.get_absolute_url()).content.decode()
        for price in listing.prices.all():
            shown = f"{price.price.normalize():f}"
            assert f"<td><strong>{price.category}</strong></td>" in page
            assert f'<td class="num">{shown} ECT</td>' in page, (listing, price.category)


def test_a_demo_buy_page_starts_at_the_run_its_card_shows(demo):
    from django.test import Client

    from tests.factories.accounts import UserFactory

    client = Client()
    client.force_login(UserFactory())
    pages = "".join(_anonymous_pages("/apps/"))
    for app in Listing.objects.filter(kind=Market.APP):
        card = pages.split(f'href="{app.get_absolute_url()}"', 1)[1].split("</article>", 1)[0]
        run = card.split('class="run"', 1)[1].split("</p>", 1)[0]
        page = client.get(f"{app.get_absolute_url()}buy/").content.decode()
        selected = page.split('name="dataset"', 1)[1].split(" selected>", 1)[1].split("<", 1)[0]
        # The card's run names its dataset: the buy form starts with it
        assert f"with {selected} on " in run, (app.name, selected, run)
