"""The site's console log: a refused request is one line, without a traceback, and no line is
printed twice (Django's own console handler is off; its loggers reach the root's)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings

LOG = textwrap.dedent(
    """
    import django, logging
    django.setup()
    from django.core.exceptions import PermissionDenied
    log = logging.getLogger("django.request")
    for status, exception in ((403, PermissionDenied("nope")), (500, RuntimeError("bug"))):
        try:
            raise exception
        except Exception:
            log.warning("Answered %s", status, exc_info=True, extra={"status_code": status})
    log.warning("Bad Request: /api/listings/", extra={"status_code": 400})
    """
)


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_refused_request_is_one_line_and_a_server_error_keeps_its_traceback(debug):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "marketplace.settings",
        "DEBUG": debug,
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    env.pop("LOG_LEVEL", None)
    done = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", LOG], env=env, capture_output=True, text=True, timeout=60
    )

    lines = done.stderr.splitlines()
    assert lines[0] == "Answered 403"
    assert lines[1] == "Answered 500" and lines[2] == "Traceback (most recent call last):"
    assert lines[-2:] == ["RuntimeError: bug", "Bad Request: /api/listings/"]
    assert "PermissionDenied" not in done.stderr
    assert done.stderr.count("Answered 500") == 1
