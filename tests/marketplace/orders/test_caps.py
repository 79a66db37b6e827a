"""Spending caps: set by a wallet's owner, and checked before any request that wallet would pay
for is built (the quote, the match, a standing request's draft and its publication), in the
same words through the form and the API, with nothing signed or stored."""

from __future__ import annotations

import datetime
import html
from urllib.parse import urlencode

import pytest
from django.test import Client
from rest_framework.test import APIClient

from marketplace.indexer.models import OrderKind
from marketplace.orders import caps
from marketplace.orders.models import Order, SpendingCap
from marketplace.orders.services import NotYourOrder
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.factories.deals import DealFactory
from tests.factories.funds import BookOrderFactory, SpendingCapFactory
from tests.marketplace.orders.standing_helpers import list_publicly, open_book, pool_offer, signed

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 1, 10, 12, 0, tzinfo=datetime.UTC)


def _check(address: str, cost: int, **fields) -> None:
    caps.spending_cap_check(chain_id=31337, requester=address, cost=cost, now=NOW, **fields)


# ---------------------------------------------------------------------- setting caps


def test_caps_are_set_changed_and_taken_off():
    wallet = WalletFactory()

    cap = caps.spending_cap_set(
        user=wallet.user, address=wallet.address.lower(), daily=10 * ECT, per_deal=None
    )
    assert (cap.wallet, int(cap.daily), cap.per_deal) == (wallet, 10 * ECT, None)

    caps.spending_cap_set(user=wallet.user, address=wallet.address, daily=None, per_deal=ECT)
    cap = SpendingCap.objects.get()
    assert (cap.daily, int(cap.per_deal)) == (None, ECT)

    assert (
        caps.spending_cap_set(user=wallet.user, address=wallet.address, daily=None, per_deal=None)
        is None
    )
    assert not SpendingCap.objects.exists()


def test_caps_of_a_wallet_not_linked_are_refused():
    wallet = WalletFactory()
    someone = WalletFactory()

    with pytest.raises(NotYourOrder) as refused:
        caps.spending_cap_set(user=someone.user, address=wallet.address, daily=ECT, per_deal=ECT)

    assert str(refused.value) == (
        f"The wallet {wallet.address} is not one of your linked wallets: link it on the wallets "
        "page (sign in with it), then set its caps."
    )
    assert not SpendingCap.objects.exists()


def test_a_cap_beyond_a_billion_ect_is_refused():
    wallet = WalletFactory()

    with pytest.raises(caps.SpendingCapRefused) as refused:
        caps.spending_cap_set(
            user=wallet.user, address=wallet.address, daily=caps.CAP_MAX + 1, per_deal=None
        )

    assert refused.value.field == "daily"
    assert str(refused.value) == (
        "A cap is from 0 to 1,000,000,000 ECT, not 1,000,000,000.000000001 ECT: leave it empty "
        "for no cap."
    )
    assert not SpendingCap.objects.exists()


# ---------------------------------------------------------------------- checking them


def test_a_wallet_without_caps_spends_freely():
    _check(WalletFactory().address, 10**6 * ECT)


def test_a_run_over_the_per_deal_cap_says_which_cap_and_what_to_do():
    cap = SpendingCapFactory(per_deal=ECT)
    address = cap.wallet.address

    _check(address, ECT)  # the cap itself is allowed
    with pytest.raises(caps.SpendingCapExceeded) as refused:
        _check(address, 12 * ECT // 10)

    assert str(refused.value) == (
        f"This run costs 1.2 ECT, over the 1 ECT per-deal cap of wallet {address}; raise the "
        "cap on the wallets page or buy fewer tasks."
    )
    assert refused.value.status == 400


def test_a_standing_request_counts_all_it_may_cost():
    cap = SpendingCapFactory(per_deal=5 * ECT)

    with pytest.raises(caps.SpendingCapExceeded) as refused:
        _check(cap.wallet.address, 8 * ECT, standing=True)

    assert str(refused.value) == (
        f"This standing request may cost up to 8 ECT, over the 5 ECT per-deal cap of wallet "
        f"{cap.wallet.address}; raise the cap on the wallets page or ask for fewer tasks or "
        "lower max prices."
    )


def test_the_daily_cap_counts_deals_paid_and_standing_requests_published_in_24_hours():
    cap = SpendingCapFactory(daily=6 * ECT)
    address = cap.wallet.address
    # Paid 12 hours ago: 2 ECT; 30 hours ago: not today's.
    DealFactory(
        payer=address,
        start_time=NOW - datetime.timedelta(hours=12),
        app_price=ECT,
        workerpool_price=ECT,
    )
    DealFactory(payer=address, start_time=NOW - datetime.timedelta(hours=30), app_price=9 * ECT)
    # Published 2 hours ago and still waiting: it may spend 3 ECT more.
    request = BookOrderFactory(
        kind=OrderKind.REQUEST,
        signer=address,
        price=ECT,
        volume=3,
        expires_at=NOW + datetime.timedelta(days=2),
    )
    Order.objects.filter(pk=request.pk).update(created_at=NOW - datetime.timedelta(hours=2))

    _check(address, ECT)  # 2 + 3 + 1 = 6 ECT: at the cap
    with pytest.raises(caps.SpendingCapExceeded) as refused:
        _check(address, 15 * ECT // 10)

    assert str(refused.value) == (
        f"This run costs 1.5 ECT, and wallet {address} spent or committed 5 ECT in the last 24 "
        "hours: 6.5 ECT, over its 6 ECT daily cap; raise the cap on the wallets page, buy fewer "
        "tasks, or wait until older spending is a day old."
    )


# ---------------------------------------------------------------------- before any request


@pytest.fixture
def book(market):
    """An app offer at 1 ECT and a pool offer at 3 ECT: a run of 2 tasks costs 8 ECT."""
    list_publicly(open_book(market))
    pool_offer(market, price=3)
    return market


@pytest.fixture
def requester(book):
    return WalletFactory(address=book.requester.address)


@pytest.fixture
def buyer(requester) -> APIClient:
    client = APIClient()
    client.force_authenticate(requester.user)
    return client


def _quote(client, market):
    body = {
        "requester": market.requester.address,
        "app": market.app,
        "category": 0,
        "volume": 2,
        "args": "--width 64 input.svg out.png",
    }
    return client.post("/api/v1/orders/quote/", body, "json")


def _over(address: str) -> str:
    return (
        f"This run costs 8 ECT, over the 7 ECT per-deal cap of wallet {address}; raise the cap "
        "on the wallets page or buy fewer tasks."
    )


def test_the_quote_is_refused_over_the_cap_with_no_request_to_sign(buyer, book, requester):
    SpendingCapFactory(wallet=requester, per_deal=7 * ECT)
    orders = Order.objects.count()

    response = _quote(buyer, book)

    assert response.status_code == 400
    assert response.json() == {"error": _over(requester.address)}
    assert Order.objects.count() == orders


def test_the_quote_at_the_cap_is_ready(buyer, book, requester):
    SpendingCapFactory(wallet=requester, per_deal=8 * ECT)

    response = _quote(buyer, book)

    assert response.status_code == 200
    assert (response.json()["ready"], response.json()["total"]) == (True, "8")


def test_a_signed_request_over_the_cap_gets_no_transaction(buyer, book, requester):
    answer = _quote(buyer, book).json()
    signature = book.requester.sign_typed_data(full_message=answer["request_typed_data"])
    SpendingCapFactory(wallet=requester, per_deal=7 * ECT)  # set since the quote

    response = buyer.post(
        "/api/v1/orders/match/",
        {
            "request": answer["request_typed_data"]["message"],
            "signature": "0x" + bytes(signature.signature).hex(),
            "app_order": answer["app_order"]["digest"],
            "workerpool_order": answer["workerpool_order"]["digest"],
        },
        "json",
    )

    assert response.status_code == 400
    assert response.json() == {"error": _over(requester.address)}
    assert "transaction" not in response.json()


def _standing_over(address: str) -> str:
    return (
        f"This standing request may cost up to 8 ECT, over the 7 ECT per-deal cap of wallet "
        f"{address}; raise the cap on the wallets page or ask for fewer tasks or lower max "
        "prices."
    )


def test_the_standing_form_builds_no_request_over_the_cap(book, requester):
    SpendingCapFactory(wallet=requester, per_deal=7 * ECT)
    browser = Client()
    browser.force_login(requester.user)
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
        "show": 1,
    }

    page = html.unescape(browser.get("/requests/new/?" + urlencode(query)).content.decode())

    assert f'<p class="error" role="alert">{_standing_over(requester.address)}</p>' in page
    assert 'id="standing-signing"' not in page  # nothing to sign


def test_the_standing_api_stores_nothing_over_the_cap(buyer, book, requester):
    SpendingCapFactory(wallet=requester, per_deal=7 * ECT)
    message, signature = signed(book)  # 2 tasks at (1 + 3) ECT at most

    response = buyer.post(
        "/api/v1/orders/standing/", {"request": message, "signature": signature}, "json"
    )

    assert response.status_code == 400
    assert response.json() == {"error": _standing_over(requester.address)}
    assert not Order.objects.filter(kind=OrderKind.REQUEST).exists()


def test_no_typed_data_is_built_for_a_request_over_the_cap(buyer, book, requester):
    SpendingCapFactory(wallet=requester, per_deal=7 * ECT)
    request = {
        "app": book.app,
        "appmaxprice": ECT,
        "workerpoolmaxprice": 3 * ECT,
        "requester": requester.address,
        "volume": 2,
    }

    over = buyer.post("/api/v1/orders/typed-data/", {"kind": "request", "order": request}, "json")
    within = buyer.post(
        "/api/v1/orders/typed-data/",
        {"kind": "request", "order": {**request, "volume": 1}},
        "json",
    )

    assert over.status_code == 400
    assert over.json() == {"error": _standing_over(requester.address)}
    assert "typed_data" not in over.json()
    assert within.status_code == 200
    assert within.json()["typed_data"]["message"]["volume"] == "1"
