"""Data market: the encrypted file behind a dataset listing."""

from __future__ import annotations

from pathlib import PurePosixPath

from django.db import models

from dappstore.models import App
from marketplace.catalogue.models import Listing


class Dataset(models.Model):
    listing = models.OneToOneField(
        Listing, on_delete=models.CASCADE, primary_key=True, related_name="dataset"
    )
    # Ciphertext only (datamarket.crypto); the plaintext never touches storage.
    encrypted_file = models.FileField(upload_to="datasets/%Y/%m/")
    encrypted_sha256 = models.CharField(max_length=64, editable=False)
    encrypted_size = models.PositiveBigIntegerField(editable=False)
    plain_size = models.PositiveBigIntegerField(editable=False)
    original_name = models.CharField(max_length=200, editable=False)
    content_type = models.CharField(max_length=100, blank=True, editable=False)
    # The dataset's own AES-256-GCM key, itself encrypted under the server key.
    wrapped_key = models.BinaryField(editable=False)
    allowed_apps = models.ManyToManyField(
        App,
        blank=True,
        related_name="allowed_datasets",
        help_text="Only these apps may use the dataset inside a task.",
    )
    # Who may receive the key, besides a member of an allowed pool running one of its tasks.
    key_hand_admitted_only = models.BooleanField(
        default=False,
        help_text="Release the key only to workers their pool's operator admitted by hand.",
    )
    key_min_score = models.PositiveBigIntegerField(
        default=0, help_text="Release the key only to workers of at least this on-chain score."
    )

    def __str__(self) -> str:
        return self.listing.name

    @property
    def task_file_name(self) -> str:
        """The file name an app reads the dataset under in a task's input folder."""
        return PurePosixPath(self.original_name or "dataset").name or "dataset"


class KeyRelease(models.Model):
    """A dataset key given to a worker for one task: which worker, of which pool, for which
    task and deal, when. Kept for the dataset's owner to read."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="key_releases")
    chain_id = models.PositiveBigIntegerField()
    worker = models.CharField(max_length=42)
    workerpool = models.CharField(max_length=42)
    dealid = models.CharField(max_length=66)
    taskid = models.CharField(max_length=66)
    admitted_via = models.CharField(max_length=6, blank=True)
    worker_score = models.PositiveBigIntegerField(default=0)
    released_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-released_at", "-id"]
        indexes = [models.Index(fields=["dataset", "-released_at"], name="key_release_by_dataset")]

    def __str__(self) -> str:
        return f"key of {self.dataset} to {self.worker} for {self.taskid[:10]}"
