"""The buyer's requirements and preferences in the API: the quote takes the pool that fits them
and ranks first, says why none fits, and refuses bad ones naming the field; the market's
explanation answers the same without a quote."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.chain.orders import AppOrder, WorkerpoolOrder
from marketplace.orders.models import DemandSample, Order
from pools.models import Workerpool
from pools.records import pool_records_refresh
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.marketplace.orders.test_purchases import publish
from tests.pools.members import admit

pytestmark = pytest.mark.django_db

QUOTE = "/api/v1/orders/quote/"


def finished_task(pool: str, seconds: int) -> None:
    now = timezone.now()
    deal = DealFactory(workerpool=pool, start_time=now - datetime.timedelta(seconds=seconds))
    TaskFactory(deal=deal, finished_at=now)
    pool_records_refresh(chain_id=deal.chain_id, workerpools=[pool])  # as the indexer would


@pytest.fixture
def book(market, index):
    """Two pools selling XS tasks, both with members to run them: Pool A (the market's) at
    2 ECT, energy class E, a task done in 10 minutes; Pool B at 3 ECT, class A, a task done in
    one minute. The app sells at 1 ECT."""
    market.pool_b = market.add_workerpool(owner=market.other_scheduler, description="Pool B")
    index()  # Pool B's registration: its listing, described as the chain has it
    Workerpool.objects.filter(listing__chain_address=market.pool_b).update(energy_class="A")
    admit(market.workerpool, market.workers)
    admit(market.pool_b, market.workers)
    publish(market, AppOrder(app=market.app, appprice=ECT, volume=50), market.app_owner.key)
    for pool, price, scheduler in (
        (market.workerpool, 2, market.scheduler),
        (market.pool_b, 3, market.other_scheduler),
    ):
        offer = WorkerpoolOrder(
            workerpool=pool, workerpoolprice=price * ECT, volume=50, category=0, trust=1
        )
        publish(market, offer, scheduler.key)
    finished_task(market.workerpool, 600)
    finished_task(market.pool_b, 60)
    return market


@pytest.fixture
def buyer(market) -> APIClient:
    client = APIClient()
    client.user = WalletFactory(address=market.requester.address).user
    client.force_authenticate(client.user)
    return client


def ask(market, **fields) -> dict:
    return {
        "requester": market.requester.address,
        "app": market.app,
        "category": 0,
        "args": "--width 64 /input/in.svg /output/out.png",
        **fields,
    }


def quote(client, market, **fields) -> dict:
    response = client.post(QUOTE, ask(market, **fields), "json")
    assert response.status_code == 200, response.json()
    return response.json()


def explain(client, market, **fields):
    body = ask(market, **fields)
    del body["args"]
    return client.post(reverse("api_market_explain"), body, "json")


def test_the_quote_takes_the_cheapest_pool_by_default_and_tells_the_market(buyer, book):
    answer = quote(buyer, book)

    assert answer["ready"] is True
    assert answer["workerpool_order"]["asset"] == book.workerpool
    market = answer["market"]
    assert market["sentence"] == "Of 2 pools, 2 can run it: Pool A and Pool B."
    assert [row["name"] for row in market["ranking"]] == ["Pool A", "Pool B"]
    assert market["ranking"][0]["offer"] == answer["workerpool_order"]["digest"]
    assert market["preset"] == "cheapest"


@pytest.mark.parametrize(
    "preferences",
    [{"preset": "greenest"}, {"preset": "fastest"}, {"weights": {"price": 1, "speed": 3}}],
)
def test_the_buyers_preferences_change_the_pool_the_quote_takes(buyer, book, preferences):
    answer = quote(buyer, book, preferences=preferences)

    assert answer["ready"] is True
    assert answer["workerpool_order"]["asset"] == book.pool_b
    assert answer["market"]["ranking"][0]["offer"] == answer["workerpool_order"]["digest"]
    # The buyer signs for the price of the pool it takes.
    message = answer["request_typed_data"]["message"]
    assert message["workerpoolmaxprice"] == str(3 * ECT)


def test_requirements_the_quote_takes_the_pool_that_meets_them(buyer, book):
    answer = quote(buyer, book, requirements={"energy_class": "B", "deadline_minutes": 5})

    assert answer["workerpool_order"]["asset"] == book.pool_b
    assert answer["market"]["ruled_out"] == [
        {
            "condition": "energy_class",
            "words": "1 has an energy class below B",
            "count": 1,
            "first": 1,
        },
        {
            "condition": "deadline_minutes",
            "words": "1 does not finish within 5 minutes (or has no timing yet)",
            "count": 1,
            "first": 0,
        },
    ]


def test_requirements_that_rule_every_pool_out_leave_the_quote_not_ready_saying_why(buyer, book):
    answer = quote(buyer, book, requirements={"region": "eu-north"})

    assert answer["ready"] is False and answer["request_typed_data"] is None
    assert answer["workerpool_order"] is None
    assert answer["failures"] == [
        {
            "check": "NothingMatches",
            "message": "Of 2 pools, 2 are outside Europe North; none can run it. To get a match: "
            "choose Europe West instead: 2 more pools.",
        }
    ]
    # Two conditions that each rule out both: no one change lets a pool in, two together do.
    answer = quote(buyer, book, requirements={"region": "eu-north", "max_price": "1"})
    assert answer["failures"] == [
        {
            "check": "NothingMatches",
            "message": "Of 2 pools, 2 are outside Europe North; none can run it. To get a match: "
            "choose Europe West instead and raise max price to 2 ECT: 1 more pool.",
        }
    ]
    assert answer["market"]["fitting"] == 0 and answer["market"]["ranking"] == []
    (suggestion,) = answer["market"]["suggestions"]
    assert (suggestion["field"], suggestion["value"], suggestion["also"]) == (
        "region",
        "eu-west",
        [{"field": "max_price", "value": "2"}],
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"requirements": {"expression": "TARGET.Cores >="}},
            "requirements.expression",
            "requirements.expression: Not a ClassAd expression: it ends with an operator that "
            "has nothing on its right.",
        ),
        (
            {"requirements": {"region": "moon"}},
            "requirements.region",
            "Region is one of eu-west",
        ),
        (
            {"requirements": {"max_price": "cheap"}},
            "requirements.max_price",
            "Max price is an amount of ECT, such as 0.2.",
        ),
        (
            {"requirements": {"max_prize": "1"}},
            "requirements.max_prize",
            "There is no requirement 'max_prize'",
        ),
        (
            {"preferences": {"weights": {"price": -1}}},
            "preferences.weights.price",
            "The price weight is negative (-1)",
        ),
        (
            {"preferences": {"weights": {"speed": "fast"}}},
            "preferences.weights.speed",
            "The speed weight must be a number, not 'fast'",
        ),
        (
            {"preferences": {"weights": {"price": 0, "speed": 0}}},
            "preferences.weights",
            "Every weight is 0",
        ),
        (
            {"preferences": {"preset": "luckiest"}},
            "preferences.preset",
            "There is no preset 'luckiest': choose one of cheapest, fastest, most_trusted, "
            "greenest, balanced, or give weights.",
        ),
        (
            {"preferences": {"preset": "fastest", "weights": {"price": 1}}},
            "preferences",
            "Give a preset or weights, not both",
        ),
    ],
)
def test_a_bad_requirement_or_preference_is_refused_naming_it_and_nothing_is_stored(
    buyer, book, fields, field, words
):
    orders = Order.objects.count()
    for response in (
        buyer.post(QUOTE, ask(book, **fields), "json"),
        explain(buyer, book, **fields),
    ):
        assert response.status_code == 400
        assert response.json()["field"] == field
        assert words in response.json()["error"]
    assert not DemandSample.objects.exists()
    assert Order.objects.count() == orders


def test_the_explanation_tells_the_market_as_the_quote_will_take_it_and_keeps_the_demand(
    buyer, book
):
    preferences = {"preset": "greenest"}
    requirements = {"cores": 1, "region": "eu-west"}

    response = explain(buyer, book, requirements=requirements, preferences=preferences)

    assert response.status_code == 200
    market = response.json()
    taken = quote(buyer, book, requirements=requirements, preferences=preferences)
    assert market == taken["market"]
    assert market["ranking"][0]["pool"] == book.pool_b
    assert market["reason"].startswith("Pool B is first: the greenest (energy class A)")
    sample = DemandSample.objects.get()
    assert sample.chain_id == settings.CHAIN_ID
    assert sample.requirements == {"cores": 1, "region": "eu-west", "trust": 1}


def test_the_explanation_is_for_the_callers_own_wallets(book):
    stranger = APIClient()
    stranger.force_authenticate(WalletFactory().user)

    response = explain(stranger, book)

    assert response.status_code == 403 and response.json()["field"] == "requester"
    assert not DemandSample.objects.exists()


def test_the_buy_pages_top_pick_is_the_pool_the_quote_takes(client, buyer, book):
    app = Listing.objects.get(chain_address=book.app)
    Listing.objects.filter(pk=app.pk).update(is_public=True, status=CurationStatus.APPROVED)
    client.force_login(buyer.user)
    page = client.get(
        reverse("app_market", args=[app.slug]),
        {"category": "0", "trust": "1", "requester": book.requester.address, "preset": "fastest"},
    ).content.decode()
    top = page.split('<tr data-pool="', 1)[1].split('"', 1)[0]

    assert top == quote(buyer, book, preferences={"preset": "fastest"})["workerpool_order"]["asset"]
    assert top == book.pool_b
