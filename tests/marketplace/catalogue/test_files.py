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


ICON = b"\x89PNG\r\n\x1a\n icon"


@pytest.fixture
def media(settings):
    root = settings.MEDIA_ROOT
    (root / "icons" / "2026" / "12").mkdir(parents=True)
    (root / "icons" / "2026" / "12" / "a.png").write_bytes(ICON)
    (root / "results" / "0xtask").mkdir(parents=True)
    (root / "results" / "0xtask" / "0xworker.tar").write_bytes(b"a buyer's result")
    (root / "inputs" / "token").mkdir(parents=True)
    (root / "inputs" / "token" / "in.txt").write_bytes(b"a buyer's input")
    return root


def test_a_listing_icon_is_served_to_anyone(client, media):
    response = client.get("/media/icons/2026/12/a.png")
    assert response.status_code == 200
    assert _body(response) == ICON


@pytest.mark.parametrize(
    "path",
    [
        "/media/results/0xtask/0xworker.tar",
        "/media/inputs/token/in.txt",
        "/media/icons/../results/0xtask/0xworker.tar",
        "/media/icons/%2e%2e/results/0xtask/0xworker.tar",
    ],
)
def test_nothing_else_under_media_root_is_served_as_a_file(client, media, path):
    response = client.get(path)
    assert response.status_code in (400, 404)  # not found; a path leaving the folder: refused
    assert b"a buyer's" not in response.content


def test_in_debug_too_media_root_is_not_served(settings, media):
    """`make run` runs in debug: result archives, whose paths the public deal page shows, must
    not be one GET away there either."""
    import importlib

    from django.urls import Resolver404, clear_url_caches, resolve

    import marketplace.urls

    settings.DEBUG = True
    try:
        importlib.reload(marketplace.urls)
        clear_url_caches()
        with pytest.raises(Resolver404):
            resolve("/media/results/0xtask/0xworker.tar")
        assert resolve("/media/icons/2026/12/a.png").url_name == "listing_icon"
    finally:
        settings.DEBUG = False
        importlib.reload(marketplace.urls)
        clear_url_caches()
