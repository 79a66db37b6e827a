"""The price section of listing pages and the market overview (/market/): the history of the
indexed deals and the depth of the book drawn on the server, their numbers in tables, empty
states that say so, and plain links (by hour or day, by category) that work without
JavaScript; links that ask for what does not exist are refused."""

from __future__ import annotations

import dataclasses
import datetime
import html
import re

import pytest
from django.utils import timezone
from eth_account import Account
from hypothesis import given
from hypothesis import strategies as st

from marketplace.indexer.prices import PriceSeries, price_window
from marketplace.orders import depth, price_charts
from tests.chain_scaffold import ECT
from tests.factories.catalogue import AppFactory, WorkerpoolFactory
from tests.factories.deals import DealFactory
from tests.marketplace.orders.test_selectors import offer

pytestmark = pytest.mark.django_db


def on_chain(row):
    listing = row.listing
    listing.chain_address = Account.create().address
    listing.save(update_fields=["chain_address"])
    return listing


def section(page: str) -> str:
    return page[page.index('<section class="panel price-charts" id="prices">') :].split(
        "</section>"
    )[0]


def test_an_apps_page_draws_its_prices_and_its_book(client):
    app = on_chain(AppFactory(listing__name="Word <count>"))
    yesterday = timezone.now() - datetime.timedelta(days=1)
    DealFactory(app=app.chain_address, app_price=2 * ECT, volume=3, start_time=yesterday)
    offer(app, "1.5")

    page = client.get(app.get_absolute_url()).content.decode()

    prices = section(page)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="price-chart"' in prices
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="depth-chart"' in prices
    # The listing's name, escaped once by the chart (the template does not escape it again)
    assert '<title id="prices-history-title">Prices of Word &lt;count&gt; by day' in prices
    assert f"<td>{yesterday:%Y-%m-%d}</td>" in prices
    assert re.search(r'<td class="num">2 ECT</td><td class="num">2 ECT</td>', prices)
    assert '<td>Offered</td><td class="num">1.5 ECT</td><td class="num">100</td>' in prices
    assert "No trades yet" not in prices and "Nothing on offer" not in prices
    assert '<strong aria-current="page">By day</strong>' in prices
    assert 'href="' + app.get_absolute_url() + '?prices=hour#prices"' in prices


def test_a_page_with_no_trade_and_no_offer_says_so(client):
    app = on_chain(AppFactory())
    DealFactory(app=app.chain_address, start_time=timezone.now() - datetime.timedelta(days=3))

    prices = section(client.get(app.get_absolute_url() + "?prices=hour").content.decode())

    assert "<svg" not in prices
    assert "<strong>No trades yet</strong> in the last 48 hours." in prices
    assert "<strong>Nothing on offer</strong> and no open request now." in prices
    assert '<strong aria-current="page">By hour</strong>' in prices


def test_a_listing_not_on_chain_has_no_trade_yet(client):
    app = AppFactory().listing
    prices = section(client.get(app.get_absolute_url()).content.decode())
    assert "<strong>No trades yet</strong> in the last 30 days." in prices


def test_a_pools_page_shows_one_category_first_the_one_it_offers(client):
    pool = on_chain(WorkerpoolFactory(listing__name="Pool A"))
    offer(pool, "4", category=3)
    DealFactory(workerpool=pool.chain_address, workerpool_price=4 * ECT, category=3)
    DealFactory(workerpool=pool.chain_address, workerpool_price=ECT, category=0)

    shown = section(client.get(pool.get_absolute_url()).content.decode())
    xs = section(client.get(pool.get_absolute_url() + "?category=0").content.decode())

    assert '<strong aria-current="page">L</strong>' in shown
    assert "Prices of Pool A, L tasks by day" in shown
    assert '<td class="num">4 ECT</td>' in shown and '<td class="num">1 ECT</td>' not in shown
    assert f'href="{pool.get_absolute_url()}?category=0#prices">XS</a>' in shown
    assert '<strong aria-current="page">XS</strong>' in xs
    assert '<td class="num">1 ECT</td>' in xs
    assert "<strong>Nothing on offer</strong> and no open request now." in xs


@pytest.mark.parametrize(
    ("query", "status", "said"),
    [
        ("?prices=week", 400, "prices must be one of hour, day, not 'week'."),
        ("?category=7", 404, "The Hub has no category '7': choose one of 0 (XS), 1 (S),"),
        ("?category=S", 404, "The Hub has no category 'S': choose one of 0 (XS), 1 (S),"),
    ],
)
def test_links_asking_for_what_does_not_exist_are_refused(client, query, status, said):
    pool = on_chain(WorkerpoolFactory())
    answer = client.get(pool.get_absolute_url() + query)
    assert answer.status_code == status
    assert said in html.unescape(answer.content.decode())


def test_the_market_overview_sums_up_every_category_and_draws_one(client):
    pool = on_chain(WorkerpoolFactory())
    offer(pool, "0.5", category=0)
    offer(pool, "2", category=1)
    now = timezone.now()
    for price, volume in ((ECT, 2), (3 * ECT, 1)):
        DealFactory(workerpool_price=price, volume=volume, category=1, start_time=now)

    page = client.get("/market/?category=1").content.decode()

    rows = re.findall(r"<tr(?: aria-current=\"true\")?><th scope=\"row\">(.*?)</tr>", page)
    assert [re.sub(r"(<[^>]+>)+", "|", row) for row in rows] == [
        "|XS|0|0|no trades yet|0.5 ECT|none|",
        "|S|2|3|1 ECT|2 ECT|none|",
        "|M|0|0|no trades yet|none|none|",
        "|L|0|0|no trades yet|none|none|",
        "|XL|0|0|no trades yet|none|none|",
    ]
    prices = section(page)
    assert "Prices of S tasks, market-wide by day" in prices
    assert '<a href="/market/?category=1&amp;prices=hour#prices">By hour</a>' in prices
    assert '<a href="/market/" class="active">Prices</a>' in page


def test_the_market_overview_with_no_trade_says_so(client):
    page = client.get("/market/").content.decode()
    prices = section(page)
    assert "Prices of" not in prices
    assert "<strong>No trades yet</strong> in the last 30 days." in prices
    assert '<strong aria-current="page">XS</strong>' in prices


def _charts(window, points, book) -> price_charts.PriceCharts:
    """A price section of these points and this book, drawn as nothing."""
    return price_charts.PriceCharts(
        window=window,
        series=PriceSeries(window=window, points=points),
        depth=book,
        history_svg="",
        depth_svg="",
        buckets=[],
        categories=[],
        category="",
    )


def test_the_depth_table_lists_the_best_prices_of_each_side_and_the_chart_all_of_them():
    rows = price_charts.DEPTH_TABLE_ROWS
    book = depth.Depth(
        offers=[depth.DepthLevel(price=10 + n, tasks=1, orders=1) for n in range(rows + 5)],
        bids=[depth.DepthLevel(price=9 - n, tasks=1, orders=1) for n in range(3)],
    )
    charts = _charts(price_window(now=timezone.now()), [], book)
    assert [level.price for level in charts.offer_rows] == list(range(10, 10 + rows))
    assert [level.price for level in charts.bid_rows] == [9, 8, 7]
    assert charts.depth_rows_cut
    fewer = depth.Depth(offers=book.offers[:rows], bids=book.bids)
    assert not dataclasses.replace(charts, depth=fewer).depth_rows_cut


def test_the_tables_rows_say_what_the_template_filters_would():
    from django.template import Context, Template

    from marketplace.indexer.prices import PricePoint

    start = datetime.datetime(2026, 3, 1, 14, tzinfo=datetime.UTC)
    points = [
        PricePoint(start=start, median=250_000_000, low=1, high=12_000 * 10**9, deals=3, tasks=1234)
    ]
    book = depth.Depth(
        offers=[depth.DepthLevel(price=10**9, tasks=5, orders=2)],
        bids=[depth.DepthLevel(price=7 * 10**8, tasks=1, orders=1)],
    )
    charts = _charts(price_window(bucket="hour", now=start), points, book)
    filtered = Template(
        "{% load ui %}{{ p.median|ect_units }}|{{ p.low|ect_units }}|{{ p.high|ect_units }}"
    ).render(Context({"p": points[0]}))

    assert filtered == "0.25 ECT|0.000000001 ECT|12000 ECT"
    assert charts.history_rows == (
        '<tr><td>2026-03-01 14:00</td><td class="num">0.25 ECT</td>'
        '<td class="num">0.000000001 ECT</td><td class="num">12000 ECT</td>'
        '<td class="num">3</td><td class="num">1234</td></tr>'
    )
    by_day = dataclasses.replace(charts, window=price_window(now=start))
    assert by_day.history_rows.startswith("<tr><td>2026-03-01</td>")
    assert charts.depth_rows == (
        '<tr><td>Offered</td><td class="num">1 ECT</td><td class="num">5</td>'
        '<td class="num">2</td></tr><tr><td>Asked</td><td class="num">0.7 ECT</td>'
        '<td class="num">1</td><td class="num">1</td></tr>'
    )


# Up to 28 digits: the filter's decimals round beyond (a billion billion ECT and more).
@given(units=st.integers(min_value=0, max_value=10**28 - 1))
def test_a_table_writes_any_amount_as_the_ect_units_filter_does(units):
    from frontend.templatetags.ui import ect_units

    assert price_charts.ect_text(units) == ect_units(units)
