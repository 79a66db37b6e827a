"""The Content-Security-Policy of every response (marketplace.csp). In Chromium, with every
main page and what it does: tests/e2e/test_csp.py."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from marketplace.csp import policy_header
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in header.split(";"))}


def test_a_page_is_sent_with_a_strict_policy(client):
    policy = _directives(client.get("/"))

    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "style-src-attr" not in policy and "script-src-attr" not in policy


def test_pages_may_connect_to_the_websocket_of_their_own_host(client, settings):
    settings.ALLOWED_HOSTS = ["testserver", "market.example.com"]
    assert _directives(client.get("/apps/"))["connect-src"] == ["'self'", "ws://testserver"]
    secure = client.get("/apps/", secure=True, HTTP_HOST="market.example.com")
    assert _directives(secure)["connect-src"] == ["'self'", "wss://market.example.com"]


def test_error_pages_and_api_answers_have_the_policy_too(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert _directives(client.get("/no-such-page/"))["script-src"] == ["'self'"]
    assert _directives(client.get("/api/v1/apps/"))["script-src"] == ["'self'"]
    # A host the site refuses: 400, still with the policy (and no websocket origin for it).
    refused = client.get("/", HTTP_HOST="evil.example")
    assert refused.status_code == 400
    assert _directives(refused)["connect-src"] == ["'self'"]


@pytest.mark.urls("tests.frontend.error_urls")
def test_djangos_debug_pages_for_errors_are_left_readable_under_a_policy_still(client, settings):
    # They style and script inline; production (DEBUG off) never shows them.
    settings.DEBUG = True
    client.raise_request_exception = False

    debug = _directives(client.get("/fails/"))  # the traceback page
    assert "'unsafe-inline'" in debug["script-src"] and "'unsafe-inline'" in debug["style-src"]
    assert debug["frame-ancestors"] == ["'none'"] and debug["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in _directives(client.get("/"))["script-src"]
    # The site's own 404 page, shown in development too, keeps the whole policy.
    assert "'unsafe-inline'" not in _directives(client.get("/no-such-page/"))["script-src"]


@pytest.mark.parametrize("path", ["/api/listings/", "/api/no-such-endpoint/", "/api/v1/nope/"])
def test_the_apis_error_answers_in_development_keep_the_whole_policy(client, settings, path):
    settings.DEBUG = True

    response = client.get(path)

    assert response.status_code in (404, 410)
    assert response["Content-Type"] == "application/json"
    policy = _directives(response)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]


def test_a_refusal_page_in_development_keeps_the_whole_policy(client, settings):
    settings.DEBUG = True
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(UserFactory())

    response = client.post("/datasets/new/", {"description": "x" * 5000})

    assert response.status_code == 413
    policy = _directives(response)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]


def test_a_view_with_a_stricter_policy_of_its_own_keeps_it(client):
    default_storage.save("inputs/abc123/page.html", ContentFile(b"<script>alert(1)</script>"))

    response = client.get("/inputs/abc123/page.html")

    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_policy_is_the_settings(client, settings):
    settings.CONTENT_SECURITY_POLICY = {"default-src": ["'none'"], "connect-src": ["'self'"]}

    response = client.get("/")

    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; connect-src 'self' ws://testserver"
    )


def test_policy_header_names_each_directive_once_in_order():
    directives = {"default-src": ["'self'"], "connect-src": [], "upgrade-insecure-requests": []}

    assert policy_header(directives) == "default-src 'self'; connect-src; upgrade-insecure-requests"
    assert policy_header(directives, websocket_origin="ws://h:8000") == (
        "default-src 'self'; connect-src ws://h:8000; upgrade-insecure-requests"
    )


class _InlineCode(HTMLParser):
    """Everything of a page the policy would block: inline scripts (data blocks aside), <style>
    blocks, style attributes, event handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self._script = "src" not in attributes and attributes.get("type") != "application/json"
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")


def test_pages_hold_no_inline_code_for_the_policy_to_block(client):
    app = AppFactory(listing__name="Word count").listing
    dataset = DatasetFactory().listing
    pool = WorkerpoolFactory().listing
    paths = ["/", "/apps/", "/datasets/", "/pools/", "/accounts/login/", "/no-such-page/"]
    paths += [listing.get_absolute_url() for listing in (app, dataset, pool)]
    client.force_login(UserFactory(is_staff=True))
    paths += ["/curation/", "/accounts/wallets/", "/deals/", f"/apps/{app.slug}/buy/"]

    found = {}
    for path in paths:
        parser = _InlineCode()
        parser.feed(client.get(path).content.decode())
        if parser.found:
            found[path] = parser.found

    assert found == {}
