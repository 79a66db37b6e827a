"""Whole catalogue pages for anonymous visitors, cached until the catalogue changes.

Most visitors of the home and list pages are not signed in, and for them a page depends only on
its URL and the catalogue (see freshness.py): one rendering can serve them all. The exception is
the CSRF token every page carries for htmx. The page is rendered with a slot in its place (the
`csrf_slot` context processor) and each response gets the visitor's own token in the slot.

A request is served from, or stored in, this cache only when nothing else about the visitor can
show on the page: no session cookie (so nobody is signed in and the session holds nothing) and
no pending messages. A response is stored only when it is a plain 200 that set no cookie.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers

from marketplace.catalogue.freshness import catalogue_version

PAGE_CACHE_SECONDS = 300
# Stands for the CSRF token in a cached page; it cannot occur in a rendered page otherwise.
CSRF_SLOT = "csrf-slot-5b1f0c9e7d"
_SLOT_ATTRIBUTE = "_page_cache_slot"


def csrf_slot(request: HttpRequest) -> dict:
    """Context processor: while a page is rendered for the cache, its token is the slot."""
    if getattr(request, _SLOT_ATTRIBUTE, False):
        return {"csrf_token": CSRF_SLOT}
    return {}


def _cacheable(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )


def _key(request: HttpRequest) -> str:
    htmx = request.headers.get("HX-Request", "") + "|" + request.headers.get("HX-Boosted", "")
    return f"page:{catalogue_version()}:{request.get_host()}:{htmx}:{request.get_full_path()}"


def _respond(request: HttpRequest, content: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content.replace(CSRF_SLOT, get_token(request)), content_type)
    patch_vary_headers(response, ("HX-Request", "HX-Boosted"))
    return response


def cache_anonymous_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        key = _key(request)
        cached = cache.get(key)
        if cached is not None:
            return _respond(request, *cached)
        setattr(request, _SLOT_ATTRIBUTE, True)
        try:
            response = view(request, *args, **kwargs)
        finally:
            setattr(request, _SLOT_ATTRIBUTE, False)
        if (
            response.status_code != 200
            or response.streaming
            or response.cookies
            or request.session.modified
        ):
            # Not a page to share; it may still hold the slot.
            if not response.streaming:
                response.content = response.content.replace(
                    CSRF_SLOT.encode(), get_token(request).encode()
                )
            return response
        entry = (response.content.decode(response.charset), response["Content-Type"])
        cache.set(key, entry, PAGE_CACHE_SECONDS)
        return _respond(request, *entry)

    return wrapper
