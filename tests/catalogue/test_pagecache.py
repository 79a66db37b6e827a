"""Whole pages cached for anonymous visitors: shared by them, never by anyone whose page would
differ, with each visitor's own CSRF token, and retired when the catalogue changes."""

from __future__ import annotations

import re

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.middleware.csrf import CSRF_TOKEN_LENGTH
from django.test import Client, RequestFactory

from marketplace.catalogue import services
from marketplace.catalogue.models import Listing
from marketplace.catalogue.pagecache import CSRF_SLOT
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory

pytestmark = pytest.mark.django_db

_TOKEN = re.compile(r"X-CSRFToken\": \"([^\"]+)\"")


def _token(page: str) -> str:
    match = _TOKEN.search(page)
    assert match, "the page carries no CSRF token for htmx"
    return match.group(1)


def test_anonymous_visitors_share_a_page_but_each_gets_a_working_token_of_their_own():
    app = AppFactory(listing__name="Renderer")
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first_page = first.get("/apps/").content.decode()
    # Written behind the services' back: only a cached page still says "Renderer".
    Listing.objects.filter(pk=app.listing.pk).update(name="Renamed quietly")
    second_page = second.get("/apps/").content.decode()

    assert "Renderer" in first_page and "Renderer" in second_page
    assert CSRF_SLOT not in first_page + second_page
    first_token, second_token = _token(first_page), _token(second_page)
    assert len(first_token) == len(second_token) == CSRF_TOKEN_LENGTH
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value
    # Each token works with its visitor's cookie: a POST passes the CSRF check (and, being
    # anonymous, is sent to sign in) instead of failing it with 403.
    for client, token in ((first, first_token), (second, second_token)):
        response = client.post(
            f"/listings/{app.listing.pk}/rate/", {"stars": 4}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 302
    # And another visitor's token is refused.
    crossed = first.post(
        f"/listings/{app.listing.pk}/rate/", {"stars": 4}, headers={"X-CSRFToken": second_token}
    )
    assert crossed.status_code == 403


def test_a_signed_in_visitor_never_gets_the_anonymous_page_nor_leaves_theirs(client):
    AppFactory(listing__name="Renderer")
    user = UserFactory(username="alice-signed-in")
    assert "alice-signed-in" not in Client().get("/apps/").content.decode()  # cached now

    client.force_login(user)
    own = client.get("/apps/").content.decode()
    assert "alice-signed-in" in own and "Sign out" in own

    anonymous = Client().get("/apps/").content.decode()
    assert "alice-signed-in" not in anonymous and "Sign out" not in anonymous


def test_a_visitor_with_pending_messages_sees_them():
    assert Client().get("/").status_code == 200  # an anonymous home page in the cache
    # A message kept in the messages cookie, as for a visitor without a session.
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(messages.INFO, "Welcome back, stranger")
    carrier = HttpResponse()
    storage.update(carrier)
    visitor = Client()
    visitor.cookies["messages"] = carrier.cookies["messages"].value

    assert "Welcome back, stranger" in visitor.get("/").content.decode()


def test_a_visitor_with_a_session_is_served_afresh(client):
    user = UserFactory()
    client.force_login(user)
    client.post("/accounts/logout/")  # "You have signed out." waits for the next page
    assert Client().get("/").status_code == 200  # an anonymous home page in the cache

    assert "signed out" in client.get("/").content.decode().lower()


def test_the_full_page_and_its_htmx_fragment_are_cached_apart():
    AppFactory(listing__name="Renderer")
    visitor = Client()
    full = visitor.get("/apps/?q=rend").content.decode()
    fragment = visitor.get("/apps/?q=rend", headers={"HX-Request": "true"}).content.decode()
    assert "<html" in full and "<html" not in fragment
    assert "<html" in visitor.get("/apps/?q=rend").content.decode()


def test_a_catalogue_change_retires_cached_pages(django_capture_on_commit_callbacks):
    app = AppFactory(listing__name="Renderer")
    assert "Renderer" in Client().get("/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_curate(
            listing=app.listing, actor=UserFactory(is_staff=True), action="delist", reason="Spam"
        )
    assert "Renderer" not in Client().get("/").content.decode()
    assert "Renderer" not in Client().get("/apps/").content.decode()


def test_error_pages_are_not_cached_and_carry_a_real_token():
    response = Client().get("/apps/?page=abc&sort=nonsense")
    page = response.content.decode()
    assert CSRF_SLOT not in page
    assert response.status_code == 200  # bad filters get a message, not an error page
