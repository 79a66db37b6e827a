"""Downloads stream under ASGI (Daphne) chunk by chunk, never read whole into memory, and
under WSGI as before."""

from __future__ import annotations

import warnings

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from marketplace.downloads import CHUNK_BYTES

pytestmark = pytest.mark.django_db(transaction=True)

CONTENT = bytes(range(256)) * (CHUNK_BYTES // 256 * 2 + 3)  # two chunks and a bit


@pytest.fixture
def stored():
    default_storage.save("inputs/abc123/data.bin", ContentFile(CONTENT))
    return "/inputs/abc123/data.bin"


async def test_under_asgi_a_download_streams_in_chunks_without_a_warning(stored):
    from django.core.asgi import get_asgi_application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": stored,
        "raw_path": stored.encode(),
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(get_asgi_application(), scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "must consume synchronous iterators" would raise
        start = await communicator.receive_output(10)
        bodies = []
        while True:
            message = await communicator.receive_output(10)
            bodies.append(message.get("body", b""))
            if not message.get("more_body"):
                break
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"Content-Length"] == str(len(CONTENT)).encode()
    assert headers[b"X-Content-Type-Options"] == b"nosniff"
    assert b"attachment" in headers[b"Content-Disposition"]
    assert b"".join(bodies) == CONTENT
    assert max(len(body) for body in bodies) <= CHUNK_BYTES < len(CONTENT)


def test_under_wsgi_a_download_is_the_file(client, stored):
    response = client.get(stored)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["X-Content-Type-Options"] == "nosniff"
