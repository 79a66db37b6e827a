"""The ASGI application under Daphne, as `make run` serves it: request bodies reach Django;
requests run on reused threads (RequestThreads)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from marketplace import asgi
from marketplace.asgi import RequestSlots, RequestThreads, SettledHeap

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """`python -m marketplace.serve` on a fresh SQLite database of its own; its base URL."""
    var = tmp_path_factory.mktemp("var")
    env = {**os.environ, "SUPEREDGE_VAR_DIR": str(var), "DJANGO_DEBUG": "true"}
    for shared in ("DATABASE_URL", "REDIS_URL"):  # its own database, one process
        env.pop(shared, None)
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=REPO,
        env=env,
        check=True,
    )
    port = _free_port()
    log = var / "serve.log"
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "marketplace.serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"{base}/healthz/", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the site did not answer /healthz/ within 60 s")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _post(url: str, body: bytes, content_type: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(  # noqa: S310 -- a loopback URL of the test's own server
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        # Anonymous: Django refuses them for want of credentials, in the API's shape.
        ("/api/v1/escrow/withdraw/", 401),
        ("/api/v1/orders/inputs/", 401),
        ("/api/v1/workers/replicates/1/result/", 401),
        # Anyone may ask for typed data: DRF's multipart parser refuses the body.
        ("/api/v1/orders/typed-data/", 400),
    ],
)
@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=x"])
def test_a_malformed_multipart_body_is_answered_by_the_site_in_json(
    site, path, status, content_type
):
    # Twisted, under Daphne, used to answer these itself: 400, no body, no content type.
    code, returned_type, body = _post(site + path, b"garbage", content_type)

    assert (code, returned_type) == (status, "application/json"), body
    assert json.loads(body)["error"]


def test_a_websocket_message_over_the_bound_closes_the_socket_before_it_is_read(site):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from marketplace.asgi import WEBSOCKET_MAX_MESSAGE_BYTES

    url = site.replace("http://", "ws://") + "/ws/deals/0x" + "ab" * 32 + "/"
    with connect(url, origin=site, max_size=None) as socket_:
        json.loads(socket_.recv(timeout=10))  # the deal's first snapshot
        socket_.send("x" * 1000)  # within the bound: an error message, the socket stays open
        assert json.loads(socket_.recv(timeout=10))["type"] == "error"
        socket_.send("x" * (WEBSOCKET_MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            socket_.recv(timeout=10)
    # Autobahn fails the connection (1009, message too big, or without a close frame at all):
    # without the bound, the message would be read and answered like the one above.
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009


# ---------------------------------------------------------------- request threads, reused


def _call(app, path: str = "/") -> asyncio.Future:
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    return app(scope, receive, send)


def test_requests_one_after_another_run_on_the_same_thread_not_the_servers():
    seen: list[int] = []
    app = RequestThreads(_app(lambda: seen.append(threading.get_ident())))

    async def two() -> None:
        await _call(app)
        await _call(app)

    asyncio.run(two())

    assert seen[0] == seen[1] != threading.get_ident()


def test_requests_at_the_same_time_each_get_a_thread_of_their_own():
    both_in = threading.Barrier(2, timeout=5)  # broken if they waited for one thread
    seen: list[int] = []

    def view() -> None:
        both_in.wait()
        seen.append(threading.get_ident())

    app = RequestThreads(_app(view))

    async def together() -> None:
        await asyncio.gather(_call(app), _call(app))

    asyncio.run(together())

    assert len(set(seen)) == 2
    assert len(app._idle) == 2  # both kept for the next requests


def test_a_request_that_fails_gives_its_thread_up():
    def view() -> None:
        raise RuntimeError("the view failed")

    app = RequestThreads(_app(view))

    with pytest.raises(RuntimeError, match="the view failed"):
        asyncio.run(_call(app))

    assert app._idle == []


def test_no_more_idle_threads_are_kept_than_asked():
    app = RequestThreads(_app(lambda: time.sleep(0.05)), keep=1)

    async def three() -> None:
        await asyncio.gather(_call(app), _call(app), _call(app))

    asyncio.run(three())

    assert len(app._idle) == 1


def test_websockets_pass_through_untouched():
    scopes: list[dict] = []

    async def inner(scope, receive, send) -> None:
        scopes.append(scope)

    app = RequestThreads(inner)
    asyncio.run(app({"type": "websocket", "path": "/ws/"}, None, None))

    assert scopes == [{"type": "websocket", "path": "/ws/"}] and app._idle == []


@pytest.fixture
def kept_connections():
    """The site's CONN_MAX_AGE on SQLite (the suite runs with 0: see tests/conftest.py)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL connections come from the process's pool")
    kept = connection.settings_dict  # every thread's connection reads this one dict
    before, kept["CONN_MAX_AGE"] = kept["CONN_MAX_AGE"], 600
    yield
    kept["CONN_MAX_AGE"] = before


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("kept_connections")
def test_a_reused_request_thread_keeps_its_database_connection():
    """What the reuse is for: the second request's queries go through the first one's SQLite
    connection, kept by CONN_MAX_AGE past Django's end-of-request check."""
    from django.db import close_old_connections, connection

    opened: list = []

    def view() -> None:
        close_old_connections()  # what Django does as a request starts and ends
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        opened.append(connection.connection)
        close_old_connections()

    app = RequestThreads(_app(view))

    async def two() -> None:
        await _call(app)
        await _call(app)

    asyncio.run(two())

    assert opened[0] is opened[1]


def test_the_site_keeps_sqlite_connections_between_requests(tmp_path):
    code = "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    env = {**os.environ, "SUPEREDGE_VAR_DIR": str(tmp_path), "DJANGO_DEBUG": "true"}
    env.pop("DATABASE_URL", None)
    shown = subprocess.run(  # noqa: S603 - our own interpreter with fixed code
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=REPO,
        env={**env, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(shown.stdout) > 0


def _app(view):
    """An ASGI app running `view` as Django runs a view: thread-sensitive sync code."""
    run = sync_to_async(view, thread_sensitive=True)

    async def app(scope, receive, send) -> None:
        await run()

    return app


# ---------------------------------------------------------------- request slots


def _site_app(view, *, sending=None):
    """An ASGI app as Django's handler is one: it reads the body whole, runs `view` (sync,
    thread-sensitive, given the path) and starts the response; for the paths of `sending` it
    then awaits their event (a body still being sent) before its last message."""
    run = sync_to_async(view, thread_sensitive=True)

    async def app(scope, receive, send) -> None:
        while (await receive()).get("more_body", False):
            pass
        await run(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] in (sending or {}):
            await sending[scope["path"]].wait()
        await send({"type": "http.response.body", "body": b""})

    return app


def _request(app, path: str, *, body_parts: list | None = None) -> asyncio.Future:
    """A request to `app`; its body arrives in `body_parts` (asyncio events set as each part
    arrives), or at once."""
    parts = list(body_parts or [])

    async def receive() -> dict:
        if parts:
            await parts.pop(0).wait()
            return {"type": "http.request", "body": b"x", "more_body": bool(parts)}
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    return app({"type": "http", "method": "GET", "path": path, "headers": []}, receive, send)


def _slotted(view, *, count: int = 1, wait: float = 30.0, sending=None) -> RequestThreads:
    return RequestThreads(_site_app(view, sending=sending), slots=RequestSlots(count, wait=wait))


async def _until(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


def test_with_one_slot_a_request_waits_until_the_one_ahead_has_answered():
    started: list[str] = []
    first_may_end = threading.Event()

    def view(path: str) -> None:
        started.append(path)
        if path == "/first/":
            assert first_may_end.wait(5)

    app = _slotted(view)

    async def two() -> None:
        first = asyncio.ensure_future(_request(app, "/first/"))
        await _until(lambda: started == ["/first/"])
        second = asyncio.ensure_future(_request(app, "/second/"))
        await asyncio.sleep(0.1)
        assert started == ["/first/"]  # queued, not running beside the first
        first_may_end.set()
        await asyncio.gather(first, second)

    asyncio.run(two())

    assert started == ["/first/", "/second/"]


def test_waiting_requests_run_first_come_first_served_one_at_a_time():
    seen: list[str] = []
    first_may_end = threading.Event()

    def view(path: str) -> None:
        seen.append(f"start {path}")
        if path == "/0/":
            assert first_may_end.wait(5)
        else:
            time.sleep(0.01)  # long enough for another to start beside it, were it let
        seen.append(f"end {path}")

    app = _slotted(view)

    async def queued() -> None:
        first = asyncio.ensure_future(_request(app, "/0/"))
        await _until(lambda: seen == ["start /0/"])
        others = []
        for n in range(1, 6):
            others.append(asyncio.ensure_future(_request(app, f"/{n}/")))
            await asyncio.sleep(0.01)  # in this order
        first_may_end.set()
        await asyncio.gather(first, *others)

    asyncio.run(queued())

    assert seen == [f"{event} /{n}/" for n in range(6) for event in ("start", "end")]


def test_two_slots_run_two_requests_at_once():
    both_in = threading.Barrier(2, timeout=5)  # broken if the second waited for the first

    app = _slotted(lambda path: both_in.wait(), count=2)

    async def together() -> None:
        await asyncio.gather(_request(app, "/a/"), _request(app, "/b/"))

    asyncio.run(together())


def test_a_request_that_waited_too_long_runs_without_a_slot():
    started: list[str] = []
    stuck_may_end = threading.Event()

    def view(path: str) -> None:
        started.append(path)
        if path == "/stuck/":  # say, waiting on a node that does not answer
            assert stuck_may_end.wait(5)

    app = _slotted(view, wait=0.2)

    async def behind_a_stuck_one() -> None:
        stuck = asyncio.ensure_future(_request(app, "/stuck/"))
        await _until(lambda: started == ["/stuck/"])
        await asyncio.wait_for(_request(app, "/next/"), 3)  # served while the first is stuck
        assert started == ["/stuck/", "/next/"]
        stuck_may_end.set()
        await stuck

    asyncio.run(behind_a_stuck_one())


def test_a_response_being_sent_leaves_its_slot_to_the_next_request():
    started: list[str] = []
    sent = asyncio.Event()

    app = _slotted(started.append, sending={"/download/": sent})

    async def while_sending() -> None:
        long = asyncio.ensure_future(_request(app, "/download/"))
        # Its body is still being sent: the next request runs all the same.
        await asyncio.wait_for(_request(app, "/page/"), 3)
        assert started == ["/download/", "/page/"] and not long.done()
        sent.set()
        await long

    asyncio.run(while_sending())


def test_a_request_whose_body_is_still_arriving_holds_no_slot():
    started: list[str] = []
    rest_of_body = asyncio.Event()

    app = _slotted(started.append)

    async def slow_upload() -> None:
        arrived = asyncio.Event()
        arrived.set()
        upload = asyncio.ensure_future(
            _request(app, "/upload/", body_parts=[arrived, rest_of_body])
        )
        await asyncio.sleep(0.05)
        await asyncio.wait_for(_request(app, "/page/"), 3)  # not behind the upload
        assert started == ["/page/"]
        rest_of_body.set()
        await upload

    asyncio.run(slow_upload())

    assert started == ["/page/", "/upload/"]


def test_a_request_that_fails_gives_its_slot_back():
    def view(path: str) -> None:
        if path == "/fails/":
            raise RuntimeError("the view failed")

    app = _slotted(view, wait=30)

    async def after_a_failure() -> None:
        with pytest.raises(RuntimeError):
            await _request(app, "/fails/")
        await asyncio.wait_for(_request(app, "/next/"), 3)  # not 30 s for a lost slot

    asyncio.run(after_a_failure())


def test_a_turn_is_given_back_once():
    slots = RequestSlots(1, wait=0.1)

    async def twice() -> bool:
        turn = slots.turn()
        await turn.take()
        turn.end()
        turn.end()  # the second does not free a slot it no longer holds
        first, second = slots.turn(), slots.turn()
        await first.take()
        await second.take()  # waits `wait`, then goes on without
        return first.held and not second.held

    assert asyncio.run(twice())


def test_a_server_has_at_least_one_slot():
    with pytest.raises(ValueError, match="at least one"):
        RequestSlots(0, wait=1)


# ---------------------------------------------------------------- the settled heap


def test_the_heap_is_settled_after_the_first_requests(monkeypatch):
    settled: list[int] = []
    app = SettledHeap(_app(lambda: None))
    monkeypatch.setattr(asgi, "settle_heap", lambda: settled.append(app.served))
    monkeypatch.setattr(SettledHeap, "SETTLE_AFTER", (2, 4))

    async def six() -> None:
        for _ in range(6):
            await _call(app)
        await app({"type": "websocket", "path": "/ws/"}, None, None)  # not a request

    asyncio.run(six())

    assert settled == [2, 4] and app.served == 6


def test_settling_the_heap_leaves_what_lives_now_out_of_collections():
    gc.unfreeze()
    try:
        survivor = [object() for _ in range(100)]
        asgi.settle_heap()
        assert gc.get_freeze_count() >= len(survivor)
    finally:
        gc.unfreeze()


def test_the_site_serves_requests_in_the_slots_its_settings_give():
    from django.conf import settings

    threads = asgi.application.application_mapping["http"].app

    assert isinstance(threads, RequestThreads)
    assert (threads.slots.count, threads.slots.wait) == (
        settings.SERVER_REQUEST_SLOTS,
        settings.SERVER_SLOT_WAIT_SECONDS,
    )
