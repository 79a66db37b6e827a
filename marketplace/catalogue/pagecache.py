"""Whole catalogue pages for anonymous visitors, cached until the catalogue changes.

Most visitors of the home and list pages are not signed in, and for them a page depends only on
its URL and the catalogue (see freshness.py): one rendering can serve them all. The exception is
the CSRF token every page carries for htmx. The page is rendered with a slot in its place (the
`csrf_slot` context processor): a random string made for that rendering, stored with it and
never sent, so that no text a visitor types or lists can fake it. Each response gets the
visitor's own token in the slot. A view may name other live parts the same way (`live`: a
name, and the function that renders that part for a request): a template writes
`live_slots.<name>` in their place, and each response gets them rendered afresh (the index's
"indexed N seconds ago" line, which changes while the rest of a page does not).

A request is served from, or stored in, this cache only when nothing else about the visitor can
show on the page: no session cookie (so nobody is signed in and the session holds nothing) and
no pending messages. Each view says which of its URLs are worth a shared entry (its `key`
function; None: render afresh), so that made-up query strings cannot fill the cache. A response
is stored only when it is a plain 200 with no header but its content type and no cookie.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from functools import wraps

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import patch_vary_headers

from marketplace.catalogue.freshness import catalogue_version

PAGE_CACHE_SECONDS = 300
_SLOT_ATTRIBUTE = "_page_cache_slot"
_LIVE_ATTRIBUTE = "_page_cache_live"

# The page of a request, in the view's terms: what it shows, or None when not to share it.
PageKey = Callable[..., str | None]


# A live part of a page: rendered for each response, in the slot the cached page keeps for it.
LivePart = Callable[[HttpRequest], str]


def csrf_slot(request: HttpRequest) -> dict:
    """Context processor: while a page is rendered for the cache, its token is the slot, and
    `live_slots` holds the slots of its live parts."""
    slot = getattr(request, _SLOT_ATTRIBUTE, None)
    return {"csrf_token": slot, "live_slots": getattr(request, _LIVE_ATTRIBUTE, {})} if slot else {}


def _anonymous(request: HttpRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
    )


def _shareable(request: HttpRequest, response: HttpResponse) -> bool:
    session = getattr(request, "session", None)
    return (
        response.status_code == 200
        and not response.streaming
        and not response.cookies
        and set(response.headers) == {"Content-Type"}
        and session is not None
        and not session.modified
    )


def _respond(
    request: HttpRequest,
    live: Mapping[str, LivePart],
    content: str,
    content_type: str,
    slot: str,
    live_slots: Mapping[str, str],
) -> HttpResponse:
    for name, live_slot in live_slots.items():
        content = content.replace(live_slot, live[name](request))
    response = HttpResponse(content.replace(slot, get_token(request)), content_type)
    patch_vary_headers(response, ("HX-Request", "HX-Boosted"))
    return response


def cache_anonymous_page(key: PageKey, *, live: Mapping[str, LivePart] | None = None) -> Callable:
    """Serve the view's pages to anonymous visitors from the cache, under
    `key(request, *args, **kwargs)` and the catalogue's version, with their `live` parts
    rendered for each response."""
    live = dict(live or {})

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            page = key(request, *args, **kwargs) if _anonymous(request) else None
            if page is None:
                return view(request, *args, **kwargs)
            htmx = (
                f"{request.headers.get('HX-Request', '')}|{request.headers.get('HX-Boosted', '')}"
            )
            # "page2": entries hold their live slots (those of "page:" entries, which did
            # not, are never read as such after an upgrade sharing the cache).
            cache_key = f"page2:{catalogue_version()}:{request.get_host()}:{htmx}:{page}"
            cached = cache.get(cache_key)
            if cached is not None:
                return _respond(request, live, *cached)
            slot = f"csrf-slot-{secrets.token_hex(16)}"
            live_slots = {name: f"live-slot-{secrets.token_hex(16)}" for name in live}
            setattr(request, _SLOT_ATTRIBUTE, slot)
            setattr(request, _LIVE_ATTRIBUTE, live_slots)
            try:
                response = view(request, *args, **kwargs)
            finally:
                setattr(request, _SLOT_ATTRIBUTE, None)
                setattr(request, _LIVE_ATTRIBUTE, {})
            entry = (
                None if response.streaming else response.content.decode(response.charset),
                response.get("Content-Type", ""),
                slot,
                live_slots,
            )
            if not _shareable(request, response):
                # Rendered for this visitor alone; it may still hold the slots.
                if response.streaming:
                    return response
                filled = _respond(request, live, *entry)
                response.content = filled.content
                return response
            cache.set(cache_key, entry, PAGE_CACHE_SECONDS)
            return _respond(request, live, *entry)

        return wrapper

    return decorator
