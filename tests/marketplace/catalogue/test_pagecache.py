"""Whole pages cached for anonymous visitors: shared by them, never by anyone whose page would
differ, with each visitor's own CSRF token, and retired when the catalogue changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.middleware.csrf import CSRF_TOKEN_LENGTH
from django.test import Client, RequestFactory
from django.utils import timezone

from marketplace.catalogue import services
from marketplace.catalogue.models import Listing
from marketplace.catalogue.views import _detail_page_key, _home_page, _list_page
from marketplace.indexer.models import IndexerState
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
    assert "csrf-slot-" not in first_page + second_page
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
    assert "csrf-slot-" not in page
    assert response.status_code == 200  # bad filters get a message, not an error page


def test_only_pages_worth_sharing_get_a_cache_entry(rf, settings):
    def key(query: str, kind: str = "app"):
        return _list_page(rf.get(f"/apps/?{query}"), kind=kind)

    assert key("tag=svg&sort=rating") == key("sort=rating&tag=svg")  # one entry, any order
    assert key("tag=svg&sort=rating") != key("tag=svg&sort=newest")
    assert key("tag=a&tag=b") != key("tag=b")
    assert key("cores_min=4", kind="pool") is not None
    for query in (
        "utm_source=mail",  # unknown parameter: would make a new entry per value
        "cores_min=4",  # a pool filter on the apps page
        "q=render",  # searches vary without end
        "rating_min=9",  # invalid
        "page=100000",  # past the last page
    ):
        assert key(query) is None, query
    assert _home_page(rf.get("/")) == "home"
    assert _home_page(rf.get("/?anything=1")) is None


def test_a_listing_cannot_fake_the_slot():
    """The slot is a random string per rendering: text that looks like one stays as it is, and
    no visitor's token ends up in the page's content."""
    AppFactory(listing__name="csrf-slot-0123456789abcdef0123456789abcdef")
    Client().get("/apps/")  # cached
    page = Client().get("/apps/").content.decode()
    assert "csrf-slot-0123456789abcdef0123456789abcdef" in page
    assert page.count(_token(page)) == 1


def test_a_request_without_session_support_is_rendered_not_shared(rf):
    from django.contrib.auth.models import AnonymousUser

    from marketplace.catalogue import views

    request = rf.get("/")
    request.user = AnonymousUser()
    response = views.home(request)
    assert response.status_code == 200
    assert "csrf-slot-" not in response.content.decode()


def _index_state(**fields):
    defaults = {
        "chain_id": 31337,
        "hub": "0x" + "1" * 40,
        "first_block": 1,
        "deployment_marker": "m",
        "checkpoint": 9,
        "confirmed_height": 9,
        "head": 9,
        "indexed_at": timezone.now(),
    }
    return IndexerState.objects.create(**{**defaults, **fields})


def test_a_listing_page_is_shared_until_its_comments_or_the_index_change(
    django_capture_on_commit_callbacks,
):
    app = AppFactory(listing__name="Renderer", listing__summary="Draws shapes")
    _index_state()
    url = app.listing.get_absolute_url()
    assert "Draws shapes" in Client().get(url).content.decode()
    # Written behind the services' back: only a cached page still says it.
    Listing.objects.filter(pk=app.listing.pk).update(summary="Changed quietly")
    assert "Draws shapes" in Client().get(url).content.decode()
    # A comment, through its service, retires the page's entry.
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_create(listing=app.listing, author=UserFactory(), body="Works well")
    page = Client().get(url).content.decode()
    assert "Works well" in page and "Changed quietly" in page
    # So does a new block indexed (the page's on-chain parts come from the index).
    Listing.objects.filter(pk=app.listing.pk).update(summary="Changed again")
    IndexerState.objects.update(checkpoint=10, confirmed_height=10)
    assert "Changed again" in Client().get(url).content.decode()


def test_a_cached_listing_page_says_how_fresh_the_index_is_now():
    app = AppFactory(listing__name="Renderer")
    _index_state()
    url = app.listing.get_absolute_url()
    Client().get(url)  # cached
    IndexerState.objects.update(indexed_at=timezone.now() - timedelta(seconds=4321))
    page = Client().get(url).content.decode()
    assert "4,321 seconds ago" in page
    assert "head 72 min ago: on-chain figures may be out of date" in page
    assert "live-slot-" not in page and "csrf-slot-" not in page


def test_only_the_charts_own_query_gets_a_listing_page_its_entry(rf):
    app = AppFactory(listing__name="Renderer")
    _index_state()

    def key(query: str, slug: str = app.listing.slug):
        return _detail_page_key(rf.get(f"/apps/{slug}/?{query}"), kind="app", slug=slug)

    assert key("prices=hour&category=1") == key("category=1&prices=hour")
    assert key("prices=hour") != key("prices=day") != key("")
    for query in ("prices=week", "category=01", "category=1000", "category=x", "utm=mail"):
        assert key(query) is None, query
    assert key("prices=hour&prices=day") is None
    assert key("", slug="no-such-app") is None
