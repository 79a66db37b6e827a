"""Cloud market: the attributes of a worker pool listing."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from marketplace.catalogue.models import Listing
from marketplace.indexer.fields import Units
from worker.failures import KINDS as FAILURE_KINDS


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
    requirements = models.TextField(
        blank=True,
        max_length=1000,
        help_text="A ClassAd expression over the request's ad that every request it takes "
        "must meet (empty: any request).",
    )
    rank = models.TextField(
        blank=True,
        max_length=1000,
        help_text="A ClassAd expression: the higher its value for a request, the sooner the "
        "pool takes it among standing requests (empty: oldest first).",
    )

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
    # Stopped handing the task out (its runs kept failing): the scheduler gives it up on chain
    # (giveUp), which refunds the payer at once; past the final deadline, a claim does.
    ABANDONED = "abandoned", "Given up: being refunded"


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
    # The deal's buyer: never a worker of its task (they would see its dataset).
    requester = models.CharField(max_length=42, blank=True)
    beneficiary = models.CharField(max_length=42, blank=True)
    # Its dataset (empty: none), whose owner may set conditions on who receives its key.
    dataset = models.CharField(max_length=42, blank=True)
    # Whether the failure reports of its workers were weighed against how it ended.
    failures_judged = models.BooleanField(default=False)
    give_up_tx = models.CharField(
        max_length=66,
        blank=True,
        help_text="The Hub giveUp transaction that refunded the payer once the run was given up "
        "(empty: not sent yet, or the chain moved on first). Set once: never sent twice.",
    )
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="When the scheduler gave it up or could not start it."
    )
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
    lease_seconds = models.PositiveIntegerField(
        default=60, help_text="What a heartbeat renews the lease by (shorter for new members)."
    )
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
    failure_kind = models.CharField(
        max_length=10,
        choices=list(FAILURE_KINDS.items()),
        blank=True,
        help_text="The class of the failure, which other workers' reports must agree on.",
    )
    exit_code = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="The app's exit status in a failed run (null: it did not exit, a trap or a "
        "limit stopped it, or it never ran).",
    )
    stderr_tail = models.TextField(
        blank=True,
        help_text="The last lines the app wrote to stderr in a failed run (bounded; the buyer's "
        "to read, as the data is theirs).",
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


# ---------------------------------------------------------------------- membership
# Only a pool's members work for it: workers its operator admitted by hand, or that met the
# conditions its admission policy sets (a bond locked in escrow for the pool, a minimum score
# on chain). The site keeps who asked, who decided what and why.


class Admission(models.TextChoices):
    BY_HAND = "hand", "By hand: the operator invites workers and approves their requests"
    AUTOMATIC = "automatic", "Automatic: workers meeting the conditions are admitted at once"


class PoolPolicy(models.Model):
    """How a pool admits its workers, and what it asks of those it admits by policy."""

    chain_id = models.PositiveBigIntegerField()
    workerpool = models.CharField(max_length=42)
    admission = models.CharField(
        max_length=10, choices=Admission.choices, default=Admission.BY_HAND
    )
    bond_min = Units(
        default=0,
        help_text="ECT base units a worker keeps bonded to the pool (the Hub's bond); 0: none.",
    )
    score_min = models.PositiveBigIntegerField(
        default=0, help_text="Lowest on-chain worker score admitted; 0: any."
    )
    seize_bond_on_contradiction = models.BooleanField(
        default=False,
        help_text="Seize the whole bond of a member that loses its standing (its failure "
        "reports contradicted by other workers' success).",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "workerpool"], name="pool_policy_unique")
        ]

    def __str__(self) -> str:
        return f"admission to {self.workerpool}: {self.get_admission_display()}"

    @property
    def asks_conditions(self) -> bool:
        return bool(self.bond_min) or bool(self.score_min)


class MemberStatus(models.TextChoices):
    REQUESTED = "requested", "Asked to join"
    ACTIVE = "active", "Member"
    REFUSED = "refused", "Refused"
    REMOVED = "removed", "Removed"


class AdmittedVia(models.TextChoices):
    HAND = "hand", "By hand"
    POLICY = "policy", "By the pool's conditions"


class PoolMember(models.Model):
    """A worker's membership of a pool (or its request for one). `strikes` counts its failure
    reports that other workers' success contradicted: too many, and it is no longer in good
    standing (no work, no dataset key, its failure reports no longer count)."""

    chain_id = models.PositiveBigIntegerField()
    workerpool = models.CharField(max_length=42)
    worker = models.CharField(max_length=42)
    status = models.CharField(
        max_length=10, choices=MemberStatus.choices, default=MemberStatus.REQUESTED
    )
    admitted_via = models.CharField(max_length=6, choices=AdmittedVia.choices, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="What the worker said.")
    strikes = models.PositiveIntegerField(default=0)
    seizure_due = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why the pool is to seize this member's bond (empty: nothing due); the "
        "scheduler sends it, and tries again until the chain takes it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workerpool", "-updated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "workerpool", "worker"], name="pool_member_unique"
            )
        ]
        indexes = [
            models.Index(fields=["chain_id", "worker", "status"], name="member_by_worker"),
            models.Index(fields=["chain_id", "workerpool", "status"], name="member_by_pool"),
        ]

    def __str__(self) -> str:
        return f"{self.worker} in {self.workerpool} ({self.get_status_display()})"


class MembershipAction(models.TextChoices):
    REQUESTED = "requested", "Asked to join"
    INVITED = "invited", "Admitted by invitation"
    APPROVED = "approved", "Request approved"
    ADMITTED = "admitted", "Admitted by the pool's conditions"
    REFUSED = "refused", "Refused"
    REMOVED = "removed", "Removed"
    STRIKE = "strike", "Failure report contradicted"
    REINSTATED = "reinstated", "Standing restored"
    BOND_SEIZED = "bond_seized", "Bond seized"
    POLICY = "policy", "Admission policy changed"


class MembershipDecision(models.Model):
    """One change of a membership (or of the pool's policy, `member` then empty): what, who
    decided it (a user and their wallet; nobody for the pool's conditions and the scheduler),
    why, when."""

    chain_id = models.PositiveBigIntegerField()
    workerpool = models.CharField(max_length=42)
    member = models.ForeignKey(
        PoolMember, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    action = models.CharField(max_length=12, choices=MembershipAction.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_wallet = models.CharField(max_length=42, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["chain_id", "workerpool", "-at"], name="decision_by_pool")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.workerpool})"

    @property
    def decider(self) -> str:
        """Who decided, in words."""
        if self.decided_by_wallet:
            return self.decided_by_wallet
        if self.decided_by_id:
            return str(self.decided_by)
        return "the pool's scheduler"


# ---------------------------------------------------------------------- reliability record


class PoolRecord(models.Model):
    """How a pool's tasks went on chain, derived from the index (pools.records) by its follower
    inside each batch's transaction, so that it rolls back with a reorganization. One row per
    pool that has ever had a task end; a pool without one has no record yet.

    `days` holds the ended tasks per UTC day of their end ({"2025-06-01": [finalized, given
    up, claimed]}), from which pages sum the last 7 and 30 days when they are read: windows age
    with the clock, not with the chain. The times, the share in time and the reliability figure
    rest on the pool's latest RECORD_TASKS ended tasks, which change only with new events."""

    chain_id = models.PositiveBigIntegerField()
    workerpool = models.CharField(max_length=42)
    finalized = models.PositiveBigIntegerField(default=0)
    given_up = models.PositiveBigIntegerField(
        default=0, help_text="Failed by the scheduler's giveUp before the final deadline."
    )
    claimed = models.PositiveBigIntegerField(
        default=0, help_text="Failed by a claim at or after the final deadline (refunded)."
    )
    days = models.JSONField(default=dict)
    # The reliability figure's inputs, over the latest RECORD_TASKS ended tasks.
    recent_ended = models.PositiveIntegerField(default=0)
    recent_finalized = models.PositiveIntegerField(default=0)
    recent_in_time = models.PositiveIntegerField(default=0)
    reliability = models.PositiveIntegerField(
        null=True, help_text="0 to 1000 (pools.records.reliability); null: no task ended."
    )
    # [{"catid", "time_ref", "finalized", "in_time", "median", "p95"}], times in seconds.
    categories = models.JSONField(default=list)
    workers_seen = models.PositiveIntegerField(default=0)
    # The most active workers: [{"address", "contributions", "accurate", "faulty"}].
    workers = models.JSONField(default=list)
    pool_stake_seized = Units()
    workers_stake_seized = Units()
    last_ended_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "workerpool"], name="pool_record_unique")
        ]

    def __str__(self) -> str:
        return f"record of {self.workerpool}"
