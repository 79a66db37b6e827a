"""Data market: the encrypted file behind a dataset listing."""

from __future__ import annotations

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

    def __str__(self) -> str:
        return self.listing.name
