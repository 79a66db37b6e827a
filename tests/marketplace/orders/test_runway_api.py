"""The wallets' funds API: each linked wallet's runway and caps, and setting the caps."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.orders.models import SpendingCap
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.deals import DealFactory
from tests.factories.funds import (
    BookOrderFactory,
    EscrowAccountFactory,
    PoolAssetFactory,
    SpendingCapFactory,
)

pytestmark = pytest.mark.django_db

ECT = 10**9
URL = "/api/v1/wallets/"


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_runway_of_each_linked_wallet(client, user):
    buyer = WalletFactory(user=user)
    operator = WalletFactory(user=user)
    WalletFactory()  # someone else's
    EscrowAccountFactory(address=buyer.address, stake=3 * ECT // 2, locked=2 * ECT)
    DealFactory(
        payer=buyer.address,
        start_time=timezone.now() - datetime.timedelta(days=2),
        app_price=7 * ECT // 10,
        workerpool_price=0,
        volume=5,
    )  # 3.5 ECT in 7 days: 0.5 ECT a day
    SpendingCapFactory(wallet=buyer, per_deal=ECT)
    EscrowAccountFactory(address=operator.address, stake=2_000 * ECT)
    pool = PoolAssetFactory(owner=operator.address)
    BookOrderFactory(asset=pool.address, signer=operator.address, price=20 * ECT, volume=100)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == [
        {
            "address": buyer.address,
            "free": "1.5",
            "locked": "2",
            "spent": "3.5",
            "committed": "0",
            "daily_rate": "0.5",
            "runway_days": "3.00",
            "lasts": "~3 days",
            "runway": "You spend about 0.5 ECT a day (3.5 ECT on deals in the last 7 days). At "
            "this rate your escrow lasts ~3 days.",
            "offers_need": None,
            "offers": "",
            "caps": {"daily": None, "per_deal": "1"},
        },
        {
            "address": operator.address,
            "free": "2000",
            "locked": "0",
            "spent": "0",
            "committed": "0",
            "daily_rate": "0",
            "runway_days": None,
            "lasts": "no recent spending",
            "runway": "No recent spending: no deal paid in the last 7 days and no standing "
            "request waiting, so your free escrow stays as it is.",
            "offers_need": "600",
            "offers": "Your open offers need 600 ECT of stake; you have 2,000 ECT free: enough "
            "for all.",
            "caps": {"daily": None, "per_deal": None},
        },
    ]


def test_the_runway_is_for_signed_in_users():
    response = APIClient().get(URL)

    assert response.status_code in (401, 403)


def test_caps_are_put_then_patched(client, user):
    wallet = WalletFactory(user=user)
    url = f"{URL}{wallet.address}/caps/"

    put = client.put(url, {"daily": "10", "per_deal": "1.5"}, "json")
    assert (put.status_code, put.json()) == (200, {"daily": "10", "per_deal": "1.5"})

    patched = client.patch(url, {"per_deal": None}, "json")
    assert (patched.status_code, patched.json()) == (200, {"daily": "10", "per_deal": None})
    cap = SpendingCap.objects.get(wallet=wallet)
    assert (int(cap.daily), cap.per_deal) == (10 * ECT, None)

    cleared = client.patch(url, {"daily": None}, "json")
    assert cleared.json() == {"daily": None, "per_deal": None}
    assert not SpendingCap.objects.exists()


def test_a_put_gives_both_caps(client, user):
    wallet = WalletFactory(user=user)

    response = client.put(f"{URL}{wallet.address}/caps/", {"daily": "10"}, "json")

    assert response.status_code == 400
    assert response.json()["field"] == "per_deal"
    assert not SpendingCap.objects.exists()


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("-1", "daily: An amount of ECT must be zero or more, not -1."),
        (
            "0.0000000001",
            "daily: ECT has 9 decimals: 0.0000000001 is finer than its smallest unit.",
        ),
        (True, 'daily: Give an amount of ECT as text, such as "2.5".'),
    ],
)
def test_a_cap_that_is_no_amount_is_refused(client, user, value, error):
    wallet = WalletFactory(user=user)

    response = client.patch(f"{URL}{wallet.address}/caps/", {"daily": value}, "json")

    assert (response.status_code, response.json()) == (400, {"error": error, "field": "daily"})
    assert not SpendingCap.objects.exists()


def test_caps_of_someone_elses_wallet_are_refused(client):
    wallet = WalletFactory()

    response = client.put(f"{URL}{wallet.address}/caps/", {"daily": "1", "per_deal": "1"}, "json")

    assert response.status_code == 403
    assert response.json() == {
        "error": f"The wallet {wallet.address} is not one of your linked wallets: link it on the "
        "wallets page (sign in with it), then set its caps.",
        "field": "address",
    }
    assert not SpendingCap.objects.exists()
