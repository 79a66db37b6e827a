"""Refusals of oversized requests are the site's errors: JSON from the trade endpoints the pages
call, a page from a page, never Django's debug page; a JSON body over the limit is not parsed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.catalogue.models import Listing
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory


@pytest.fixture
def owned_app(client):
    wallet = WalletFactory()
    app = AppFactory(listing__owner=wallet.user, listing__owner_wallet=wallet.address)
    client.force_login(wallet.user)
    return app.listing


@pytest.mark.django_db
def test_an_oversized_form_to_a_trade_endpoint_is_a_json_413_and_changes_nothing(
    client, settings, owned_app
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = reverse("listing_sell", args=["app", owned_app.slug])

    response = client.post(url, {"volume": "1", "note": "x" * 5000})

    assert response.status_code == 413
    assert response.json() == {
        "error": "The request's form data is over 1000\xa0bytes (files aside): send less."
    }
    assert Listing.objects.get(pk=owned_app.pk).chain_address == owned_app.chain_address


@pytest.mark.django_db
def test_too_many_fields_to_a_trade_endpoint_is_a_json_400(client, settings, owned_app):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    url = reverse("listing_sell", args=["app", owned_app.slug])

    response = client.post(url, {f"f{n}": "1" for n in range(20)})

    assert response.status_code == 400
    assert "over 10 form fields" in response.json()["error"]


@pytest.mark.django_db
def test_an_oversized_form_to_a_page_is_the_sites_error_page(client, settings, owned_app):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = client.post(reverse("app_submit"), {"description": "x" * 5000})

    assert response.status_code == 413
    page = response.content.decode()
    assert "form data is over 1000" in page
    assert "Traceback" not in page


@pytest.mark.django_db
def test_an_oversized_json_body_is_refused_before_it_is_parsed(client, settings, owned_app):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = reverse("listing_register", args=["app", owned_app.slug])

    response = client.post(
        url, data='{"sender": "' + "x" * 5000 + '"}', content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json() == {"error": "The request's JSON is over 1000\xa0bytes: send less."}
    assert Listing.objects.get(pk=owned_app.pk).chain_address == owned_app.chain_address


@pytest.mark.django_db
def test_a_json_body_within_the_limit_is_parsed_as_before(client, settings, owned_app):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = reverse("listing_register", args=["app", owned_app.slug])

    response = client.post(url, data='{"sender": "nope"}', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field"] == "sender"
