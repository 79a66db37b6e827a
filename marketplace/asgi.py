"""ASGI entry point: HTTP through Django, websockets through Channels (served by Daphne)."""

import os

from django.core.asgi import get_asgi_application


def _daphne_hands_bodies_to_django() -> None:
    """Twisted parses multipart and urlencoded bodies itself before Daphne hands the request on,
    and answers a body it cannot parse with a bare 400 (no content, no content type) that
    Django never sees. Daphne reads only the raw body: turn that parse off, so that Django and
    DRF answer a malformed body (in JSON, under /api/), and a large upload is not parsed twice."""
    try:
        from daphne import http_protocol
    except ImportError:  # another ASGI server
        return

    class WebRequest(http_protocol.WebRequest):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    # Daphne's HTTPFactory builds its requests from this module-level name.
    http_protocol.WebRequest = WebRequest


_daphne_hands_bodies_to_django()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from marketplace.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
