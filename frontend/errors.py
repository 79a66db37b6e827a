"""The site's own error pages: a page not found says which path and offers a way back, in
production (Django's handler404) as in development, where Django would list every URL pattern
instead (`nearest_routes` then names the few closest to the path asked for). A refusal (an
AppError) is a page of its title and sentence, or for htmx its box alone (`app_error_page`).
The server error page is templates/500.html, rendered by Django's own handler without a request
(a failing database must not fail it too)."""

from __future__ import annotations

import difflib
import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, get_resolver
from django_htmx.middleware import HtmxDetails

from marketplace.api import is_api
from marketplace.errors import AppError, Forbidden, error_body, title_of
from marketplace.notfound import NotFound

# How many routes the development page suggests, and how alike they must be to the path.
NEAREST_ROUTES = 5
_ROUTE_CUTOFF = 0.5
# A converter in a route, shown as its name: <slug:slug> → <slug>.
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _routes(patterns, prefix: str = "") -> list[str]:
    routes = []
    for entry in patterns:
        route = prefix + _CONVERTER.sub(r"<\1>", str(entry.pattern))
        if isinstance(entry, URLResolver):
            routes += _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and not route.startswith("^"):  # regex: not a path
            routes.append("/" + route)
    return routes


def app_error_page(request: HttpRequest, error: AppError) -> HttpResponse:
    """`error` as a page (frontend/error.html: a title for its kind, its sentence, a way back),
    with its status; for htmx, the box alone, marked X-App-Error: htmx swaps a refusal so
    marked where its request's answer would have gone (frontend/js/errors.js), and leaves any
    other error answer out."""
    # HtmxMiddleware's request.htmx is not there yet for middleware before it (uploads).
    htmx = getattr(request, "htmx", None) or HtmxDetails(request)
    template = "frontend/error.html"
    if htmx and not htmx.boosted:
        template += "#error"
    context = {"title": title_of(error), "message": str(error)}
    response = render(request, template, context, status=error.status)
    response.site_error_page = True  # our own page: the strict policy (marketplace.csp)
    if htmx:
        response["X-App-Error"] = error.code
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form or a script's POST without its CSRF token (settings.CSRF_FAILURE_VIEW): the
    site's own refusal, in words, not Django's page for developers."""
    if is_api(request):
        return JsonResponse(
            error_body(
                "This request lacks its CSRF token: send the csrftoken cookie's value in an "
                "X-CSRFToken header, or use an API token (Authorization: Bearer)."
            ),
            status=403,
        )
    return app_error_page(
        request,
        Forbidden(
            "This form was sent without its security token (its page is old, or your session "
            "expired): reload the page, sign in if asked, and send it again."
        ),
    )


def nearest_routes(path: str, *, count: int = NEAREST_ROUTES) -> list[str]:
    """The site's routes most like `path` (as /deals/<dealid>/), best first."""
    routes = list(dict.fromkeys(_routes(get_resolver().url_patterns)))
    return difflib.get_close_matches(path, routes, n=count, cutoff=_ROUTE_CUTOFF)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 404 page (handler404, and the development middleware): the path not found, why when
    a view said so for visitors (NotFound), and in development the routes nearest to it."""
    reason = ""
    # A view's words for visitors (NotFound); in development, any 404's, to help find the cause.
    said = isinstance(exception, NotFound) or (settings.DEBUG and isinstance(exception, Http404))
    if said and exception.args and isinstance(exception.args[0], str):
        reason = exception.args[0]
    context = {"request_path": request.path, "reason": reason}
    if settings.DEBUG:
        context["routes"] = [
            {"route": route, "url": "" if "<" in route else route}
            for route in nearest_routes(request.path)
        ]
    response = render(request, "404.html", context, status=404)
    response.site_error_page = True  # our own page: the strict policy (marketplace.csp)
    return response


class DebugNotFoundMiddleware:
    """In development (DEBUG on) a page not found is still the site's page, with the path and
    the routes nearest to it, not Django's technical list of every URL pattern. Without DEBUG
    it does nothing: Django's handler404 (`not_found`) answers then. /api/ answers JSON
    (marketplace.middleware.ApiErrorMiddleware)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # No resolver match: no route took the path (Django's technical 404 in development).
        if (
            settings.DEBUG
            and response.status_code == 404
            and getattr(request, "resolver_match", None) is None
            and not is_api(request)
        ):
            return not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        if settings.DEBUG and isinstance(exception, Http404) and not is_api(request):
            return not_found(request, exception)
        return None
