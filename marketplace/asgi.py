"""ASGI entry point: HTTP through Django, websockets through Channels (served by Daphne)."""

from __future__ import annotations

import asyncio
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


class RequestSlots:
    """At most `count` requests run their synchronous code (middleware, view) at a time; the
    others wait their turn, first come first served.

    Python runs one thread at a time. When every request in flight takes its turn at once,
    each takes as long as all of them together, and longer still: a request that leaves the
    interpreter for a moment (each SQLite query does) waits up to a switch interval (5 ms) for
    it again, behind every other. Letting a few run and the rest queue serves each request in
    about its own time plus that of those ahead of it: the slowest requests wait less, and
    more are served per second.

    A request takes its turn once its body has arrived (its synchronous code comes next) and
    gives it back when its response starts (not while a long one is sent). One that waited
    `wait` seconds (those ahead of it waiting on the network: a slow node, say) runs without a
    slot, as every request would without this bound, so that nobody waits behind a stuck
    request for long. The queue lives on the event loop: a waiting request holds no thread."""

    def __init__(self, count: int, *, wait: float) -> None:
        if count < 1:
            raise ValueError("a server needs at least one request slot")
        self.count = count
        self.wait = wait
        self._free = asyncio.Semaphore(count)

    def turn(self) -> Turn:
        return Turn(self)


class Turn:
    """One request's turn at RequestSlots: taken at most once, given back at most once."""

    def __init__(self, slots: RequestSlots) -> None:
        self._slots = slots
        self.asked = False
        self.held = False

    async def take(self) -> None:
        if self.asked:
            return
        self.asked = True
        try:
            await asyncio.wait_for(self._slots._free.acquire(), self._slots.wait)
        except TimeoutError:
            return  # runs without one
        self.held = True

    def end(self) -> None:
        self.asked = True  # a turn that ended is never taken again
        if self.held:
            self.held = False
            self._slots._free.release()


class RequestThreads:
    """Serve each HTTP request's Django code on a thread that served earlier ones, in one of
    `slots` (RequestSlots; None: no bound).

    Django runs a request's synchronous code (middleware, views) on one thread of its own, by
    default a new thread per request: it opens a database connection of its own (SQLite opens
    the file and reads the schema again, about a millisecond) and leaves it at the end. Here each
    request takes an idle thread, one request per thread at a time as Django requires, so that
    its connection (kept for CONN_MAX_AGE) serves the next. A request that ends without its
    code having finished (the client left and the view was cancelled) gives its thread up."""

    def __init__(self, app, *, keep: int = 32, slots: RequestSlots | None = None) -> None:
        self.app = app
        self.keep = keep
        self.slots = slots
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
        turn = self.slots.turn() if self.slots else None

        async def receive_then_wait_turn() -> dict:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                await turn.take()
            return message

        async def send_ending_turn(message: dict) -> None:
            if message["type"] == "http.response.start":
                turn.end()
            await send(message)

        finished = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                if turn is None:
                    await self.app(scope, receive, send)
                else:
                    await self.app(scope, receive_then_wait_turn, send_ending_turn)
            finished = True
        finally:
            if turn is not None:
                turn.end()
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
from django.conf import settings  # noqa: E402

from marketplace.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": SettledHeap(
            RequestThreads(
                django_asgi_app,
                slots=RequestSlots(
                    settings.SERVER_REQUEST_SLOTS, wait=settings.SERVER_SLOT_WAIT_SECONDS
                ),
            )
        ),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
settle_heap()
