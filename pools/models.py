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


# ---------------------------------------------------------------------- scheduling
# The site's own record of the work of the pools it operates (their owners' keys are
# configured: marketplace.chain.keys.pool_owner_accounts). The chain's record of the same
# tasks is marketplace.deals (indexed); these rows say who was asked to do what, when, and
# how it went, which the chain does not.


class RunStatus(models.TextChoices):
    PENDING = "pending", "Waiting to start on chain"
    ACTIVE = "active", "Running"
    REVEALING = "revealing", "Revealing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    # Stopped handing the task out (its runs kept failing): the chain refunds the payer by
    # claim once the task's final deadline passes.
    ABANDONED = "abandoned", "Given up: refunded at the final deadline"


class TaskRun(models.Model):
    """A task of a deal in an operated pool, as its scheduler drives it."""

    chain_id = models.PositiveBigIntegerField()
    taskid = models.CharField(max_length=66)
    dealid = models.CharField(max_length=66)
    idx = models.PositiveBigIntegerField()
    workerpool = models.CharField(max_length=42)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    trust = models.PositiveBigIntegerField()
    replicates_wanted = models.PositiveSmallIntegerField(default=1)
    failure = models.CharField(max_length=300, blank=True)
    result_digest = models.CharField(max_length=66, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dealid", "idx"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "taskid"], name="taskrun_unique")
        ]
        indexes = [models.Index(fields=["chain_id", "workerpool", "status"], name="taskrun_work")]

    def __str__(self) -> str:
        return f"task {self.taskid[:10]} ({self.get_status_display()})"


class ReplicateStatus(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    RUNNING = "running", "Running"
    UPLOADED = "uploaded", "Result uploaded"
    CONTRIBUTED = "contributed", "Contributed"
    REVEALED = "revealed", "Revealed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Silent: handed to another worker"


# A replicate still counting towards its task's replication.
LIVE_REPLICATES = (
    ReplicateStatus.ASSIGNED,
    ReplicateStatus.RUNNING,
    ReplicateStatus.UPLOADED,
    ReplicateStatus.CONTRIBUTED,
    ReplicateStatus.REVEALED,
)


class Replicate(models.Model):
    """One worker's run of a task: the scheduler's authorization to contribute, its lease
    (renewed by heartbeats), its progress, and what came of it."""

    task = models.ForeignKey(TaskRun, on_delete=models.CASCADE, related_name="replicates")
    worker = models.CharField(max_length=42)
    status = models.CharField(
        max_length=12, choices=ReplicateStatus.choices, default=ReplicateStatus.ASSIGNED
    )
    authorization = models.CharField(max_length=132, help_text="The scheduler's signature.")
    lease_until = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    percent = models.FloatField(default=0)
    message = models.CharField(max_length=300, blank=True)
    digest = models.CharField(max_length=66, blank=True, help_text="sha256 of the result.")
    failure = models.CharField(max_length=300, blank=True)
    app_fault = models.BooleanField(
        default=False,
        help_text="The worker says the app itself failed (out of fuel, time or memory, a trap, "
        "files not matching their checksums), not its machine.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["task", "worker"], name="one_replicate_per_worker")
        ]
        indexes = [models.Index(fields=["worker", "status"], name="replicate_by_worker")]

    def __str__(self) -> str:
        return f"{self.worker} on {self.task}"
