"""Files saved while a listing is written are deleted again if the write fails, so that an
error never leaves a half-written listing behind (no row without its file, no orphan file)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.storage import default_storage
from django.db import transaction

_local = threading.local()


@contextmanager
def atomic_with_files() -> Iterator[None]:
    """A transaction that also owns the files saved inside it (see `track_saved_file`): if the
    block raises, the transaction rolls back and those files are deleted. Nested blocks hand
    their files to the outermost one, which alone decides."""
    stack: list[list[str]] = getattr(_local, "stack", None) or []
    _local.stack = stack
    outermost = not stack
    if outermost:
        stack.append([])
    try:
        with transaction.atomic():
            yield
    except BaseException:
        if outermost:
            for name in stack[0]:
                default_storage.delete(name)
        raise
    finally:
        if outermost:
            stack.clear()


def track_saved_file(name: str) -> None:
    """Register a file just saved to storage with the enclosing `atomic_with_files`."""
    stack = getattr(_local, "stack", None)
    if stack:
        stack[0].append(name)


def delete_after_commit(name: str) -> None:
    """Delete a file that the transaction replaces, once (and only if) it commits."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
