"""What a pool says of itself in matchmaking: its attributes as a ClassAd's, its operator's
Requirements and Rank (marketplace.matchmaking), and what its reliability record says of it
(pools.records): Reliability, the figure as a share (0 to 1); MedianSeconds, the median time of
its recent tasks of the request's category (undefined where it finalized none of them);
TasksFinalized. A pool with no task ended leaves them all undefined."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from typing import Any

from django.db.models import Count

from marketplace.indexer.models import Asset
from marketplace.matchmaking import classads
from marketplace.matchmaking.attributes import pool_expression
from pools.models import MemberStatus, PoolMember, PoolRecord
from pools.records import pool_records
from pools.scheduler import operated_pools

log = logging.getLogger(__name__)

# What a stored expression that no longer reads (the attributes changed since) stands for:
# the pool takes nothing until its operator fixes it, rather than everything.
_REFUSE_ALL = pool_expression("false")


@dataclasses.dataclass(frozen=True)
class PoolProfile:
    address: str
    name: str
    attributes: dict[str, Any]
    requirements: classads.Expression | None
    rank: classads.Expression | None
    listed: bool  # a listing of this site describes it (else only its chain record is known)


def stored_expression(text: str, *, pool: str) -> classads.Expression | None:
    """An operator's stored Requirements or Rank, parsed (None: empty)."""
    if not text.strip():
        return None
    try:
        return pool_expression(text)
    except classads.ExpressionRefused as refused:
        log.warning("pool %s: stored expression no longer reads: %s", pool, refused)
        return _REFUSE_ALL


def _members(chain_id: int, pools: set[str]) -> dict[str, int]:
    """How many members in good standing each of these pools that this site schedules has
    (the others' members are not known here: their ads leave Workers undefined)."""
    operated = set(operated_pools(chain_id=chain_id)) & pools
    counts = dict.fromkeys(operated, 0)
    counts.update(
        PoolMember.objects.filter(
            chain_id=chain_id, workerpool__in=operated, status=MemberStatus.ACTIVE
        )
        .values_list("workerpool")
        .annotate(n=Count("id"))
    )
    return counts


def record_attributes(record: PoolRecord, *, category: int | None) -> dict[str, Any]:
    """The ad's attributes from a pool's record, timed for tasks of `category` (None: of the
    category it finalized most of); no time where it has finalized none of it."""
    if record.reliability is None:
        return {}
    attributes: dict[str, Any] = {
        "Reliability": record.reliability / 1000,
        "TasksFinalized": record.finalized,
    }
    times = [c for c in record.categories if category is None or c["catid"] == category]
    if times:
        attributes["MedianSeconds"] = max(times, key=lambda c: c["finalized"])["median"]
    return attributes


def pool_profiles(
    *, chain_id: int, addresses: Iterable[str], category: int | None = None
) -> dict[str, PoolProfile]:
    """The profile of each of these pools registered on chain, by address; its record's
    figures timed for tasks of `category` where it has some."""
    wanted = set(addresses)
    assets = Asset.objects.filter(chain_id=chain_id, address__in=wanted).select_related(
        "listing__workerpool"
    )
    workers = _members(chain_id, wanted)
    records = pool_records(chain_id=chain_id, workerpools=wanted)
    profiles = {}
    for asset in assets:
        pool = getattr(asset.listing, "workerpool", None) if asset.listing else None
        # A listing waiting for review shows its name to nobody yet: the name on chain, then.
        listed = asset.listing is not None and asset.listing.is_public
        name = asset.listing.name if listed else asset.name
        attributes: dict[str, Any] = {"Name": name, "Pool": asset.address, "Owner": asset.owner}
        if pool is not None:
            attributes.update(
                Cores=pool.cpu_cores,
                Memory=pool.memory_mb,
                Region=pool.location,
                EnergyClass=pool.energy_class,
                Runtime=pool.runtime,
                Visibility=pool.visibility,
            )
        if asset.address in workers:
            attributes["Workers"] = workers[asset.address]
        if asset.address in records:
            attributes.update(record_attributes(records[asset.address], category=category))
        profiles[asset.address] = PoolProfile(
            address=asset.address,
            name=name,
            attributes=attributes,
            requirements=stored_expression(pool.requirements, pool=asset.address) if pool else None,
            rank=stored_expression(pool.rank, pool=asset.address) if pool else None,
            listed=pool is not None,
        )
    return profiles
