from __future__ import annotations

import pytest

from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "catalogue/listing",
        "catalogue/rating",
        "catalogue/ratingreport",
        "catalogue/comment",
        "catalogue/curationdecision",
        "catalogue/tag",
        "dappstore/app",
        "datamarket/dataset",
        "pools/workerpool",
    ],
)
def test_admin_lists_every_model(client, url):
    AppFactory(), DatasetFactory(), WorkerpoolFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(f"/admin/{url}/").status_code == 200


def test_admin_cannot_change_listings_behind_the_services_back(client):
    app = AppFactory()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(f"/admin/catalogue/listing/{app.listing.pk}/change/")
    assert page.status_code == 200
    assert 'name="name"' not in page.content.decode()  # view-only
    assert client.get("/admin/catalogue/listing/add/").status_code == 403
