"""The catalogue's version: a value that changes whenever any listing's public face changes.

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
