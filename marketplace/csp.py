"""A Content-Security-Policy on every response: `settings.CONTENT_SECURITY_POLICY`, with the
websocket origin of the request's own host added to connect-src (the deal pages follow their
deal over a websocket).

Our own middleware rather than django-csp: the policy is one dict in the settings and a header
built from it, and the websocket origin depends on the request (its host, ws: or wss:), which
django-csp's fixed directives cannot say. A response that already has a policy keeps it: views
that serve untrusted content (result previews, input downloads) send a stricter one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy_header(directives: Mapping[str, Sequence[str]], *, websocket_origin: str = "") -> str:
    """The header's value: `directive source source; ...` in the settings' order, with
    `websocket_origin` (when given) appended to connect-src."""
    parts = []
    for name, sources in directives.items():
        values = list(sources)
        if name == "connect-src" and websocket_origin:
            values.append(websocket_origin)
        parts.append(" ".join([name, *values]))
    return "; ".join(parts)


def websocket_origin(request: HttpRequest) -> str:
    """ws://host[:port] of the request (wss: over HTTPS); "" when its host is not allowed (such a
    request is answered 400 anyway, and 'self' still covers the site's own sockets)."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    return f"{'wss' if request.is_secure() else 'ws'}://{host}"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER in response:
            return response
        directives = settings.CONTENT_SECURITY_POLICY
        if (
            settings.DEBUG
            and response.status_code >= 400
            and response.get("Content-Type", "").startswith("text/html")
            and not getattr(response, "site_error_page", False)
        ):
            # Django's debug pages for errors style and script inline: readable in development
            # (production never shows them), every other rule kept. The site's own error
            # pages (frontend.errors) and the API's JSON answers keep the whole policy.
            directives = {
                **directives,
                "script-src": [*directives.get("script-src", []), "'unsafe-inline'"],
                "style-src": [*directives.get("style-src", []), "'unsafe-inline'"],
            }
        response[HEADER] = policy_header(directives, websocket_origin=websocket_origin(request))
        return response
