"""A pool listing's writes: its attributes, and its operator's Requirements and Rank, which
the service checks itself (the form is not its only caller)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.catalogue.models import Listing
from marketplace.catalogue.services import CatalogueError
from pools import services
from pools.models import Workerpool
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

ATTRIBUTES = {
    "cpu_cores": 4,
    "memory_mb": 8192,
    "runtime": "wasm",
    "location": "eu-west",
    "energy_class": "A",
    "visibility": "public",
}
LISTING = {
    "name": "Edge",
    "summary": "Fast",
    "description": "",
    "tags": [],
    "prices": {"S": Decimal("0.3")},
}


def test_a_pool_submitted_with_an_expression_that_does_not_read_is_refused_whole():
    with pytest.raises(CatalogueError) as refused:
        services.workerpool_submit(
            owner=UserFactory(), attributes={**ATTRIBUTES, "rank": "TARGET.Volume +"}, **LISTING
        )

    assert str(refused.value).startswith("Rank: Not a ClassAd expression")
    assert not Listing.objects.exists() and not Workerpool.objects.exists()


def test_an_update_without_expressions_keeps_the_pools_own():
    owner = UserFactory()
    listing = services.workerpool_submit(
        owner=owner,
        attributes={**ATTRIBUTES, "requirements": " TARGET.Volume >= 10 ", "rank": ""},
        **LISTING,
    )

    services.workerpool_update(
        listing=listing, actor=owner, attributes={**ATTRIBUTES, "cpu_cores": 8}, **LISTING
    )

    pool = Workerpool.objects.get()
    assert (pool.cpu_cores, pool.requirements, pool.rank) == (8, "TARGET.Volume >= 10", "")
