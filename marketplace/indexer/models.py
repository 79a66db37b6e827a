"""The indexer's own records: where it is on each chain, the events it stored, the hashes of the
blocks it may still have to take back, and how to take back what those blocks changed."""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Q


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
