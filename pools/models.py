"""Cloud market: the attributes of a worker pool listing."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models

from marketplace.catalogue.models import Listing


class Runtime(models.TextChoices):
    WASM = "wasm", "WebAssembly (WASI)"


class Region(models.TextChoices):
    EU_WEST = "eu-west", "Europe West"
    EU_CENTRAL = "eu-central", "Europe Central"
    EU_NORTH = "eu-north", "Europe North"
    US_EAST = "us-east", "North America East"
    US_WEST = "us-west", "North America West"
    SA_EAST = "sa-east", "South America"
    AP_SOUTH = "ap-south", "Asia Pacific South"
    AP_EAST = "ap-east", "Asia Pacific East"
    AF_SOUTH = "af-south", "Africa South"


class EnergyClass(models.TextChoices):
    """Share of renewable energy behind the pool, graded like an energy label."""

    A = "A", "A · 100 % renewable"
    B = "B", "B · 75 % or more renewable"
    C = "C", "C · 50 % or more renewable"
    D = "D", "D · 25 % or more renewable"
    E = "E", "E · grid mix"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public: anyone may buy tasks"
    PRIVATE = "private", "Private: only requesters the operator allows"


class Workerpool(models.Model):
    listing = models.OneToOneField(
        Listing, on_delete=models.CASCADE, primary_key=True, related_name="workerpool"
    )
    cpu_cores = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1)], help_text="CPU cores per worker."
    )
    memory_mb = models.PositiveIntegerField(
        validators=[MinValueValidator(64)], help_text="Memory per worker, in MiB."
    )
    runtime = models.CharField(max_length=8, choices=Runtime.choices, default=Runtime.WASM)
    location = models.CharField(max_length=12, choices=Region.choices)
    energy_class = models.CharField(max_length=1, choices=EnergyClass.choices)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    worker_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["location", "energy_class"]),
            models.Index(fields=["cpu_cores", "memory_mb"]),
        ]

    def __str__(self) -> str:
        return self.listing.name

    @property
    def memory_gib(self) -> float:
        return self.memory_mb / 1024
