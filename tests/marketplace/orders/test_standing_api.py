"""The standing requests' API: publish a signed request that waits for an offer, list yours,
follow one (why nothing fits yet, then its deal), on anvil."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.orders.models import Order
from tests.factories.accounts import WalletFactory
from tests.marketplace.orders.standing_helpers import (
    match_round,
    open_book,
    pool_offer,
    signed,
    stand,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/standing/"


@pytest.fixture
def book(market):
    return open_book(market)


@pytest.fixture
def buyer(book) -> APIClient:
    client = APIClient()
    client.force_authenticate(WalletFactory(address=book.requester.address).user)
    return client


def publish_standing(client, market, **body):
    message, signature = signed(market)
    return client.post(
        URL,
        {"request": message, "signature": signature, **body},
        "json",
    )


def test_a_published_standing_request_says_what_it_waits_for(buyer, book):
    expires_at = (timezone.now() + datetime.timedelta(days=2)).replace(microsecond=0)
    response = publish_standing(
        buyer,
        book,
        requirements={"max_price": "2.5"},
        preferences={"preset": "balanced"},
        expires_at=expires_at.isoformat(),
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    digest = body["digest"]
    assert (body["status"], body["volume"], body["remaining"], body["app"]) == (
        "open",
        2,
        2,
        book.app,
    )
    assert body["max_prices"] == {"app": "1", "dataset": "0", "workerpool": "3"}
    assert body["requirements"] == {"max_price": "2.5"}
    assert body["preferences"]["preset"] == "balanced"
    assert datetime.datetime.fromisoformat(body["expires_at"]) == expires_at
    assert (body["url"], body["deals"], body["matches"]) == (f"/requests/{digest}/", [], [])
    assert Order.objects.get(digest=digest).expires_at == expires_at


def test_a_waiting_request_tells_why_nothing_fits_then_its_deal(buyer, book, index):
    digest = publish_standing(buyer, book).json()["digest"]

    waiting = buyer.get(f"{URL}{digest}/").json()
    assert waiting["waiting_for"] == ["No pool is offering work right now."]
    assert (waiting["market"]["pools"], waiting["market"]["fitting"]) == (0, 0)

    pool_offer(book, price=3)
    (dealid,) = match_round(book).matched
    index()

    matched = buyer.get(f"{URL}{digest}/").json()
    assert (matched["status"], matched["remaining"]) == ("filled", 0)
    assert matched["deals"] == [{"dealid": dealid, "url": f"/deals/{dealid}/"}]
    assert [(m["dealid"], m["status"], m["volume"]) for m in matched["matches"]] == [
        (dealid, "confirmed", 2)
    ]
    assert (matched["waiting_for"], matched["market"]) == ([], None)
    (listed,) = buyer.get(URL).json()
    assert listed["deals"] == matched["deals"]


def test_the_list_has_your_standing_requests_only(buyer, book):
    digest = publish_standing(buyer, book).json()["digest"]
    stranger = APIClient()
    stranger.force_authenticate(WalletFactory().user)

    assert [r["digest"] for r in buyer.get(URL).json()] == [digest]
    assert stranger.get(URL).json() == []
    refused = stranger.get(f"{URL}{digest}/")
    assert refused.status_code == 403
    assert refused.json()["error"].startswith(
        f"Only the request's requester ({book.requester.address})"
    )


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"preferences": {"preset": "fast"}}, "preferences.preset", "There is no preset 'fast'"),
        (
            {"requirements": {"energy_class": "Z"}},
            "requirements.energy_class",
            "Energy class is one of A, B, C, D, E.",
        ),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at", "The expiry 2001-01-01T00:00:00"),
        ({"expires_at": "tomorrow"}, "expires_at", "expires_at: Datetime has wrong format."),
    ],
)
def test_bad_inputs_are_refused_naming_the_field_and_nothing_is_stored(
    buyer, book, body, field, words
):
    response = publish_standing(buyer, book, **body)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(words)
    assert not Order.objects.filter(kind="request").exists()


def test_a_request_for_a_category_the_hub_lacks_is_refused_and_nothing_is_stored(buyer, book):
    message, signature = signed(book, category=99)

    response = buyer.post(URL, {"request": message, "signature": signature}, "json")

    assert response.status_code == 400
    assert response.json()["field"] == "category"
    assert response.json()["error"] == (
        "The Hub has no such category: choose one of 0 (XS), 1 (S), 2 (M), 3 (L), 4 (XL)."
    )
    assert not Order.objects.filter(kind="request").exists()


def test_a_request_of_a_wallet_not_yours_is_refused(book):
    stranger = APIClient()
    stranger.force_authenticate(WalletFactory().user)

    response = publish_standing(stranger, book)

    assert response.status_code == 403
    assert response.json()["field"] == "requester"
    assert not Order.objects.filter(kind="request").exists()


def test_a_malformed_or_unknown_digest_is_said_so(buyer):
    malformed = buyer.get(f"{URL}0x12/")
    assert (malformed.status_code, malformed.json()["field"]) == (400, "digest")
    unknown = buyer.get(f"{URL}0x{'ab' * 32}/")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == f"No standing request 0x{'ab' * 32} in the book."


def test_standing_requests_are_for_signed_in_buyers():
    assert APIClient().get(URL).status_code in (401, 403)
    assert APIClient().post(URL, {}, "json").status_code in (401, 403)


def test_a_requests_signature_is_shown_to_its_requester_only(market):
    """Whoever holds a request's signature can match it on chain with any pool within its
    max prices, past the requirements it stands in the book with: the book keeps it."""
    book = open_book(market)
    owner = WalletFactory(address=book.requester.address).user
    order = stand(book, owner, requirements={"region": "eu-west"})
    stranger, signer, anonymous = APIClient(), APIClient(), APIClient()
    stranger.force_authenticate(WalletFactory().user)
    signer.force_authenticate(owner)
    for client in (stranger, anonymous):
        detail = client.get(f"/api/v1/orders/{order.digest}/").json()
        assert detail["kind"] == "request" and detail["signature"] == ""
        listed = client.get("/api/v1/orders/", {"kind": "request"}).json()["results"]
        assert [row["signature"] for row in listed] == [""]
    assert signer.get(f"/api/v1/orders/{order.digest}/").json()["signature"] == order.signature
    offers = stranger.get("/api/v1/orders/", {"kind": "app"}).json()["results"]
    assert offers and all(row["signature"] for row in offers)  # offers are for anyone to take
