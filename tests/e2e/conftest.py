"""Fixtures of the browser tests."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler


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
    server = Server(
        application=ASGIStaticFilesHandler(application),
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
