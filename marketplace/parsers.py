"""The API's request parsers (settings REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

Its own module: DRF reads the setting when it defines APIView, so this must not import views.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from rest_framework.parsers import JSONParser

from marketplace.errors import TooLarge


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing a body over DATA_UPLOAD_MAX_MEMORY_SIZE before it is read
    whole or parsed (DRF's own reads any size: Django's limit covers forms only)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise TooLarge(f"The request's JSON is over {filesizeformat(limit)}: send less.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
