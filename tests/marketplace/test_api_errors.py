"""Every refusal under /api/ is JSON with a sentence under "error" (and "field" when one input is
at fault), whoever refuses: a view, DRF or Django; a bad query parameter is a 400, never a 500."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from marketplace.chain.models import Deployment
from marketplace.chain.orders import AppOrder, sign_order, typed_data
from tests.chain_scaffold import ECT, Market
from tests.factories.accounts import UserFactory, token_client

pytestmark = pytest.mark.django_db


def session(*, csrf: bool = False) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(UserFactory())
    return client


def assert_api_error(response, status: int, *, field: str | None = None) -> str:
    """`response` is `status` with the API's error shape; its sentence."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json", response.content
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    assert set(body) <= {"error", "field", "failures"}, body
    assert body.get("field") == field, body
    return body["error"]


# A request for each way a request is refused, and its status (with the field at fault).
ERRORS: dict[str, tuple[Callable[[], object], int, str | None]] = {
    "malformed JSON": (
        lambda: APIClient().post(
            "/api/v1/orders/typed-data/", "{", content_type="application/json"
        ),
        400,
        None,
    ),
    "malformed multipart": (
        lambda: APIClient().post(
            "/api/v1/orders/typed-data/", b"garbage", content_type="multipart/form-data"
        ),
        400,
        None,
    ),
    "a superscript digit as a tag": (
        lambda: APIClient().get("/api/v1/orders/?tag=%C2%B2"),
        400,
        "tag",
    ),
    "a circled digit as a tag": (
        lambda: APIClient().get("/api/v1/orders/", {"tag": "①"}),
        400,
        "tag",
    ),
    "an exponent beyond any amount": (
        lambda: APIClient().get("/api/v1/orders/", {"price_max": "1e999999999"}),
        400,
        "price_max",
    ),
    "an amount of a hundred thousand digits": (
        lambda: APIClient().get("/api/v1/orders/", {"price_min": "1e99999"}),
        400,
        "price_min",
    ),
    "an empty parameter": (lambda: APIClient().get("/api/v1/orders/?price_max="), 400, "price_max"),
    "an empty sort": (lambda: APIClient().get("/api/v1/apps/?sort="), 400, "sort"),
    "an empty page": (lambda: APIClient().get("/api/v1/deals/?page="), 400, "page"),
    "page 0": (lambda: APIClient().get("/api/v1/orders/?page=0"), 400, "page"),
    "a repeated parameter": (
        lambda: APIClient().get("/api/v1/apps/?sort=newest&sort=rating"),
        400,
        "sort",
    ),
    "a rating the list does not offer": (
        lambda: APIClient().get("/api/v1/apps/?rating_min=0"),
        400,
        "rating_min",
    ),
    "the retired catalogue API": (
        lambda: APIClient().get("/api/listings/?kind=app"),
        410,
        None,
    ),
    "no credentials": (lambda: APIClient().get("/api/v1/auth/me/"), 401, None),
    "a forged token": (
        lambda: APIClient(HTTP_AUTHORIZATION="Bearer se_forged").get("/api/v1/auth/me/"),
        401,
        None,
    ),
    "a session where a worker token is needed": (
        lambda: session().get("/api/v1/workers/replicates/1/"),
        403,
        None,
    ),
    "a session without its CSRF token": (
        lambda: session(csrf=True).post("/api/v1/orders/typed-data/", {}, "json"),
        403,
        None,
    ),
    "an unknown URL under /api/v1/": (lambda: APIClient().get("/api/v1/nope/"), 404, None),
    "an unknown URL under /api/": (lambda: APIClient().get("/api/nope/"), 404, None),
    "/api itself, without its slash": (lambda: APIClient().get("/api"), 404, None),
    "a path id of the wrong type": (
        lambda: APIClient().get("/api/v1/workers/replicates/abc/"),
        404,
        None,
    ),
    "past the last page": (lambda: APIClient().get("/api/v1/orders/?page=2"), 404, None),
    "no such listing": (lambda: APIClient().get("/api/v1/apps/nope/"), 404, None),
    "a method the endpoint does not take": (
        lambda: APIClient().delete("/api/v1/orders/"),
        405,
        None,
    ),
    "HTML asked for": (
        lambda: APIClient().get("/api/v1/orders/", HTTP_ACCEPT="text/html"),
        406,
        None,
    ),
    "an upload over the site's limit": (
        lambda: session().post(
            "/api/v1/orders/inputs/",
            b"",
            content_type="multipart/form-data; boundary=x",
            CONTENT_LENGTH=str(10**12),
        ),
        413,
        None,
    ),
    "a body of another media type": (
        lambda: APIClient().post(
            "/api/v1/orders/typed-data/", "kind=app", content_type="text/plain"
        ),
        415,
        None,
    ),
}


@pytest.mark.parametrize("name", ERRORS)
def test_every_refusal_is_json_with_a_sentence(name):
    call, status, field = ERRORS[name]

    assert_api_error(call(), status, field=field)


def test_a_bad_parameter_is_named_with_what_to_give():
    tag = APIClient().get("/api/v1/orders/?tag=%C2%B2")
    empty = APIClient().get("/api/v1/apps/?sort=")
    repeated = APIClient().get("/api/v1/deals/?page=1&page=2")

    assert assert_api_error(tag, 400, field="tag") == (
        "tag must be tee, tdx or bit numbers 0 to 62, comma-separated, not '²'."
    )
    assert assert_api_error(empty, 400, field="sort") == (
        "sort is empty: leave it out, or give one of reputation, newest, price_asc, price_desc, "
        "rating."
    )
    assert assert_api_error(repeated, 400, field="page") == (
        "page is given 2 times: give it once, as a whole number from 1 to 1000000."
    )


def test_a_search_with_a_nul_character_is_refused_for_it_not_for_its_length():
    refused = APIClient().get("/api/v1/apps/?q=a%00b")

    assert assert_api_error(refused, 400, field="q") == (
        "q holds a NUL character (%00), which no parameter takes: give text of at most 200 "
        "characters without it."
    )


def test_drf_refusals_say_what_to_do():
    unknown_method = APIClient().delete("/api/v1/orders/")
    anonymous = APIClient().get("/api/v1/auth/me/")
    csrf = session(csrf=True).post("/api/v1/orders/typed-data/", {}, "json")

    assert "GET, HEAD" in assert_api_error(unknown_method, 405)
    assert unknown_method["Allow"] == "GET, HEAD, OPTIONS"
    assert "Authorization: Bearer <token>" in assert_api_error(anonymous, 401)
    assert anonymous["WWW-Authenticate"] == 'Bearer realm="api"'
    assert "X-CSRFToken" in assert_api_error(csrf, 403)


def test_an_unknown_url_points_to_the_documentation():
    message = assert_api_error(APIClient().get("/api/v1/nope/"), 404)

    assert message == "There is no API endpoint at /api/v1/nope/: see the endpoints at /api/docs/."


def test_django_csrf_page_under_the_api_becomes_json(rf):
    # No view under /api/ is outside DRF today; one that was would get Django's CSRF page.
    from django.views.csrf import csrf_failure

    from marketplace.middleware import ApiErrorMiddleware

    request = rf.post("/api/v1/some-django-view/")
    middleware = ApiErrorMiddleware(lambda request: csrf_failure(request, reason="no token"))

    response = middleware(request)

    assert (response.status_code, response["Content-Type"]) == (403, "application/json")
    assert "X-CSRFToken" in json.loads(response.content)["error"]


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_throttled_worker_calls_are_429_with_when_to_retry(monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "workers", "1/min")
    worker = token_client("0x" + "ab" * 20)
    assert worker.get("/api/v1/workers/replicates/1/").status_code == 404

    throttled = worker.get("/api/v1/workers/replicates/1/")

    assert assert_api_error(throttled, 429).startswith("Too many requests: wait ")
    assert int(throttled["Retry-After"]) > 0


def test_too_many_sign_in_challenges_are_429():
    body = {"address": "0x" + "ab" * 20, "chainId": 31337}
    for _ in range(30):
        APIClient().post("/api/v1/auth/challenge/", body, "json")

    assert_api_error(APIClient().post("/api/v1/auth/challenge/", body, "json"), 429)


def test_a_server_error_is_json_without_its_traceback(monkeypatch, settings):
    settings.DEBUG = False

    def broken(**kwargs):
        raise RuntimeError("a bug with secrets in its message")

    monkeypatch.setattr("marketplace.deals.selectors.deal_list", broken)
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/deals/")

    message = assert_api_error(response, 500)
    assert "secrets" not in response.content.decode() and "Traceback" not in message


@pytest.fixture
def market(chain, hub_deployment, opened_market) -> Market:
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    return opened_market.copy()


def test_a_conflict_is_json_with_a_sentence_and_the_field(market):
    order = AppOrder(app=market.app, appprice=2 * ECT, volume=5)
    body = {
        "kind": "app",
        "order": typed_data(order, market.domain)["message"],
        "signature": "0x" + sign_order(order, market.domain, market.app_owner.key).hex(),
    }
    publisher = token_client(market.app_owner.address)
    assert publisher.post("/api/v1/orders/publish/", body, "json").status_code == 201

    again = publisher.post("/api/v1/orders/publish/", body, "json")

    assert "is already in the book" in assert_api_error(again, 409, field="order")
