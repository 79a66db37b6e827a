"""Data market writes: a dataset listing and its encrypted file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from dappstore.models import App
from datamarket import crypto
from datamarket.models import Dataset, KeyRelease
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.storage import atomic_with_files, delete_after_commit, track_saved_file


def _encrypt_into(dataset: Dataset, upload: UploadedFile) -> None:
    """Encrypt the upload under a fresh dataset key; only ciphertext reaches storage."""
    if upload.size > settings.DATASET_MAX_BYTES:
        raise catalogue.CatalogueError(
            f"The file is {upload.size / 1e6:.1f} MB; datasets are limited to "
            f"{settings.DATASET_MAX_BYTES / 1e6:.0f} MB."
        )
    key = crypto.generate_dataset_key()
    with tempfile.TemporaryFile() as ciphertext:
        upload.seek(0)
        result = crypto.encrypt_stream(upload, ciphertext, key=key)
        ciphertext.seek(0)
        dataset.encrypted_file.save(f"{dataset.listing.slug}.seds", File(ciphertext), save=False)
    track_saved_file(dataset.encrypted_file.name)
    dataset.encrypted_sha256 = result.encrypted_sha256
    dataset.encrypted_size = result.encrypted_size
    dataset.plain_size = result.plain_size
    dataset.original_name = (upload.name or "dataset")[:200]
    dataset.content_type = (getattr(upload, "content_type", "") or "")[:100]
    dataset.wrapped_key = crypto.wrap_key(key, server_key=settings.DATASET_KEY_ENCRYPTION_KEY)


def dataset_submit(
    *, owner, data_file: UploadedFile, allowed_apps: Iterable[App] = (), **listing_fields
) -> Listing:
    """A new dataset listing, pending curation, its file encrypted at rest."""
    with atomic_with_files():
        listing = catalogue.listing_create(kind=Market.DATASET, owner=owner, **listing_fields)
        dataset = Dataset(listing=listing)
        _encrypt_into(dataset, data_file)
        dataset.save()
        dataset.allowed_apps.set(allowed_apps)
    return listing


def dataset_update(
    *,
    listing: Listing,
    actor,
    data_file: UploadedFile | None = None,
    allowed_apps: Iterable[App] = (),
    **listing_fields,
) -> Listing:
    with atomic_with_files():
        listing = catalogue.listing_update(listing=listing, actor=actor, **listing_fields)
        dataset = Dataset.objects.select_for_update().get(listing=listing)
        if data_file is not None:
            delete_after_commit(dataset.encrypted_file.name)
            _encrypt_into(dataset, data_file)
        dataset.save()
        dataset.allowed_apps.set(allowed_apps)
    return listing


def dataset_decrypt_to(*, dataset: Dataset, dst) -> int:
    """Write the plaintext of a dataset to `dst` (used inside tasks only). Returns its size."""
    key = crypto.unwrap_key(
        bytes(dataset.wrapped_key), server_key=settings.DATASET_KEY_ENCRYPTION_KEY
    )
    with dataset.encrypted_file.open("rb") as src:
        return crypto.decrypt_stream(src, dst, key=key)


class KeyRefused(Exception):
    """The dataset's owner does not let this worker have its key; the message says why."""


@transaction.atomic
def dataset_key_release(
    *,
    dataset: Dataset,
    chain_id: int,
    worker: str,
    workerpool: str,
    dealid: str,
    taskid: str,
    admitted_by_hand: bool,
    worker_score: int,
) -> bytes:
    """The dataset's AES key for `worker`, a member in good standing of `workerpool` running
    task `taskid` (the caller checked that much): refused when the owner's conditions are not
    met (workers admitted by hand only, a minimum score); every release is logged for the
    dataset's owner."""
    if dataset.key_hand_admitted_only and not admitted_by_hand:
        raise KeyRefused(
            "This dataset's owner releases its key only to workers their pool's operator "
            "admitted by hand."
        )
    if worker_score < dataset.key_min_score:
        raise KeyRefused(
            f"This dataset's owner releases its key only to workers of score "
            f"{dataset.key_min_score} or more; yours is {worker_score}."
        )
    KeyRelease.objects.create(
        dataset=dataset,
        chain_id=chain_id,
        worker=worker,
        workerpool=workerpool,
        dealid=dealid,
        taskid=taskid,
        admitted_via="hand" if admitted_by_hand else "policy",
        worker_score=worker_score,
    )
    return crypto.unwrap_key(
        bytes(dataset.wrapped_key), server_key=settings.DATASET_KEY_ENCRYPTION_KEY
    )


@transaction.atomic
def key_policy_set(*, dataset: Dataset, hand_admitted_only: bool, min_score: int) -> Dataset:
    """The owner's conditions on who receives the dataset's key inside tasks."""
    if min_score < 0:
        raise catalogue.CatalogueError("The minimum score cannot be negative.")
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    dataset.key_hand_admitted_only = hand_admitted_only
    dataset.key_min_score = min_score
    dataset.save(update_fields=["key_hand_admitted_only", "key_min_score"])
    return dataset
