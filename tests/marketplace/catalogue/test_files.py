"""The files worker agents download: a registered app's program, a registered dataset's
ciphertext, nothing else."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db

ADDRESS = "0x" + "ab" * 20


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_registered_apps_program_is_served_under_its_slug(client):
    app = AppFactory(
        listing__slug="resvg",
        listing__chain_address=ADDRESS,
        wasm=ContentFile(b"\0asm program", name="a.wasm"),
    )

    response = client.get(f"/files/app/{app.listing.slug}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert 'filename="resvg.wasm"' in response["Content-Disposition"]
    assert _body(response) == b"\0asm program"


def test_a_registered_datasets_ciphertext_is_served_under_its_slug(client):
    dataset = DatasetFactory(
        listing__slug="poster",
        listing__chain_address=ADDRESS,
        encrypted_file=ContentFile(b"SEDS ciphertext", name="d.seds"),
    )

    response = client.get(f"/files/dataset/{dataset.listing.slug}/")

    assert response.status_code == 200
    assert 'filename="poster.enc"' in response["Content-Disposition"]
    assert _body(response) == b"SEDS ciphertext"


@pytest.mark.parametrize(
    "path",
    [
        "/files/pool/lyon/",  # a pool has no file
        "/files/app/unregistered/",  # not on chain: nothing to download yet
        "/files/dataset/resvg/",  # the app's slug under another market
        "/files/nonsense/resvg/",
    ],
)
def test_nothing_else_is_served(client, path):
    AppFactory(listing__slug="resvg", listing__chain_address=ADDRESS)
    AppFactory(listing__slug="unregistered")
    WorkerpoolFactory(listing__slug="lyon", listing__chain_address="0x" + "cd" * 20)

    assert client.get(path).status_code == 404
