"""GET /api/v1/prices/ and /api/v1/depth/: an asset's or a category's price history and depth,
exact amounts in units and ECT; unknown assets and categories are 404s, parameters that do
not fit 400s that say what fits."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.utils import timezone
from eth_account import Account

from marketplace.indexer.models import Asset
from tests.chain_scaffold import ECT
from tests.factories.deals import DealFactory
from tests.marketplace.orders.test_selectors import offer

pytestmark = pytest.mark.django_db

PRICES, DEPTH = "/api/v1/prices/", "/api/v1/depth/"
APP = Account.create().address
POOL = Account.create().address


def registered(address: str, kind: str) -> str:
    Asset.objects.create(
        chain_id=settings.CHAIN_ID,
        address=address,
        kind=kind,
        owner=Account.create().address,
        name="Word count",
        registered_block=1,
        block_number=1,
    )
    return address


def amount(units: int) -> dict[str, str]:
    return {"units": str(units), "ect": f"{Decimal(units).scaleb(-9):f}"}


def test_an_apps_history_by_day(client):
    registered(APP, "app")
    DealFactory(
        app=APP,
        app_price=2 * ECT,
        volume=3,
        start_time=datetime.datetime(2025, 3, 1, 9, tzinfo=datetime.UTC),
    )
    DealFactory(
        app=APP,
        app_price=ECT // 2,
        start_time=datetime.datetime(2025, 3, 1, 23, tzinfo=datetime.UTC),
    )

    answer = client.get(
        PRICES,
        {"kind": "app", "address": APP.lower(), "since": "2025-03-01", "until": "2025-03-03"},
    )

    assert answer.status_code == 200
    assert answer.json() == {
        "subject": {"kind": "app", "address": APP, "category": None, "category_name": None},
        "bucket": "day",
        "since": "2025-03-01T00:00:00Z",
        "until": "2025-03-03T00:00:00Z",
        "deals": 2,
        "tasks": 4,
        "points": [
            {
                "start": "2025-03-01T00:00:00Z",
                "median": amount(2 * ECT),
                "low": amount(ECT // 2),
                "high": amount(2 * ECT),
                "deals": 2,
                "tasks": 4,
            }
        ],
    }


def test_the_markets_history_by_hour_and_its_depth(client):
    now = timezone.now()
    DealFactory(workerpool_price=3 * ECT, category=2, start_time=now - datetime.timedelta(hours=1))
    offer(SimpleNamespace(kind="pool", chain_address=POOL), "1.5", category=2)

    history = client.get(PRICES, {"kind": "market", "category": "2", "bucket": "hour"}).json()
    depth = client.get(DEPTH, {"kind": "market", "category": "2"}).json()

    assert history["subject"] == {
        "kind": "market",
        "address": None,
        "category": 2,
        "category_name": "M",
    }
    assert [(p["median"]["ect"], p["tasks"]) for p in history["points"]] == [("3.000000000", 1)]
    assert depth == {
        "subject": history["subject"],
        "offers": [{"price": amount(3 * ECT // 2), "tasks": 100, "orders": 1}],
        "bids": [],
    }


def test_nothing_traded_is_an_empty_history(client):
    registered(POOL, "pool")
    answer = client.get(PRICES, {"kind": "pool", "address": POOL, "category": "0"})
    assert answer.status_code == 200
    assert (answer.json()["points"], answer.json()["deals"]) == ([], 0)


@pytest.mark.parametrize(
    ("query", "status", "field", "error"),
    [
        ({}, 400, "kind", "kind is required: give one of app, dataset, pool, market."),
        (
            {"kind": "song", "address": APP},
            400,
            "kind",
            "kind must be one of app, dataset, pool, market, not 'song'.",
        ),
        (
            {"kind": "app"},
            400,
            "address",
            "address is required for kind=app: give the app's address.",
        ),
        (
            {"kind": "app", "address": APP, "category": "0"},
            400,
            "category",
            "An app's price is the same in every category: leave category out.",
        ),
        (
            {"kind": "pool", "address": POOL},
            400,
            "category",
            "category is required for kind=pool: prices differ by category (0 is XS).",
        ),
        (
            {"kind": "market", "category": "0", "address": APP},
            400,
            "address",
            "A market has no address: leave address out.",
        ),
        (
            {"kind": "dataset", "address": APP},
            404,
            "address",
            f"No dataset is registered at {APP} on this chain (or the index has not seen it yet).",
        ),
        (
            {"kind": "market", "category": "9"},
            404,
            "category",
            "The Hub has no category 9: choose one of 0 (XS), 1 (S), 2 (M), 3 (L), 4 (XL).",
        ),
    ],
)
@pytest.mark.parametrize("endpoint", [PRICES, DEPTH])
def test_what_the_query_names_must_exist_and_fit_its_kind(
    client, endpoint, query, status, field, error
):
    registered(APP, "app")
    registered(POOL, "pool")
    answer = client.get(endpoint, query)
    assert (answer.status_code, answer.json()) == (status, {"error": error, "field": field})


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ({"bucket": "minute"}, "bucket", "bucket must be one of hour, day, not 'minute'."),
        (
            {"since": "2025-13-01"},
            "since",
            "since must be a date (2025-03-01) or a time (2025-03-01T12:00:00Z), not '2025-13-01'.",
        ),
        (
            {"since": "2025-03-02", "until": "2025-03-01"},
            "since",
            "since (2025-03-02 00:00 UTC, the start of its day) must be before until "
            "(2025-03-01 00:00 UTC).",
        ),
        (
            {"bucket": "hour", "since": "2025-01-01", "until": "2025-03-01"},
            "since",
            "A history by hour covers 14 days at most: bring since and until closer, or ask by "
            "day.",
        ),
    ],
)
def test_a_bad_bucket_or_window_is_refused(client, query, field, error):
    registered(APP, "app")
    answer = client.get(PRICES, {"kind": "app", "address": APP, **query})
    assert (answer.status_code, answer.json()) == (400, {"error": error, "field": field})
