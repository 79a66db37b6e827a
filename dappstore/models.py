"""DApp Store: the WebAssembly program behind an app listing."""

from __future__ import annotations

from django.db import models

from marketplace.catalogue.models import Listing
from worker.command_line import DATASET_PLACEHOLDER


class App(models.Model):
    listing = models.OneToOneField(
        Listing, on_delete=models.CASCADE, primary_key=True, related_name="app"
    )
    wasm = models.FileField(upload_to="apps/%Y/%m/")
    wasm_sha256 = models.CharField(max_length=64, editable=False)
    wasm_size = models.PositiveBigIntegerField(editable=False)
    app_type = models.CharField(max_length=8, default="WASM", editable=False)
    default_args = models.CharField(
        max_length=500, blank=True, help_text="Command-line arguments a task starts with."
    )
    requirements = models.TextField(
        blank=True,
        max_length=1000,
        help_text="A ClassAd expression over the pool's ad that every run of the app needs, "
        "such as TARGET.Memory >= 512 (empty: any pool).",
    )

    def __str__(self) -> str:
        return self.listing.name

    @property
    def needs_dataset(self) -> bool:
        """The program reads a dataset: its default arguments say where (`{dataset}`, which a
        worker replaces with the dataset's path). Buying it without a dataset is refused."""
        return DATASET_PLACEHOLDER in self.default_args
