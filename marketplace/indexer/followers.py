"""Who follows the indexer: an ordered list of followers (settings.INDEXER_FOLLOWERS, dotted
paths loaded as Django loads its middleware), each told of every batch the same way.

A follower is a class in its own app (the order book, the catalogue, the deal pages), made once
with no arguments and called with the batch's `IndexedBatch`. Its `in_transaction` says when:
True, inside the batch's transaction, after the batch is written (what it writes commits or
rolls back with the batch); False, once that transaction commits. Followers are called in the
list's order. A follower may also offer `link_asset(asset, changes)`: called while the events
are projected, for each newly registered asset, with the `Changes` the asset belongs to, so that
what it writes is journaled (and taken back) with that block.

The indexer imports none of its followers: they import it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string


@dataclasses.dataclass(frozen=True)
class IndexedBatch:
    """What one write of the indexer changed on `chain_id`.

    `everything`: the projections may have changed anywhere (a reorganization was taken back,
    or the chain was forgotten to be indexed again); followers redo all they derive from them.
    Otherwise: `addresses` and `digests`, what the order book's events named (accounts, assets,
    order digests); `dealids`, the deals whose state changed; `registrations`, whether the
    batch holds events of the asset registries; `rated`, the assets whose task record (and so
    reputation) changed."""

    chain_id: int
    everything: bool = False
    addresses: frozenset[str] = frozenset()
    digests: frozenset[str] = frozenset()
    dealids: frozenset[str] = frozenset()
    registrations: bool = False
    rated: frozenset[str] = frozenset()


class Follower(Protocol):
    in_transaction: bool

    def __call__(self, batch: IndexedBatch) -> None: ...


@functools.cache
def followers() -> tuple[Follower, ...]:
    """The followers of settings.INDEXER_FOLLOWERS, in its order (made once per process)."""
    return tuple(import_string(path)() for path in settings.INDEXER_FOLLOWERS)


def asset_linker() -> Callable[[Any, Any], None] | None:
    """The `link_asset` of the first follower that offers one (None: assets stay unlinked)."""
    for follower in followers():
        link = getattr(follower, "link_asset", None)
        if link is not None:
            return link
    return None


def tell_followers(batch: IndexedBatch) -> None:
    """Tell every follower of `batch`, in order: those `in_transaction` now (call this inside
    the batch's transaction), the others once it commits."""
    for follower in followers():
        if follower.in_transaction:
            follower(batch)
        else:
            transaction.on_commit(functools.partial(follower, batch))
