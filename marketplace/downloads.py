"""File downloads that stream under either server.

Django's FileResponse reads its file lazily under WSGI, but under ASGI (Daphne, what `make run`
and production serve with) a synchronous iterator is first read whole into memory
("StreamingHttpResponse must consume synchronous iterators..."): a 1 GB dataset would cost
1 GB of RAM per download. Under ASGI the file is therefore read chunk by chunk in a worker
thread, as an asynchronous iterator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import IO

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, HttpRequest

CHUNK_BYTES = 512 * 1024


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    read = sync_to_async(file.read, thread_sensitive=False)
    while chunk := await read(CHUNK_BYTES):
        yield chunk


def download(
    request: HttpRequest, file: IO[bytes], *, filename: str, content_type: str
) -> FileResponse:
    """`file` as an attachment named `filename` (its length, type and nosniff set), streamed
    without reading it whole under either server. The response closes the file."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    if isinstance(request, ASGIRequest):
        response.streaming_content = _chunks(file)
    return response
