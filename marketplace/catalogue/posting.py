"""How fast people may post to the catalogue (ratings, comments): the limits of a request and
the sentence that refuses one over them, the same for the pages and the API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from marketplace import ratelimit
from marketplace.clientip import client_ip


def posting_limits(request: HttpRequest, setting: str) -> tuple[ratelimit.Limit, ...]:
    """The rate in `setting` ("COMMENT_RATE"), for the signed-in user and for the client."""
    rate = ratelimit.Rate.parse(getattr(settings, setting), setting=setting)
    return (
        ratelimit.Limit(scope=f"{setting}:user", ident=str(request.user.pk), rate=rate),
        ratelimit.Limit(scope=f"{setting}:ip", ident=client_ip(request), rate=rate),
    )


def too_fast(refused: ratelimit.Refused, what: str) -> str:
    """Why a post over its limit is refused, and how long to wait."""
    who = "You are" if refused.limit.scope.endswith(":user") else "Your network is"
    return (
        f"{who} posting {what} too fast (at most {refused.limit.rate}): wait "
        f"{refused.wait_text}, then try again."
    )
