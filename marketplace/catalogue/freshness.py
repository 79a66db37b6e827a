"""The catalogue's version: a value that changes whenever any listing's public face changes;
and each listing page's own, for what only that page shows (its comments and reviews).

List pages cache their rendered results under keys that include it, so one call to
`catalogue_changed` retires every cached result page at once, in every process sharing the
cache. Every service that changes what a list page shows (a listing's fields, status, prices,
tags, rating, reputation) must call it; the cache's timeout bounds the damage of a forgotten
call.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "catalogue:version"


def catalogue_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, time.time_ns(), timeout=None)
        version = cache.get(VERSION_KEY, 0)
    return version


def _new_version() -> None:
    cache.set(VERSION_KEY, time.time_ns(), timeout=None)


def catalogue_changed() -> None:
    """Retire cached list pages: now, and again once the surrounding transaction commits.

    The second change matters: between the first and the commit, another request may read the
    old rows and cache them under the new version."""
    _new_version()
    transaction.on_commit(_new_version)


def _page_key(listing_id: int) -> str:
    return f"catalogue:page:{listing_id}"


def listing_page_version(listing_id: int) -> int:
    """The version of what only the page of listing `listing_id` shows (0: unchanged since
    the cache began)."""
    return cache.get(_page_key(listing_id), 0)


def listing_page_changed(listing_id: int) -> None:
    """Retire the cached pages of listing `listing_id` (a comment or a review came, changed or
    went): now, and again once the surrounding transaction commits."""

    def bump() -> None:
        cache.set(_page_key(listing_id), time.time_ns(), timeout=None)

    bump()
    transaction.on_commit(bump)
