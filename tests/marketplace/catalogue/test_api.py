"""The catalogue API's shared code, and /api/listings/, retired in favour of /api/v1/: a 410
that gives the URL to ask instead."""

from __future__ import annotations

import pytest

from tests.factories.catalogue import AppFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db

SAME = "instead (the same filters and answers, an endpoint per market)."


def test_the_retired_list_points_to_its_markets_list_with_the_same_filters(client):
    WorkerpoolFactory(listing__name="Pool A")

    retired = client.get("/api/listings/", {"kind": "pool", "sort": "newest", "q": "pool"})

    assert retired.status_code == 410
    assert retired.json() == {
        "error": f"/api/listings/ is retired: ask /api/v1/pools/?sort=newest&q=pool {SAME}"
    }
    pointed = client.get("/api/v1/pools/?sort=newest&q=pool")
    assert [row["name"] for row in pointed.json()["results"]] == ["Pool A"]


def test_the_retired_detail_points_to_the_listing_in_its_market(client):
    app = AppFactory(listing__name="Renderer").listing

    retired = client.get(f"/api/listings/app/{app.slug}/")

    assert retired.status_code == 410
    assert retired.json() == {
        "error": f"/api/listings/app/{app.slug}/ is retired: ask /api/v1/apps/{app.slug}/ {SAME}"
    }
    assert client.get(f"/api/v1/apps/{app.slug}/").json()["name"] == "Renderer"


@pytest.mark.parametrize("query", [{}, {"kind": "nope"}], ids=["no market", "no such market"])
def test_the_retired_list_without_a_market_names_all_three(client, query):
    retired = client.get("/api/listings/", query)

    assert retired.status_code == 410
    assert (
        "ask /api/v1/apps/, /api/v1/datasets/ or /api/v1/pools/ instead"
        in (retired.json()["error"])
    )


def test_the_retired_api_takes_no_writes(client):
    assert client.post("/api/listings/", {"kind": "app"}).status_code == 405
