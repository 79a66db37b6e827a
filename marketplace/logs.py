"""Log filters of the site's console handler (settings.LOGGING)."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A refused request (4xx: a page not allowed, not found, a bad form) is logged as its one
    line, without the traceback of the exception that answered it: it is the visitor's error,
    and the traceback says nothing about the site. Server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.name == "django.request" and status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
