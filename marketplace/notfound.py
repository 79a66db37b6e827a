"""A "not found" whose message is written for visitors.

The 404 page shows the message of this exception only: any other Http404's text (Django's, a
library's, one built from data) stays out of a page strangers read."""

from __future__ import annotations

from django.http import Http404


class NotFound(Http404):
    """Raise it with one sentence that tells a visitor what is missing (shown on the page)."""
