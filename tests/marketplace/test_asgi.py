"""The ASGI application under Daphne, as `make run` serves it: request bodies reach Django."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

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
