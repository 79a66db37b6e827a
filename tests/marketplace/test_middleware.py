"""Refusals of oversized requests are the site's errors: JSON from the trade endpoints the pages
call, a page from a page, never Django's debug page; a JSON body over the limit is not parsed."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from marketplace.catalogue.models import Comment, Listing
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
    assert "This form sends more than 1000\xa0bytes of text (files aside): shorten" in page
    assert "Traceback" not in page


@pytest.fixture
def browser(owned_app):
    """A signed-in browser, whose forms carry their CSRF token as the pages give it."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owned_app.owner)
    browser.get(reverse("dataset_submit"))
    return browser


def _token(browser) -> str:
    return browser.cookies["csrftoken"].value


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.django_db
def test_an_oversized_form_is_the_sites_413_page_before_the_csrf_check_reads_it(
    browser, settings, caplog, debug
):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
    description = "x" * (3 * 1024 * 1024)

    with caplog.at_level(logging.WARNING):
        response = browser.post(
            reverse("dataset_submit"),
            {"csrfmiddlewaretoken": _token(browser), "name": "Big", "description": description},
        )

    assert response.status_code == 413
    page = response.content.decode()
    assert '<header class="topbar">' in page  # the site's page, not Django's
    assert (
        "This form sends more than 2.0\xa0MB of text (files aside): shorten the longest of its "
        "fields (a description, a comment) and send it again." in page
    )
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.django_db
def test_too_many_fields_in_a_form_is_the_sites_400_page(browser, settings, caplog):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
    fields = {f"f{n}": "1" for n in range(1200)}

    with caplog.at_level(logging.WARNING):
        response = browser.post(
            reverse("dataset_submit"), {"csrfmiddlewaretoken": _token(browser), **fields}
        )

    assert response.status_code == 400
    assert (
        "This form sends more than 1,000 fields, more than any form of the site has: reload the "
        "page and send its form again." in response.content.decode()
    )
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.django_db
def test_an_oversized_comment_is_refused_and_not_posted(browser, settings, owned_app):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = browser.post(
        reverse("comment_create", args=[owned_app.pk]),
        {"csrfmiddlewaretoken": _token(browser), "body": "x" * 5000},
    )

    assert response.status_code == 413
    assert "This form sends more than 1000\xa0bytes of text" in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_a_form_within_the_limits_still_meets_the_csrf_check(browser, settings, owned_app):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    url = reverse("comment_create", args=[owned_app.pk])

    forged = browser.post(url, {"csrfmiddlewaretoken": "forged" * 6, "body": "hello"})
    posted = browser.post(url, {"csrfmiddlewaretoken": _token(browser), "body": "hello"})

    assert forged.status_code == 403
    assert posted.status_code == 302
    assert list(Comment.objects.values_list("body", flat=True)) == ["hello"]


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
