from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from marketplace.catalogue.models import Tag
from marketplace.catalogue.storage import atomic_with_files, delete_after_commit, track_saved_file

pytestmark = pytest.mark.django_db(transaction=True)


def _save(name: str) -> str:
    saved = default_storage.save(name, ContentFile(b"data"))
    track_saved_file(saved)
    return saved


def test_failure_deletes_files_saved_in_nested_blocks_and_rolls_back_rows():
    with pytest.raises(RuntimeError), atomic_with_files():
        Tag.objects.create(name="x", slug="x")
        with atomic_with_files():
            inner = _save("inner.bin")
        outer = _save("outer.bin")
        raise RuntimeError("later step failed")

    assert not default_storage.exists(inner)
    assert not default_storage.exists(outer)
    assert not Tag.objects.exists()


def test_success_keeps_files_and_deletes_replaced_ones_after_commit():
    old = default_storage.save("old.bin", ContentFile(b"old"))
    with atomic_with_files():
        new = _save("new.bin")
        delete_after_commit(old)
        assert default_storage.exists(old)  # not before the commit

    assert default_storage.exists(new)
    assert not default_storage.exists(old)


def test_replaced_file_survives_a_failed_transaction():
    old = default_storage.save("old.bin", ContentFile(b"old"))
    with pytest.raises(RuntimeError), atomic_with_files():
        delete_after_commit(old)
        raise RuntimeError("failed")
    assert default_storage.exists(old)
