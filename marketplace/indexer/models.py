"""The indexer's own records (where it is on each chain, the events it stored, the hashes of the
blocks it may still have to take back, and how to take back what those blocks changed), and the
chain projections it writes: the Hub's state of trade (categories, orders consumed, deals,
tasks, contributions, escrow accounts, worker bonds, workers) and the assets registered on
chain.

Projection rows of one chain are keyed by (chain_id, natural key: an id, digest or address),
the keys the events carry, so that the indexer writes them in bulk without lookups. Nothing but
the indexer writes them. They keep the tables they were created with (deals_*, catalogue_asset).

Amounts are ECT base units (9 decimals), exact up to uint256 on PostgreSQL; SQLite keeps them
exact up to 2^63 units, more than the whole ECT supply. `block_number` is the block of the
row's last change: above the indexer's confirmed height, the row is unconfirmed.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.db import models
from django.db.models import Q

# The kinds and statuses are the Hub's, defined once (marketplace.chain.ids): the fields store
# their words.
from marketplace.chain.ids import ContributionStatus, Market, OrderKind, TaskStatus
from marketplace.indexer.fields import Units


class IndexerStatus(models.TextChoices):
    STARTING = "starting", "Starting"
    FOLLOWING = "following", "Following the chain"
    CATCHING_UP = "catching_up", "Catching up"
    NODE_UNREACHABLE = "node_unreachable", "Node unreachable"
    FAILING = "failing", "Failing"
    STOPPED = "stopped", "Stopped"


class IndexerState(models.Model):
    """One row per chain: the checkpoint (the last block whose events and projections are
    written) and what the indexer last saw of the node. Also the lock: a batch is written only
    by the indexer holding the lease, under `SELECT … FOR UPDATE` of this row, and only if the
    checkpoint is still the one it started from."""

    chain_id = models.PositiveBigIntegerField(unique=True)
    # The deployment followed: its Hub and first block. Another one (a dev chain restarted from
    # nothing, a new Hub) starts the index afresh.
    hub = models.CharField(max_length=42)
    first_block = models.PositiveBigIntegerField()
    deployment_marker = models.CharField(max_length=200)

    checkpoint = models.BigIntegerField(help_text="Last block indexed; first_block - 1 at first.")
    checkpoint_hash = models.CharField(max_length=66, blank=True)
    confirmed_height = models.BigIntegerField(
        default=-1, help_text="Blocks up to here are buried under enough confirmations."
    )
    head = models.BigIntegerField(default=-1, help_text="The node's latest block, last seen.")
    head_seen_at = models.DateTimeField(null=True, blank=True)
    indexed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the index last reached the node's head."
    )
    events_indexed = models.PositiveBigIntegerField(default=0)

    status = models.CharField(
        max_length=20, choices=IndexerStatus.choices, default=IndexerStatus.STARTING
    )
    problem = models.TextField(blank=True)
    problem_since = models.DateTimeField(null=True, blank=True)

    holder = models.CharField(max_length=200, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "indexer state"

    def __str__(self) -> str:
        return f"chain {self.chain_id}: block {self.checkpoint} ({self.status})"


class IndexedBlock(models.Model):
    """A block hash the indexer keeps: every block above the confirmed height (to find where a
    reorganization forked), and the checkpoint."""

    chain_id = models.PositiveBigIntegerField()
    number = models.BigIntegerField()
    hash = models.CharField(max_length=66)
    parent_hash = models.CharField(max_length=66)
    timestamp = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "number"], name="indexed_block_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.hash[:10]}"


class ChainEvent(models.Model):
    """One log of our contracts, stored once: (chain, block hash, transaction, log index).

    `arguments` is the decoded event as JSON text (written in bulk as text, read rarely);
    `problem` is set, and `arguments` empty, for a log that did not decode."""

    chain_id = models.PositiveBigIntegerField()
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    block_time = models.DateTimeField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66)
    log_index = models.PositiveIntegerField()
    address = models.CharField(max_length=42)
    name = models.CharField(max_length=64, blank=True)
    arguments = models.TextField(blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "block_hash", "tx_hash", "log_index"],
                name="chain_event_unique",
            )
        ]
        indexes = [
            models.Index(fields=["chain_id", "block_number", "log_index"], name="event_position"),
            models.Index(
                fields=["chain_id", "block_number"],
                name="event_undecoded",
                condition=~Q(problem=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or '?'} at #{self.block_number}/{self.log_index}"

    @property
    def args(self) -> dict[str, Any]:
        return json.loads(self.arguments) if self.arguments else {}


class UndoRecord(models.Model):
    """What a projection row was before the events of an unconfirmed block changed it:
    `previous` holds its fields as JSON, or is null when the block created the row. Rolled back
    newest first when the block leaves the chain; deleted once it is confirmed."""

    chain_id = models.PositiveBigIntegerField()
    block_number = models.BigIntegerField()
    model = models.CharField(max_length=60)
    key = models.CharField(max_length=200)
    previous = models.TextField(null=True)

    class Meta:
        indexes = [models.Index(fields=["chain_id", "block_number"], name="undo_block")]

    def __str__(self) -> str:
        return f"{self.model} {self.key} at #{self.block_number}"


# ---------------------------------------------------------------------- chain projections


class ChainRow(models.Model):
    """What every projection row has."""

    chain_id = models.PositiveBigIntegerField()
    block_number = models.BigIntegerField(help_text="Block of the last change.")

    class Meta:
        abstract = True


class Category(ChainRow):
    """A task category of the Hub: its reference time bounds a task's deadlines."""

    catid = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    time_ref = models.PositiveBigIntegerField(help_text="workClockTimeRef, in seconds.")

    KEY = "catid"

    class Meta:
        db_table = "deals_category"
        ordering = ["chain_id", "catid"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "catid"], name="category_unique")
        ]

    def __str__(self) -> str:
        return self.name


class OrderFill(ChainRow):
    """How much of an order (by its EIP-712 digest) the chain consumed, and whether its owner
    closed or presigned it: the order book's remaining volume follows from it."""

    digest = models.CharField(max_length=66)
    kind = models.CharField(max_length=10, choices=OrderKind.choices)
    consumed = models.PositiveBigIntegerField(default=0)
    deals = models.PositiveIntegerField(default=0)
    closed = models.BooleanField(default=False)
    presigned_by = models.CharField(max_length=42, blank=True)

    KEY = "digest"

    class Meta:
        db_table = "deals_orderfill"
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "digest"], name="order_fill_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} order {self.digest[:10]}"


class Deal(ChainRow):
    """A deal: `volume` tasks of an app (with a dataset) on a workerpool, at these prices."""

    dealid = models.CharField(max_length=66)
    tx_hash = models.CharField(max_length=66)
    app = models.CharField(max_length=42)
    dataset = models.CharField(max_length=42, blank=True)
    workerpool = models.CharField(max_length=42)
    requester = models.CharField(max_length=42)
    beneficiary = models.CharField(max_length=42)
    callback = models.CharField(max_length=42, blank=True)
    payer = models.CharField(max_length=42)
    app_owner = models.CharField(max_length=42)
    dataset_owner = models.CharField(max_length=42, blank=True)
    workerpool_owner = models.CharField(max_length=42)
    app_price = Units()
    dataset_price = Units()
    workerpool_price = Units()
    bot_first = models.PositiveBigIntegerField()
    volume = models.PositiveBigIntegerField()
    category = models.PositiveIntegerField()
    trust = models.PositiveBigIntegerField()
    tag = models.CharField(max_length=66)
    worker_stake = Units()
    scheduler_reward_ratio = models.PositiveIntegerField()
    start_time = models.DateTimeField()
    time_ref = models.PositiveBigIntegerField()
    params = models.TextField(blank=True)
    app_order = models.CharField(max_length=66, blank=True)
    dataset_order = models.CharField(max_length=66, blank=True)
    workerpool_order = models.CharField(max_length=66, blank=True)
    request_order = models.CharField(max_length=66, blank=True)
    tasks_completed = models.PositiveBigIntegerField(default=0)
    tasks_failed = models.PositiveBigIntegerField(default=0)

    KEY = "dealid"

    class Meta:
        db_table = "deals_deal"
        ordering = ["-block_number", "-id"]
        constraints = [models.UniqueConstraint(fields=["chain_id", "dealid"], name="deal_unique")]
        indexes = [
            models.Index(fields=["chain_id", "app", "-block_number"], name="deal_by_app"),
            models.Index(fields=["chain_id", "dataset", "-block_number"], name="deal_by_dataset"),
            models.Index(
                fields=["chain_id", "workerpool", "-block_number"], name="deal_by_workerpool"
            ),
            models.Index(fields=["chain_id", "requester", "-block_number"], name="deal_by_buyer"),
            # Price histories (marketplace.indexer.prices): a window of an asset's deals, or of
            # a category's, by start time, with the price and volume read off the index alone.
            models.Index(
                fields=["chain_id", "app", "start_time", "app_price", "volume"],
                name="deal_app_prices",
            ),
            models.Index(
                fields=["chain_id", "dataset", "start_time", "dataset_price", "volume"],
                name="deal_dataset_prices",
            ),
            models.Index(
                fields=[
                    "chain_id",
                    "workerpool",
                    "category",
                    "start_time",
                    "workerpool_price",
                    "volume",
                ],
                name="deal_pool_prices",
            ),
            models.Index(
                fields=["chain_id", "category", "start_time", "workerpool_price", "volume"],
                name="deal_category_prices",
            ),
        ]

    def __str__(self) -> str:
        return f"deal {self.dealid[:10]}"

    @property
    def task_price(self) -> int:
        return int(self.app_price) + int(self.dataset_price) + int(self.workerpool_price)


class PriceLevel(models.Model):
    """The deals matched at one price in one hour or one UTC day (`bucket`, from `start`): of
    one app, dataset or pool (`role` names the part, `asset` its address; a pool's of one
    `category`), or market-wide the pools' of one category (`asset` empty). The read model of
    the price histories (marketplace.indexer.prices), derived from the deals again for the
    buckets each indexed batch touches, so that a history reads a few rows per bucket whatever
    the number of deals."""

    chain_id = models.PositiveBigIntegerField()
    role = models.CharField(max_length=10, help_text="app, dataset or workerpool (OrderKind).")
    asset = models.CharField(max_length=42, blank=True, help_text="Empty: market-wide.")
    category = models.IntegerField(help_text="A pool's category; -1 for an app or a dataset.")
    bucket = models.CharField(max_length=4, help_text="hour or day.")
    start = models.DateTimeField(help_text="The bucket's start (UTC).")
    price = Units(help_text="Per task, ECT base units.")
    deals = models.PositiveBigIntegerField()
    tasks = models.PositiveBigIntegerField()

    class Meta:
        db_table = "deals_pricelevel"
        constraints = [
            models.UniqueConstraint(
                fields=["chain_id", "role", "asset", "category", "bucket", "start", "price"],
                name="price_level_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.asset or 'market'} {self.bucket} {self.start:%Y-%m-%d %H:%M}"


class Task(ChainRow):
    """A task the scheduler initialized (task `idx` of its deal)."""

    taskid = models.CharField(max_length=66)
    dealid = models.CharField(max_length=66, blank=True)
    idx = models.PositiveBigIntegerField(default=0)
    workerpool = models.CharField(max_length=42)
    status = models.CharField(max_length=10, choices=TaskStatus.choices)
    initialized_at = models.DateTimeField(null=True)
    contribution_deadline = models.DateTimeField(null=True)
    reveal_deadline = models.DateTimeField(null=True)
    final_deadline = models.DateTimeField(null=True)
    consensus = models.CharField(max_length=66, blank=True)
    result_digest = models.CharField(max_length=66, blank=True)
    results = models.TextField(blank=True, help_text="Where the result is (from finalize).")
    contributions = models.PositiveIntegerField(default=0)
    reveals = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True)
    given_up = models.BooleanField(
        default=False,
        help_text="Failed by its scheduler's giveUp before the final deadline (TaskGivenUp), "
        "not by a claim after it.",
    )
    # What the Hub seized as penalties on this task (its Seize events, in base units): the
    # pool owner's stake when the task failed (into the kitty), and the stakes of the workers
    # whose contributions it found faulty (shared by the winners).
    pool_stake_seized = Units()
    workers_stake_seized = Units()

    KEY = "taskid"

    class Meta:
        db_table = "deals_task"
        ordering = ["dealid", "idx"]
        constraints = [models.UniqueConstraint(fields=["chain_id", "taskid"], name="task_unique")]
        indexes = [
            models.Index(fields=["chain_id", "dealid", "idx"], name="task_by_deal"),
            # A pool's record reads its ended tasks, latest first.
            models.Index(fields=["chain_id", "workerpool", "-finished_at"], name="task_by_pool"),
        ]

    def __str__(self) -> str:
        return f"task {self.taskid[:10]}"


class Contribution(ChainRow):
    """A worker's commitment to a task's result, and how it ended."""

    taskid = models.CharField(max_length=66)
    worker = models.CharField(max_length=42)
    result_hash = models.CharField(max_length=66)
    digest = models.CharField(max_length=66, blank=True, help_text="Revealed result digest.")
    status = models.CharField(max_length=12, choices=ContributionStatus.choices)
    contributed_at = models.DateTimeField(null=True)

    key = models.CharField(max_length=110, help_text="taskid:worker")

    KEY = "key"

    class Meta:
        db_table = "deals_contribution"
        ordering = ["taskid", "contributed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "key"], name="contribution_unique")
        ]
        indexes = [
            models.Index(
                fields=["chain_id", "worker", "-block_number"], name="contribution_by_worker"
            ),
            # A pool's record reads the contributions to its tasks.
            models.Index(fields=["chain_id", "taskid", "worker"], name="contribution_by_task"),
        ]

    def __str__(self) -> str:
        return f"{self.worker} on {self.taskid[:10]}"


class EscrowAccount(ChainRow):
    """An address's ECT in the Hub: free stake, and locked for deals and contributions."""

    address = models.CharField(max_length=42)
    stake = Units()
    locked = Units()

    KEY = "address"

    class Meta:
        db_table = "deals_escrowaccount"
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="escrow_account_unique")
        ]

    def __str__(self) -> str:
        return f"escrow of {self.address}"


class WorkerBond(ChainRow):
    """What a worker keeps locked in escrow for one pool (the Hub's WorkerBond events): pools
    may ask it of the workers they admit, and seize it when they cheat. `unbond_at` is when the
    worker may take it back (None while it gave no notice)."""

    workerpool = models.CharField(max_length=42)
    worker = models.CharField(max_length=42)
    amount = Units()
    unbond_at = models.DateTimeField(null=True, blank=True)
    seized = Units(help_text="Seized from the bond by the pool's owner, in all.")

    key = models.CharField(max_length=85, help_text="workerpool:worker")

    KEY = "key"

    class Meta:
        db_table = "deals_workerbond"
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "key"], name="worker_bond_unique")
        ]
        indexes = [models.Index(fields=["chain_id", "worker"], name="worker_bond_by_worker")]

    def __str__(self) -> str:
        return f"bond of {self.worker} for {self.workerpool}"

    @staticmethod
    def key_of(workerpool: str, worker: str) -> str:
        return f"{workerpool}:{worker}"


class Worker(ChainRow):
    """A worker as the Hub scores it, and what its contributions became."""

    address = models.CharField(max_length=42)
    score = models.PositiveBigIntegerField(default=0)
    contributions = models.PositiveIntegerField(default=0)
    accurate = models.PositiveIntegerField(default=0)
    faulty = models.PositiveIntegerField(default=0)

    KEY = "address"

    class Meta:
        db_table = "deals_worker"
        ordering = ["-score", "address"]
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "address"], name="worker_unique")
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def reputation(self) -> int:
        return reputation(self.accurate, self.faulty)


def reputation(successes: int, failures: int) -> int:
    """0 to 1000: the lower bound of the 95 % Wilson interval of the success rate, so that a
    record of many successes ranks above a short perfect one, and nothing above something."""
    total = successes + failures
    if total == 0:
        return 0
    z = 1.959964
    rate = successes / total
    centre = rate + z * z / (2 * total)
    spread = z * math.sqrt((rate * (1 - rate) + z * z / (4 * total)) / total)
    return max(0, round(1000 * (centre - spread) / (1 + z * z / total)))


class Asset(models.Model):
    """An app, dataset or workerpool registered on chain, as the indexer sees it: its
    registration, its owner (the NFT's holder), and what it sold. Written by the indexer only.

    A listing shows the asset whose address is its `chain_address`. `block_number` is the
    block of the last change: above the indexer's confirmed height, the row is unconfirmed."""

    chain_id = models.PositiveBigIntegerField()
    address = models.CharField(max_length=42)
    kind = models.CharField(max_length=8, choices=Market.choices)
    owner = models.CharField(max_length=42)
    listing = models.ForeignKey(
        "catalogue.Listing", on_delete=models.SET_NULL, null=True, blank=True, related_name="assets"
    )
    name = models.CharField(max_length=200, help_text="Name, or a pool's description.")
    multiaddr = models.TextField(blank=True)
    checksum = models.CharField(max_length=66, blank=True)
    registered_block = models.BigIntegerField()
    registered_at = models.DateTimeField(null=True)
    worker_stake_ratio = models.PositiveIntegerField(null=True, help_text="Pools: percent.")
    scheduler_reward_ratio = models.PositiveIntegerField(null=True, help_text="Pools: percent.")

    deals = models.PositiveIntegerField(default=0)
    volume_sold = models.PositiveBigIntegerField(default=0, help_text="Tasks bought.")
    tasks_completed = models.PositiveBigIntegerField(default=0)
    tasks_failed = models.PositiveBigIntegerField(default=0)
    revenue = models.DecimalField(
        max_digits=78, decimal_places=0, default=0, help_text="ECT base units earned."
    )
    block_number = models.BigIntegerField(help_text="Block of the last change.")

    KEY = "address"

    class Meta:
        db_table = "catalogue_asset"
        constraints = [models.UniqueConstraint(fields=["chain_id", "address"], name="asset_unique")]
        indexes = [models.Index(fields=["chain_id", "owner"], name="asset_by_owner")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"

    @property
    def success_rate(self) -> float | None:
        """Completed among finished tasks (None before the first one finishes)."""
        finished = self.tasks_completed + self.tasks_failed
        return self.tasks_completed / finished if finished else None
