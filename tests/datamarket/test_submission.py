from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datamarket.models import Dataset
from datamarket.services import dataset_decrypt_to
from marketplace.catalogue.models import Listing
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory

pytestmark = pytest.mark.django_db

PLAIN = b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>" * 100


def test_dataset_is_encrypted_at_rest_and_restricted_to_chosen_apps(client):
    app = AppFactory()
    client.force_login(UserFactory())

    response = client.post(
        reverse("dataset_submit"),
        {
            "name": "Circles",
            "summary": "SVG circles",
            "price": "0.01",
            "allowed_apps": [app.pk],
            "data_file": SimpleUploadedFile("c.svg", PLAIN),
        },
    )

    assert response.status_code == 302
    dataset = Dataset.objects.get()
    with dataset.encrypted_file.open("rb") as stored:
        ciphertext = stored.read()
    assert PLAIN[:40] not in ciphertext
    assert hashlib.sha256(ciphertext).hexdigest() == dataset.encrypted_sha256
    assert dataset.plain_size == len(PLAIN)
    assert list(dataset.allowed_apps.all()) == [app]
    assert dataset.listing.price == Decimal("0.01")  # one price per task
    assert not dataset.listing.prices.exists()
    assert PLAIN not in bytes(dataset.wrapped_key)
    out = io.BytesIO()
    assert dataset_decrypt_to(dataset=dataset, dst=out) == len(PLAIN)
    assert out.getvalue() == PLAIN


def test_oversize_dataset_is_refused_and_nothing_written(client, settings):
    settings.DATASET_MAX_BYTES = 100
    client.force_login(UserFactory())
    response = client.post(
        reverse("dataset_submit"),
        {
            "name": "Big",
            "summary": "s",
            "price": "1",
            "data_file": SimpleUploadedFile("big.bin", b"x" * 101),
        },
    )
    assert "the limit is 100" in response.content.decode()
    assert not Listing.objects.exists()
    assert not Dataset.objects.exists()


def test_pending_app_of_someone_else_cannot_be_allowed(client):
    hidden = AppFactory(listing__status="pending")
    client.force_login(UserFactory())
    response = client.post(
        reverse("dataset_submit"),
        {
            "name": "D",
            "summary": "s",
            "price": "1",
            "allowed_apps": [hidden.pk],
            "data_file": SimpleUploadedFile("d.csv", b"a,b\n1,2\n"),
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Dataset.objects.exists()
