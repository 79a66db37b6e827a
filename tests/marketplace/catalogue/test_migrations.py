"""The catalogue's data migrations, run on rows written as they were before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalogue", "0009_asset")]
AFTER = [("catalogue", "0010_one_price_per_task")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_apps_and_datasets_keep_their_lowest_category_price_and_pools_keep_theirs():
    apps = _migrate(BEFORE)
    user = apps.get_model("auth", "User").objects.create(username="maker")
    Listing = apps.get_model("catalogue", "Listing")
    ListingPrice = apps.get_model("catalogue", "ListingPrice")

    def listing(kind, name, prices):
        row = Listing.objects.create(
            kind=kind, name=name, slug=name, summary="s", owner=user, rating_histogram=[0] * 5
        )
        for category, price in prices.items():
            ListingPrice.objects.create(listing=row, category=category, price=Decimal(price))
        return row.pk

    app = listing("app", "renderer", {"XS": "0.05", "S": "0.15", "M": "0.4"})
    data = listing("dataset", "drawings", {"S": "0.02", "XS": "0.01"})
    pool = listing("pool", "lyon", {"XS": "0.1", "S": "0.3"})
    unpriced = listing("app", "free", {})

    apps = _migrate(AFTER)
    Listing = apps.get_model("catalogue", "Listing")
    ListingPrice = apps.get_model("catalogue", "ListingPrice")

    prices = dict(Listing.objects.values_list("pk", "price"))
    assert prices == {
        app: Decimal("0.05"),
        data: Decimal("0.01"),
        pool: None,
        unpriced: None,
    }
    assert Listing.objects.get(pk=app).price_from == Decimal("0.05")
    assert set(ListingPrice.objects.values_list("listing_id", "category", "price")) == {
        (pool, "XS", Decimal("0.1")),
        (pool, "S", Decimal("0.3")),
    }

    # Going back: an app's price is its price in every category.
    apps = _migrate(BEFORE)
    ListingPrice = apps.get_model("catalogue", "ListingPrice")
    assert dict(ListingPrice.objects.filter(listing_id=app).values_list("category", "price")) == {
        category: Decimal("0.05") for category in ("XS", "S", "M", "L", "XL")
    }
    _migrate(AFTER)
