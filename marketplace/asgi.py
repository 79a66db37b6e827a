"""ASGI entry point: HTTP through Django, websockets through Channels (served by Daphne)."""

import gc
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
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


# Nothing a client of ours sends over a websocket is longer (marketplace.deals.consumers reads
# 1,024 characters at most): a longer message closes the socket (1009) before it is read whole.
WEBSOCKET_MAX_MESSAGE_BYTES = 64 * 1024


def _daphne_bounds_websocket_messages() -> None:
    """Daphne lets autobahn take websocket messages of any size into memory before the
    consumer sees them: cap messages and frames at WEBSOCKET_MAX_MESSAGE_BYTES."""
    try:
        from daphne import server
    except ImportError:  # another ASGI server
        return

    class WebSocketFactory(server.WebSocketFactory):
        def setProtocolOptions(self, **options) -> None:  # autobahn's name
            options.setdefault("maxMessagePayloadSize", WEBSOCKET_MAX_MESSAGE_BYTES)
            options.setdefault("maxFramePayloadSize", WEBSOCKET_MAX_MESSAGE_BYTES)
            super().setProtocolOptions(**options)

    # Daphne's Server builds its websocket factory from this module-level name.
    server.WebSocketFactory = WebSocketFactory


class RequestThreads:
    """Serve each HTTP request's Django code on a thread that served earlier ones.

    Django runs a request's synchronous code (middleware, views) on one thread of its own, by
    default a new thread per request: it opens a database connection of its own (SQLite opens
    the file and reads the schema again, about a millisecond) and leaves it at the end. Here each
    request takes an idle thread, one request per thread at a time as Django requires, so that
    its connection (kept for CONN_MAX_AGE) serves the next. A request that ends without its
    code having finished (the client left and the view was cancelled) gives its thread up."""

    def __init__(self, app, *, keep: int = 32) -> None:
        self.app = app
        self.keep = keep
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        executor = (
            self._idle.pop()
            if self._idle
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        )
        finished = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
            finished = True
        finally:
            if finished and len(self._idle) < self.keep:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)


def settle_heap() -> None:
    """Collect garbage once, then leave every object alive now out of later collections."""
    gc.collect()
    gc.freeze()


class SettledHeap:
    """Keep the objects that live as long as the process out of the collector's full passes.

    A full pass of Python's garbage collector walks every object it tracks: Django, the apps,
    their modules, compiled templates and URL patterns made a few hundred thousand, and each
    pass stalled every request in flight for about 100 ms. The heap is settled (`settle_heap`)
    once the application is loaded, and again after the first requests, which load and compile
    the rest: later passes walk only what requests made since."""

    SETTLE_AFTER = (50, 500)  # requests

    def __init__(self, app) -> None:
        self.app = app
        self.served = 0

    async def __call__(self, scope, receive, send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.served += 1
                if self.served in self.SETTLE_AFTER:
                    settle_heap()


_daphne_hands_bodies_to_django()
_daphne_bounds_websocket_messages()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from marketplace.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": SettledHeap(RequestThreads(django_asgi_app)),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
settle_heap()
