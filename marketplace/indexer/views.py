"""The index's freshness: the footer line every page loads (htmx), and its page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from marketplace.indexer import selectors


@never_cache
def index_status(request: HttpRequest) -> HttpResponse:
    """The page of the index's state; htmx gets the footer line alone."""
    freshness = selectors.index_freshness()
    template = "indexer/status.html#freshness" if request.htmx else "indexer/status.html"
    return render(request, template, {"freshness": freshness})
