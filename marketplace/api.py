"""What every JSON API answer shares."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's answer, with its message also under "error" (as every refusal of ours has it):
    malformed JSON, unsupported media, authentication and permission failures."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data["error"] = str(response.data["detail"])
    return response
