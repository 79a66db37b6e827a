"""Files saved while a listing is written are deleted again if the write fails, so that an
error never leaves a half-written listing behind (no row without its file, no orphan file)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.storage import default_storage
from django.db import transaction


@contextmanager
def atomic_with_files() -> Iterator[list[str]]:
    """A transaction that also owns files: append the storage names you save to the yielded
    list; if the block raises, the transaction rolls back and the files are deleted."""
    saved: list[str] = []
    try:
        with transaction.atomic():
            yield saved
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
