"""The market panel of the buy page: before any signature, why pools do not fit the buyer's
requirements, which refuse the request themselves, the changes that let some in (links that
work without JavaScript), and the pools that fit, ranked by the buyer's preset or weights."""

from __future__ import annotations

import datetime
import html
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from eth_account import Account

from marketplace.indexer.models import Asset, Category
from marketplace.orders.models import DemandSample
from pools.records import pool_records_refresh
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory, WorkerpoolFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.marketplace.orders.test_selectors import offer

pytestmark = pytest.mark.django_db

APP = "0x" + "11" * 20


def pool(name: str, price: str, *, region: str, energy: str, seconds: float | None = None, **kw):
    """A listed pool registered on chain (by someone this site does not schedule for) with an
    open XS offer at `price`, and a finished task that took `seconds` (None: none yet)."""
    address = Account.create().address
    listing = WorkerpoolFactory(
        listing__name=name,
        listing__chain_address=address,
        location=region,
        energy_class=energy,
        **kw,
    ).listing
    Asset.objects.create(
        chain_id=settings.CHAIN_ID,
        address=address,
        kind="pool",
        owner=Account.create().address,
        listing=listing,
        name=name,
        registered_block=1,
        block_number=1,
    )
    offer(listing, price, category=0, trust=5)
    if seconds is not None:
        now = timezone.now()
        deal = DealFactory(workerpool=address, start_time=now - datetime.timedelta(seconds=seconds))
        TaskFactory(deal=deal, finished_at=now)
        pool_records_refresh(chain_id=deal.chain_id, workerpools=[address])  # as the indexer
    return listing


@pytest.fixture
def book():
    """An app on chain sold at 0.03 ECT, and three pools selling XS: Lyon Edge Alpha (eu-west,
    class B, 0.1 ECT, 2 minutes), Nordic Hydro (eu-north, class A, 0.3 ECT, 30 seconds) and
    Virginia Basic (us-east, class E, 0.05 ECT, no finished task yet)."""
    Category.objects.create(
        chain_id=settings.CHAIN_ID, block_number=1, catid=0, name="XS", time_ref=300
    )
    app = AppFactory(listing__name="Word count", listing__chain_address=APP).listing
    offer(app, "0.03")
    pools = {
        "lyon": pool("Lyon Edge Alpha", "0.1", region="eu-west", energy="B", seconds=120),
        "nordic": pool("Nordic Hydro", "0.3", region="eu-north", energy="A", seconds=30),
        "virginia": pool("Virginia Basic", "0.05", region="us-east", energy="E"),
    }
    return app, pools


@pytest.fixture
def buyer(client):
    wallet = WalletFactory()
    client.force_login(wallet.user)
    return client


def panel(client, app, **fields) -> str:
    query = {"category": "0", "trust": "1", "volume": "1", **fields}
    response = client.get(reverse("app_market", args=[app.slug]), query)
    assert response.status_code == 200
    return response.content.decode()


def ranked(page: str) -> list[str]:
    """The names of the ranking's rows, best first."""
    table = page.split("data-market-ranking", 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr data-pool=")[1:]
    return [row.split("<td>", 3)[2].split("<", 1)[0].strip() for row in rows]


def suggestion_links(page: str) -> dict[str, str]:
    """The suggestions' words, each with its link."""
    links = {}
    for part in page.split("<a class=")[1:]:
        if "data-market-suggestion" in part.split(">", 1)[0]:
            href = part.split('href="', 1)[1].split('"', 1)[0]
            words = part.split(">", 1)[1].split("</a>", 1)[0]
            links[html.unescape(words)] = html.unescape(href)
    return links


def test_the_panel_says_why_pools_do_not_fit_and_ranks_those_that_do(buyer, book):
    app, _ = book

    page = panel(buyer, app, region="eu-west")

    assert "Of 3 pools, 2 are outside Europe West; 1 can run it: Lyon Edge Alpha." in page
    assert '<tr data-condition="region"><td>Region Europe West</td><td>2</td></tr>' in page
    assert ranked(page) == ["Lyon Edge Alpha"]
    assert "Lyon Edge Alpha is the only pool that fits your requirements." in page


def test_a_request_nothing_fits_says_why_and_links_to_the_change_that_lets_pools_in(buyer, book):
    app, _ = book

    page = panel(buyer, app, region="eu-west", max_price="0.06", expression="TARGET.Cores >= 2")

    assert "none can run it." in page
    assert "data-market-ranking" not in page
    links = suggestion_links(page)
    # Each lets in a pool only that one condition keeps out.
    assert set(links) == {
        "Raise max price to 0.1 ECT: 1 more pool",
        "Choose North America East instead: 1 more pool",
    }
    href = urlsplit(links["Raise max price to 0.1 ECT: 1 more pool"])
    assert href.path == reverse("app_buy", args=[app.slug])
    # The link keeps the whole request, with only the price changed.
    query = parse_qs(href.query)
    assert query["max_price"] == ["0.1"] and query["region"] == ["eu-west"]
    assert query["expression"] == ["TARGET.Cores >= 2"] and query["category"] == ["0"]


def test_following_a_suggestion_opens_the_buy_page_with_the_change_and_its_market(buyer, book):
    app, _ = book
    links = suggestion_links(panel(buyer, app, region="eu-west", max_price="0.06"))

    page = buyer.get(links["Raise max price to 0.1 ECT: 1 more pool"]).content.decode()

    # Without JavaScript: the form holds the request, and the page shows what it finds.
    assert 'name="max_price" value="0.1"' in page
    assert '<option value="eu-west" selected>' in page
    assert ranked(page) == ["Lyon Edge Alpha"]


def test_when_no_one_change_is_enough_the_link_makes_two_and_finds_the_pool(buyer, book):
    app, _ = book

    page = panel(buyer, app, region="eu-west", energy_class="A", max_price="0.01")

    links = suggestion_links(page)
    assert set(links) == {
        "Choose Europe North instead and raise max price to 0.3 ECT: 1 more pool",
        "Accept energy class B and raise max price to 0.1 ECT: 1 more pool",
    }
    link = links["Accept energy class B and raise max price to 0.1 ECT: 1 more pool"]
    query = parse_qs(urlsplit(link).query)
    assert (query["energy_class"], query["max_price"], query["region"]) == (
        ["B"],
        ["0.1"],
        ["eu-west"],
    )
    # The page's script makes both changes too.
    assert 'data-field="energy_class" data-value="B" data-also="[[&quot;max_price&quot;, ' in page
    assert ranked(buyer.get(link).content.decode()) == ["Lyon Edge Alpha"]


def test_the_preset_decides_the_order_of_the_pools_that_fit(buyer, book):
    app, _ = book

    assert ranked(panel(buyer, app))[0] == "Virginia Basic"  # cheapest by default
    assert ranked(panel(buyer, app, preset="fastest"))[0] == "Nordic Hydro"
    greenest = panel(buyer, app, preset="greenest")
    assert ranked(greenest)[0] == "Nordic Hydro"
    assert "Ranked by greenest" in greenest


def test_the_buyers_own_weights_rank_the_pools(buyer, book):
    app, _ = book

    page = panel(buyer, app, preset="custom", weight_price="0", weight_speed="1")

    # A pool without a time counts as the slowest, never as fast: Virginia Basic ties with
    # Lyon Edge Alpha, and its price (the criterion of least weight, 0) does not count.
    names = ranked(page)
    assert names[0] == "Nordic Hydro" and set(names[1:]) == {"Lyon Edge Alpha", "Virginia Basic"}
    assert "Nordic Hydro is first: the fastest (median 30 s to finish)" in page
    assert "Ranked by your weights" in page


def test_a_value_a_pool_has_no_data_for_says_so(buyer, book):
    app, _ = book

    page = panel(buyer, app, region="us-east")

    row = page.split("<tr data-pool=", 1)[1].split("</tr>", 1)[0]
    # Virginia Basic has finished no task: no median time, no reliability; never a made-up one.
    assert [cell.split("</td>")[0].strip() for cell in row.split("<td>")[1:]] == [
        "1",
        'Virginia Basic <span class="badge">top pick</span>',
        "0.05",
        "no data yet",
        "5",
        "no data yet",
        "E",
        "1.00",
    ]
    assert "No timing data yet" in page and "<svg" not in page


def test_the_price_and_speed_chart_shows_the_pools_that_fit(buyer, book):
    app, _ = book

    page = panel(buyer, app)

    assert '<svg xmlns="http://www.w3.org/2000/svg" class="pareto-chart"' in page
    assert "No timing data yet" not in page


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"expression": "TARGET.Cores >="},
            "expression",
            "Advanced: a ClassAd expression over the pool's ad: Not a ClassAd expression: it "
            "ends with an operator that has nothing on its right.",
        ),
        ({"max_price": "cheap"}, "max_price", "Max price is an amount of ECT, such as 0.2."),
        ({"region": "moon"}, "region", "Region is one of eu-west"),
        (
            {"preset": "custom", "weight_price": "-1"},
            "weight_price",
            "The price weight is negative",
        ),
        (
            {"preset": "custom", "weight_speed": "fast"},
            "weight_speed",
            "must be a number, not 'fast'",
        ),
        ({"preset": "custom"}, "", "Every weight is 0"),
        ({"requester": "0x" + "99" * 20}, "requester", "is not one of your linked wallets"),
    ],
)
def test_a_request_that_cannot_be_matched_says_which_field_is_wrong_and_is_not_kept(
    buyer, book, fields, field, words
):
    app, _ = book

    page = panel(buyer, app, **fields)

    errors = page.split("data-market-errors>", 1)[1].split("</ul>", 1)[0]
    assert words in html.unescape(errors)
    assert (f'data-field="{field}"' in errors) == bool(field)
    assert "data-market-ranking" not in page
    assert not DemandSample.objects.exists()


def test_each_ask_is_kept_as_demand_but_a_head_request_writes_nothing(buyer, book):
    app, _ = book
    url = reverse("app_market", args=[app.slug])
    query = {"category": "0", "trust": "1", "region": "eu-west", "cores": "2"}

    assert buyer.head(url, query).status_code == 200
    assert not DemandSample.objects.exists()

    buyer.get(url, query)

    sample = DemandSample.objects.get()
    assert sample.requirements == {"cores": 2, "region": "eu-west", "trust": 1}
    assert (sample.request["App"], sample.request["Category"]) == (APP, 0)


def test_opening_the_buy_page_is_not_demand_but_sending_its_form_is(buyer, book):
    app, _ = book
    url = reverse("app_buy", args=[app.slug])

    page = buyer.get(url).content.decode()

    assert ranked(page) == ["Virginia Basic", "Lyon Edge Alpha", "Nordic Hydro"]
    assert not DemandSample.objects.exists()
    buyer.get(url, {"category": "0", "energy_class": "B"})
    assert DemandSample.objects.get().requirements["energy_class"] == "B"


def test_a_pool_that_refuses_the_request_by_its_own_requirements_is_named_with_why(buyer, book):
    app, pools = book
    pools["lyon"].workerpool.requirements = "TARGET.RequesterDeals >= 3"
    pools["lyon"].workerpool.save()

    page = panel(buyer, app, region="eu-west")

    assert "1 refuses this request by its own requirements" in page
    assert (
        "<li><strong>Lyon Edge Alpha</strong> requires "
        '<code class="mono">TARGET.RequesterDeals &gt;= 3</code></li>' in page
    )


def test_the_panel_needs_a_signed_in_user(client, book):
    app, _ = book
    assert client.get(reverse("app_market", args=[app.slug]), {"category": "0"}).status_code == 302


def test_a_request_nothing_fits_offers_to_wait_for_an_offer_with_the_request_filled_in(buyer, book):
    app, _ = book
    page = panel(buyer, app, region="eu-west", max_price="0.06", preset="greenest")
    link = html.unescape(page.split("data-market-standing", 1)[0].rsplit('href="', 1)[1])
    href = urlsplit(link.split('"', 1)[0])
    assert href.path == reverse("standing_new")
    query = parse_qs(href.query)
    assert query["app"] == [APP] and query["region"] == ["eu-west"]
    assert query["max_price"] == ["0.06"] and query["preset"] == ["greenest"]
    form = buyer.get(link.split('"', 1)[0])
    assert form.status_code == 200
    assert 'value="0.06"' in form.content.decode()  # the new request starts from this one


def test_an_unknown_ranking_is_refused_naming_the_ones_there_are(buyer, book):
    app, _ = book

    page = panel(buyer, app, preset="nope")

    assert (
        "There is no ranking “nope”: choose Cheapest, Fastest, Most trusted, Greenest, "
        "Balanced, or your own weights." in html.unescape(page)
    )
