"""The site's own error pages: 404 and 500 in production (DEBUG off), in the site's layout with
a way back, and a 404 in development (DEBUG on) that is still the site's page, with the path
asked for and the routes nearest to it instead of Django's list of every URL pattern."""

from __future__ import annotations

import pytest
from django.test import Client

from frontend.errors import nearest_routes

pytestmark = pytest.mark.django_db

LAYOUT = '<header class="topbar">'
WAY_BACK = '<a class="btn" href="/">Back to the marketplace</a>'
DJANGO_DEBUG_404 = "Using the URLconf defined in"


def _strict(response) -> bool:
    policy = response["Content-Security-Policy"]
    return "script-src 'self'" in policy and "unsafe" not in policy


def test_a_missing_page_in_production_is_the_sites_404_with_the_path(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    html = response.content.decode()
    assert LAYOUT in html and WAY_BACK in html
    assert "<h1>Page not found</h1>" in html
    assert '<span class="mono wrap-any">/no-such-page/</span>' in html
    assert "Pages with a path like it" not in html  # routes only in development
    assert _strict(response)


def test_a_view_that_finds_nothing_says_why_in_production(client, settings):
    settings.DEBUG = False
    html = client.get("/results/0x12/").content.decode()
    assert "/results/0x12/</span>: A task id is 0x and 64 hex digits." in html


@pytest.mark.urls("tests.frontend.error_urls")
def test_only_words_written_for_visitors_reach_the_production_404(client, settings):
    # Given a view whose 404 carries a message not written for visitors (a library's, data's)
    settings.DEBUG = False
    html = client.get("/finds-nothing/").content.decode()
    assert "/finds-nothing/" in html and "secret_things" not in html
    # In development it helps to see it
    settings.DEBUG = True
    assert "secret_things" in client.get("/finds-nothing/").content.decode()


def test_a_missing_page_in_development_names_the_nearest_routes(client, settings):
    settings.DEBUG = True
    response = client.get("/deal/0x12/tasks/")

    assert response.status_code == 404
    html = response.content.decode()
    assert DJANGO_DEBUG_404 not in html
    assert LAYOUT in html and WAY_BACK in html
    assert '<span class="mono wrap-any">/deal/0x12/tasks/</span>' in html
    assert "Pages with a path like it" in html
    assert '<span class="mono">/deals/&lt;dealid&gt;/tasks/&lt;idx&gt;/</span>' in html
    # Its own page keeps the whole policy (Django's debug pages need inline code)
    assert _strict(response)


def test_a_view_that_finds_nothing_in_development_is_the_sites_page_too(client, settings):
    settings.DEBUG = True
    response = client.get("/results/0x12/")

    assert response.status_code == 404
    html = response.content.decode()
    assert DJANGO_DEBUG_404 not in html and "Http404" not in html
    assert "/results/0x12/</span>: A task id is 0x and 64 hex digits." in html
    assert _strict(response)


def test_the_api_still_answers_json_in_development(client, settings):
    settings.DEBUG = True
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["error"].startswith("There is no API endpoint at")


def test_nearest_routes_link_what_can_be_linked():
    assert nearest_routes("/deal/")[0] == "/deals/"
    assert "/pools/<slug>/members/" in nearest_routes("/pools/a/member/")
    assert nearest_routes("/zzzzzzzzzzzzzzzzzzzzzzzzzzzz/") == []


@pytest.mark.urls("tests.frontend.error_urls")
def test_a_server_error_in_production_is_the_sites_500_page(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False

    response = client.get("/fails/")

    assert response.status_code == 500
    html = response.content.decode()
    assert LAYOUT in html and WAY_BACK in html
    assert "<h1>Something went wrong on our side</h1>" in html
    assert "A bug on purpose" not in html and "Traceback" not in html
    assert _strict(response)


REFUSAL = "The listing is being curated: try again once it is approved."


@pytest.mark.urls("tests.frontend.error_urls")
def test_a_refusal_a_page_raises_is_the_sites_page_with_its_status_and_sentence(client):
    response = client.get("/refuses/")

    assert response.status_code == 409
    html = response.content.decode()
    assert LAYOUT in html and '<a href="/">Back to the marketplace</a>' in html
    assert f"<h1>Not now</h1><p>{REFUSAL}</p>" in html
    assert "X-App-Error" not in response
    assert _strict(response)


@pytest.mark.urls("tests.frontend.error_urls")
def test_a_refusal_to_htmx_is_its_box_alone_marked_to_be_swapped(client):
    response = client.get("/refuses/", HTTP_HX_REQUEST="true")

    assert response.status_code == 409
    assert response["X-App-Error"] == "conflict"
    html = response.content.decode()
    assert html.startswith('<div class="empty" role="alert"><h1>Not now</h1>')
    assert REFUSAL in html and LAYOUT not in html


def test_every_page_loads_the_script_that_shows_htmx_refusals(client):
    page = client.get("/").content.decode()
    assert '<script src="/static/frontend/js/errors.js" defer></script>' in page


def test_the_favicon_is_an_svg_named_by_every_page_and_at_favicon_ico(client):
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/frontend/img/favicon.svg" type="image/svg+xml">' in page

    response = client.get("/favicon.ico", follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [("/static/frontend/img/favicon.svg", 302)]
    assert response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(response.streaming_content)


def test_a_form_sent_without_its_csrf_token_is_refused_in_the_sites_words():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/pools/new/requirements-check/", {"requirements": "true"})

    page = response.content.decode()
    assert response.status_code == 403
    assert "sent without its security token" in page and "reload the page" in page
    assert "CSRF verification failed" not in page
    assert LAYOUT in page
