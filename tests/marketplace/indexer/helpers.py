"""Shared by the indexer's tests: what the index holds, comparable across runs."""

from __future__ import annotations

from typing import Any

from marketplace.catalogue.models import Listing
from marketplace.indexer.engine import Indexer
from marketplace.indexer.models import (
    Asset,
    Category,
    ChainEvent,
    Contribution,
    Deal,
    EscrowAccount,
    OrderFill,
    Task,
    Worker,
    WorkerBond,
)

PROJECTIONS = (
    Asset,
    Category,
    OrderFill,
    Deal,
    Task,
    Contribution,
    EscrowAccount,
    Worker,
    WorkerBond,
)


def _rows(model, key: str, exclude: tuple[str, ...] = ("id",)) -> list[dict[str, Any]]:
    rows = [
        {name: value for name, value in row.items() if name not in exclude}
        for row in model.objects.values()
    ]
    return sorted(rows, key=lambda row: str(row[key]))


def index_contents() -> dict[str, list[dict[str, Any]]]:
    """Every event and projection row (without database ids), in a stable order; and the
    reputation and chain address of every listing."""
    contents = {
        "events": sorted(
            ({k: v for k, v in row.items() if k != "id"} for row in ChainEvent.objects.values()),
            key=lambda row: (row["block_number"], row["log_index"]),
        ),
        "listings": sorted(
            Listing.objects.values("slug", "reputation", "chain_address"), key=lambda r: r["slug"]
        ),
    }
    for model in PROJECTIONS:
        contents[model.__name__] = _rows(model, model.KEY)
    return contents


def index_to_head(deployment, **options) -> Indexer:
    """A new indexer run until it reaches the head, then stopped."""
    indexer = Indexer(deployment=deployment, poll_seconds=0.05, **options)
    indexer.run(until_caught_up=True)
    indexer.stop()
    return indexer
