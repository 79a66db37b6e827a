"""The price history and depth API (/api/v1/prices/…, /api/v1/depth/…): an asset's or a
category's, exact amounts in units and ECT; unknown assets and categories are 404s, parameters
that do not fit 400s that say what fits."""

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

APP = "0x01A688d201Dcb310FADB27EC3d891215F6e1D628"  # fixed: it names parametrized tests
POOL = "0x7d8cD0bD0c0E5e4e7f1aA2B35bB3e8d0D1e34A21"


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
    for hour, price, volume in ((9, 2 * ECT, 3), (23, ECT // 2, 1)):
        start = datetime.datetime(2025, 3, 1, hour, tzinfo=datetime.UTC)
        DealFactory(app=APP, app_price=price, volume=volume, start_time=start)

    answer = client.get(
        f"/api/v1/prices/apps/{APP.lower()}/", {"since": "2025-03-01", "until": "2025-03-03"}
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

    history = client.get("/api/v1/prices/market/", {"category": "2", "bucket": "hour"}).json()
    depth = client.get("/api/v1/depth/market/", {"category": "2"}).json()

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


def test_a_pools_depth_is_of_the_category_asked(client):
    registered(POOL, "pool")
    pool = SimpleNamespace(kind="pool", chain_address=POOL)
    offer(pool, "2", category=0)
    offer(pool, "9", category=4)

    answer = client.get(f"/api/v1/depth/pools/{POOL}/", {"category": "4"})

    assert answer.status_code == 200
    assert answer.json()["offers"] == [{"price": amount(9 * ECT), "tasks": 100, "orders": 1}]
    assert answer.json()["subject"]["category_name"] == "XL"


def test_nothing_traded_is_an_empty_history_of_xs_tasks_unless_said(client):
    registered(POOL, "pool")
    answer = client.get(f"/api/v1/prices/pools/{POOL}/")
    assert answer.status_code == 200
    assert (answer.json()["points"], answer.json()["deals"]) == ([], 0)
    assert answer.json()["subject"]["category_name"] == "XS"


NO_APP = f"No app is registered at {POOL} on this chain (or the index has not seen it yet)."
NO_CATEGORY = "The Hub has no category 9: choose one of 0 (XS), 1 (S), 2 (M), 3 (L), 4 (XL)."


@pytest.mark.parametrize("what", ["prices", "depth"])
@pytest.mark.parametrize(
    ("path", "query", "status", "field", "error"),
    [
        (f"apps/{POOL}/", {}, 404, "address", NO_APP),
        (
            "apps/0x12/",
            {},
            404,
            "address",
            "No app is registered at 0x12 on this chain (or the index has not seen it yet).",
        ),
        ("market/", {"category": "9"}, 404, "category", NO_CATEGORY),
        (
            "market/",
            {"category": "XS"},
            400,
            "category",
            "category must be a whole number from 0 to 2147483647, not 'XS'.",
        ),
    ],
)
def test_what_the_request_names_must_exist(client, what, path, query, status, field, error):
    registered(POOL, "pool")
    answer = client.get(f"/api/v1/{what}/{path}", query)
    assert (answer.status_code, answer.json()) == (status, {"error": error, "field": field})


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ({"bucket": "minute"}, "bucket", "bucket must be one of hour, day, not 'minute'."),
        (
            {"since": "yesterday"},
            "since",
            "since must be a date (2025-03-01) or a time (2025-03-01T12:00:00Z), not 'yesterday'.",
        ),
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
def test_a_bad_bucket_or_window_is_refused_before_the_asset_is_looked_up(
    client, query, field, error
):
    answer = client.get(f"/api/v1/prices/apps/{APP}/", query)  # APP is not registered
    assert (answer.status_code, answer.json()) == (400, {"error": error, "field": field})
