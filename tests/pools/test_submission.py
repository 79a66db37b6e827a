from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.catalogue.models import Listing
from pools.models import Workerpool
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

VALID = {
    "name": "Edge",
    "summary": "Fast",
    "price_S": "0.3",
    "cpu_cores": "4",
    "memory_mb": "8192",
    "runtime": "wasm",
    "location": "eu-west",
    "energy_class": "A",
    "visibility": "public",
}


def test_pool_submission_stores_attributes(client):
    client.force_login(UserFactory())
    assert client.post(reverse("pool_submit"), VALID).status_code == 302
    pool = Workerpool.objects.get()
    assert (pool.cpu_cores, pool.memory_mb, pool.location, pool.energy_class) == (
        4,
        8192,
        "eu-west",
        "A",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cpu_cores", "0", "greater than or equal to 1"),
        ("memory_mb", "10", "greater than or equal to 64"),
        ("location", "moon", "Select a valid choice"),
        ("price_S", "-1", "greater than or equal to 0"),
    ],
)
def test_bad_pool_attributes_are_refused(client, field, value, message):
    client.force_login(UserFactory())
    response = client.post(reverse("pool_submit"), {**VALID, field: value})
    assert message in response.content.decode()
    assert not Listing.objects.exists()
