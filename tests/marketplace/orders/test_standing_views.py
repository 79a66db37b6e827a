"""The pages of standing requests: yours, one waiting for an offer (read again by htmx), then
matched, cancelling one, and a new one built from the buy form's query string."""

from __future__ import annotations

import datetime
import html
import json
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from marketplace.catalogue.models import Listing
from marketplace.orders import standing
from marketplace.orders.models import Order, OrderStatus
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.marketplace.orders.standing_helpers import (
    PARAMS,
    list_publicly,
    match_round,
    open_book,
    pool_offer,
    stand,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(market):
    return list_publicly(open_book(market))


@pytest.fixture
def requester(book):
    return WalletFactory(address=book.requester.address).user


@pytest.fixture
def browser(requester) -> Client:
    client = Client()
    client.force_login(requester)
    return client


def _listing(address: str) -> Listing:
    return Listing.objects.get(chain_address=address)


def test_my_requests_list_them_waiting(browser, book, requester):
    order = stand(book, requester)

    page = browser.get("/requests/").content.decode()

    assert f'href="/requests/{order.digest}/"' in page
    assert f'<a href="/apps/{_listing(book.app).slug}/" title="{book.app}">Word count</a>' in page
    assert "waiting for an offer" in page
    assert "2 of 2" in page
    # Found from every page's header, and a new one is a click away.
    assert '<a href="/requests/">My requests</a>' in page
    assert '<a class="btn" href="/requests/new/">New request</a>' in page


def test_a_waiting_request_says_why_and_reads_itself_again(browser, book, requester):
    order = stand(book, requester)

    page = browser.get(f"/requests/{order.digest}/").content.decode()

    assert '<h2 id="state-title">Waiting for an offer</h2>' in page
    assert "No pool is offering work right now." in page
    assert f'hx-get="/requests/{order.digest}/" hx-trigger="every 5s"' in page
    assert 'action="/requests/' + order.digest + '/cancel/"' in page
    # htmx reads the live part alone
    part = browser.get(f"/requests/{order.digest}/", HTTP_HX_REQUEST="true").content.decode()
    assert part.startswith('<section id="standing-live"') and "<html" not in part
    assert "No pool is offering work right now." in part


def test_a_matched_request_links_its_deal_before_and_after_the_index_reads_it(
    browser, book, requester, index
):
    order = stand(book, requester)
    pool_offer(book, price=3)
    (dealid,) = match_round(book).matched

    for indexed in (False, True):
        if indexed:
            index()
        part = browser.get(f"/requests/{order.digest}/", HTTP_HX_REQUEST="true").content.decode()

        assert f'matched: deal <a class="mono" href="/deals/{dealid}/">{dealid}</a>' in part
        assert "Every task of the request is matched." in part
        assert "hx-trigger" not in part  # nothing more to wait for
        assert "Waiting for an offer" not in part


def test_cancelling_takes_it_off_the_book_and_offers_the_close(browser, book, requester):
    order = stand(book, requester)

    response = browser.post(f"/requests/{order.digest}/cancel/")

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.unpublished) == (OrderStatus.CANCELLED, True)
    page = browser.get(response["Location"]).content.decode()
    assert f'data-trade-close data-digest="{order.digest}"' in page
    assert "Cancel the request" not in page
    assert match_round(book).waiting == 0  # the matcher no longer looks at it


def test_someone_elses_request_is_not_found(book, requester):
    order = stand(book, requester)
    stranger = Client()
    stranger.force_login(WalletFactory().user)

    assert stranger.get(f"/requests/{order.digest}/").status_code == 404
    assert stranger.post(f"/requests/{order.digest}/cancel/").status_code == 404
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN


def _signing(page: str) -> dict:
    block = re.search(r'<script id="standing-signing" type="application/json">(.*?)</script>', page)
    return json.loads(block.group(1))


def _field(page: str, name: str) -> str:
    """The form's field `name` as the page shows it: its label, its input and its errors."""
    return next(
        part.split("</div>", 1)[0]
        for part in page.split('<div class="field')[1:]
        if f'id="id_{name}"' in part.split("</div>", 1)[0]
    )


def _new(browser, book, **fields) -> str:
    query = {
        "app": book.app,
        "category": 0,
        "trust": 1,
        "volume": 2,
        "args": "--width 64 input.svg out.png",
        "requester": book.requester.address,
        "max_price": "3",
        "preset": "cheapest",
        "expires_days": 3,
        "show": 1,  # the form sent
        **fields,
    }
    return browser.get("/requests/new/?" + urlencode(query)).content.decode()


def test_a_new_request_shows_what_will_be_signed(browser, book):
    page = _new(browser, book, region="eu-west")

    block = re.search(r'<script id="standing-signing" type="application/json">(.*?)</script>', page)
    signing = json.loads(block.group(1))
    message = signing["typed_data"]["message"]
    assert (message["appmaxprice"], message["workerpoolmaxprice"]) == (str(ECT), str(3 * ECT))
    assert (message["requester"], message["volume"], message["params"]) == (
        book.requester.address,
        "2",
        PARAMS,
    )
    assert signing["requirements"] == {"region": "eu-west", "max_price": "3"}
    assert signing["preferences"] == {"preset": "cheapest"}
    assert signing["deposit_needed"] == "0"  # 1,000 ECT staked
    assert "<strong>8 ECT</strong>" in page  # at most (1 + 3) ECT for each of 2 tasks
    assert "data-standing-sign-button" in page
    assert not Order.objects.filter(kind="request").exists()  # nothing is published yet


def test_a_new_request_without_an_app_offer_asks_for_the_app_price(browser, book):
    Order.objects.filter(kind="app").delete()

    page = _new(browser, book)

    assert "Nobody sells runs of this app to you right now" in page
    assert "data-standing-sign-button" not in page
    assert "data-standing-sign-button" in _new(browser, book, app_max="0.5")


def test_a_new_request_needs_a_pool_price(browser, book):
    page = _new(browser, book, max_price="")

    assert "This field is required." in page
    assert "data-standing-sign-button" not in page


def test_a_request_page_says_what_it_asks_in_words(browser, book, requester):
    order = stand(
        book,
        requester,
        workerpool=book.workerpool,
        requirements={"cores": 4, "memory_mb": 2048, "region": "eu-west", "max_price": "0.05"},
        preferences={"weights": {"price": 3, "speed": 1}},
    )
    app, pool = _listing(book.app), _listing(book.workerpool)

    page = browser.get(f"/requests/{order.digest}/").content.decode()

    assert (
        f'<dt>App</dt><dd><a href="/apps/{app.slug}/">{app.name}</a> '
        f'<span class="mono small muted wrap-any">{book.app}</span></dd>'
    ) in page
    assert f'<a href="/pools/{pool.slug}/">{pool.name}</a>' in page
    assert "<dd>XS · up to 5 min" in page
    assert (
        "<dd>Cores at least 4 · Memory at least 2048 MiB · Region Europe West · "
        "Max pool price 0.05 ECT</dd>"
    ) in page
    assert "memory_mb" not in page
    assert "<dd>your weights: price 3, speed 1</dd>" in page


def test_a_request_page_names_its_preset(browser, book, requester):
    order = stand(book, requester, preferences={"preset": "most_trusted"})

    page = browser.get(f"/requests/{order.digest}/").content.decode()

    assert "<dt>Best offer is</dt><dd>Most trusted</dd>" in page
    assert "<dt>Requirements</dt><dd>none</dd>" in page
    assert "<dt>Pool</dt><dd>the best offer of any pool</dd>" in page


def test_a_new_request_is_chosen_by_name(browser, book):
    page = browser.get("/requests/new/").content.decode()

    app, dataset, pool = (_listing(a) for a in (book.app, book.dataset, book.workerpool))
    assert '<option value="" selected>Choose the app</option>' in page
    assert f'<option value="{book.app}">{app.name}</option>' in page
    assert '<option value="" selected>None</option>' in page
    assert f'<option value="{book.dataset}">{dataset.name}</option>' in page
    assert '<option value="" selected>The best offer of any pool</option>' in page
    assert f'<option value="{book.workerpool}">{pool.name}</option>' in page
    assert '<option value="1">S · up to 20 min</option>' in page
    assert "data-standing-sign-button" not in page


def test_an_app_not_listed_publicly_is_not_offered(browser, book):
    Listing.objects.filter(chain_address=book.app).update(is_public=False, status="pending")

    page = browser.get("/requests/new/").content.decode()

    assert f'value="{book.app}"' not in page
    assert "No public app with this address: choose one from the list." in _new(browser, book)


@pytest.mark.parametrize("asked", ["lower-case address", "slug"])
def test_a_new_request_preselects_the_app_the_buy_page_names(browser, book, asked):
    app = _listing(book.app)
    value = book.app.lower() if asked == "lower-case address" else app.slug

    page = _new(browser, book, app=value, workerpool=book.workerpool.lower(), category=1)

    assert f'<option value="{book.app}" selected>{app.name}</option>' in page
    assert f'<option value="{book.workerpool}" selected>' in page
    assert '<option value="1" selected>S · up to 20 min</option>' in page
    signing = json.loads(
        re.search(
            r'<script id="standing-signing" type="application/json">(.*?)</script>', page
        ).group(1)
    )
    assert (
        signing["typed_data"]["message"]["app"],
        signing["typed_data"]["message"]["workerpool"],
    ) == (book.app, book.workerpool)
    assert f'<dt>App</dt><dd><a href="/apps/{app.slug}/">{app.name}</a>' in page
    assert "<dt>Category, trust</dt><dd>S · up to 20 min" in page


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"app": "0x" + "ab" * 20}, "No public app with this address: choose one from the list."),
        ({"app": "no-such-app"}, "&#x27;no-such-app&#x27; is no public app of this site"),
        (
            {"workerpool": "0x" + "cd" * 20},
            "No public pool with this address: choose one from the list.",
        ),
        (
            {"category": 99},
            "The Hub has no such category: choose one of 0 (XS), 1 (S), 2 (M), 3 (L), 4 (XL).",
        ),
    ],
)
def test_a_new_request_for_what_is_not_on_offer_is_refused_before_signing(
    browser, book, fields, words
):
    page = _new(browser, book, **fields)

    assert words in page
    assert "data-standing-sign-button" not in page


def _standing_link(browser, book, **fields) -> str:
    """The buy page's "wait for an offer" link for the request `fields` describe."""
    app = _listing(book.app)
    query = {"category": "0", "trust": "1", "volume": "2", **fields}
    panel = browser.get(reverse("app_market", args=[app.slug]), query).content.decode()
    href = panel.split("data-market-standing", 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    return html.unescape(href)


def test_the_buy_pages_link_keeps_the_buyers_weights_and_expression(browser, book):
    link = _standing_link(
        browser,
        book,
        preset="custom",
        weight_price="3",
        weight_speed="1",
        expression="TARGET.Workers >= 3",
        max_price="3",
    )

    page = browser.get(link).content.decode()

    assert "This field is required." not in page and 'role="alert"' not in page
    assert '<option value="custom" selected>My weights (below)</option>' in page
    assert 'name="weight_price" value="3"' in _field(page, "weight_price")
    assert 'name="weight_speed" value="1"' in _field(page, "weight_speed")
    assert "TARGET.Workers &gt;= 3</textarea>" in _field(page, "expression")
    assert 'name="max_price" value="3"' in _field(page, "max_price")
    assert "data-standing-sign-button" not in page  # the buyer sends the form first
    # sent as it opened, it is what will be signed
    sent = browser.get(link + "&show=1").content.decode()
    signing = _signing(sent)
    assert signing["preferences"] == {
        "weights": {"price": 3.0, "speed": 1.0, "trust": 0.0, "reliability": 0.0, "energy": 0.0}
    }
    assert signing["requirements"] == {"expression": "TARGET.Workers >= 3", "max_price": "3"}
    assert standing.standing_preferences(signing["preferences"])[1].as_dict()["price"] == 3.0
    assert "<dt>Best offer is</dt><dd>your weights: price 3, speed 1</dd>" in sent
    assert "Your expression: TARGET.Workers &gt;= 3" in sent


@pytest.mark.parametrize("opened", ["bare", "plain link"])
def test_the_new_request_page_opens_without_errors(browser, book, opened):
    url = "/requests/new/" if opened == "bare" else _standing_link(browser, book)

    page = browser.get(url).content.decode()

    assert "This field is required." not in page and 'role="alert"' not in page
    assert 'name="expires_days" value="7"' in _field(page, "expires_days")
    assert 'value="' not in _field(page, "max_price")
    # sent without a pool price, it says so there
    sent = browser.get(url + ("&" if "?" in url else "?") + "show=1").content.decode()
    assert "This field is required." in _field(sent, "max_price")
    assert 'role="alert"' not in _field(sent, "expires_days")


@pytest.mark.parametrize(
    ("weights", "field", "words"),
    [
        (
            {"weight_price": "1", "weight_speed": "fast"},
            "weight_speed",
            "The speed weight must be a number, not &#x27;fast&#x27;",
        ),
        ({"weight_energy": "-1"}, "weight_energy", "The energy weight is negative (-1)"),
    ],
)
def test_weights_that_cannot_rank_are_refused_on_their_field(browser, book, weights, field, words):
    page = _new(browser, book, preset="custom", **weights)

    assert words in _field(page, field)
    assert page.count('class="error" role="alert"') == 1
    assert "data-standing-sign-button" not in page


def test_weights_all_zero_are_refused_for_the_form(browser, book):
    page = _new(browser, book, preset="custom", weight_price="0")

    form = page.split("<h2>What to wait for</h2>", 1)[1].split('<div class="field', 1)[0]
    assert "Every weight is 0: give at least one criterion a weight above 0" in form
    assert "data-standing-sign-button" not in page


def test_the_new_request_names_regions(browser, book):
    page = browser.get("/requests/new/").content.decode()

    assert '<option value="eu-west">Europe West</option>' in _field(page, "region")
    assert '<option value="" selected>Any region</option>' in _field(page, "region")
    assert "Region Europe West" in _new(browser, book, region="eu-west")


def test_the_new_request_starts_from_the_apps_default_arguments(browser, book):
    app = _listing(book.app).app
    app.default_args = "--width 32 input.svg out.png"
    app.save()

    page = browser.get("/requests/new/?" + urlencode({"app": book.app})).content.decode()
    cleared = browser.get("/requests/new/?" + urlencode({"app": book.app, "args": ""}))

    assert 'name="args" value="--width 32 input.svg out.png"' in _field(page, "args")
    assert 'value="' not in _field(cleared.content.decode(), "args")
    sent = _new(browser, book)
    assert '<dt>Runs</dt><dd><code class="mono">app --width 64 input.svg out.png</code>' in sent
    assert "Runs with" not in sent


def test_a_waiting_request_counts_the_pools_a_condition_rules_out_once(browser, book, requester):
    pool_offer(book, price=3)
    order = stand(book, requester, category=1)

    page = browser.get(f"/requests/{order.digest}/").content.decode()

    rules = page.split("<h3>What rules pools out</h3>", 1)[1].split("</ul>", 1)[0]
    assert "<li>1 has no open offer for S tasks</li>" in rules
    assert "pool)" not in rules


@pytest.mark.parametrize("off", ["cancelled", "expired"])
def test_a_request_off_the_book_warns_once_it_is_still_valid_on_chain(
    browser, book, requester, off
):
    order = stand(book, requester)
    if off == "cancelled":
        browser.post(f"/requests/{order.digest}/cancel/")
    else:
        later = timezone.now() + datetime.timedelta(days=8)
        assert standing.standing_expire(chain_id=settings.CHAIN_ID, now=later) == 1

    page = browser.get(f"/requests/{order.digest}/").content.decode()

    assert page.count("valid on chain") == 1
    assert f'data-trade-close data-digest="{order.digest}"' in page
