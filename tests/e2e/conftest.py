"""Fixtures of the browser tests."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler


class _Served:
    """The HTTP requests the test server is answering now."""

    def __init__(self, app) -> None:
        self.app = app
        self.count = 0
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.count -= 1

    def wait_idle(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.count and time.monotonic() < deadline:
            time.sleep(0.02)


_SERVED: _Served | None = None


@pytest.fixture(autouse=True)
def _answered_before_the_flush(request):
    """A test with the server ends once the server has answered what its pages asked (a
    panel's or the footer's polls): the database's flush after the test would otherwise race a
    query still running, which PostgreSQL may settle as a deadlock. Set up after the test's
    database, so torn down before its flush."""
    if "asgi_server" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("asgi_server")
    request.getfixturevalue("transactional_db")
    yield
    _SERVED.wait_idle()


@pytest.fixture(scope="session")
def asgi_server():
    """The URL of Daphne serving pages, static files and websockets from this process.

    pytest-django's `live_server` speaks WSGI only (no websockets), and channels'
    ChannelsLiveServerTestCase runs Daphne in another process, which SQLite's in-memory test
    database and the in-memory channel layer do not reach: this one runs in a thread of the
    test process, so tests and the server's consumers share the database and the channel layer,
    as the web process and the worker API do in production. Twisted's reactor runs once per
    process: one server for the whole session, shared by every module that needs it."""
    from daphne.server import Server
    from twisted.internet import reactor

    from marketplace.asgi import application

    if reactor.running or getattr(reactor, "_startedBefore", False):
        pytest.fail("Twisted's reactor already ran in this process: it cannot start again.")
    global _SERVED
    _SERVED = _Served(ASGIStaticFilesHandler(application))
    server = Server(
        application=_SERVED,
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        signal_handlers=False,
    )
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.listening_addresses:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("Daphne did not start listening.")
        time.sleep(0.05)
    host, port = server.listening_addresses[0]
    yield f"http://{host}:{port}"
    reactor.callFromThread(reactor.stop)
    thread.join(timeout=10)
