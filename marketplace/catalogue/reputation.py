"""A listing's reputation (0 to 1000): what list pages sort by when "reputation" is chosen, the
default order of every market's list.

An app's or a dataset's is a blend of what the chain says of its asset and what verified
buyers said of the listing:

    reputation = 0.4 * record + 0.2 * usage + 0.2 * revenue + 0.2 * rating, each 0 to 1000:
    record  = lower bound of the 95 % Wilson interval of tasks completed among tasks finished
    usage   = 1000 * log10(1 + tasks completed) / 4, at most 1000 (10,000 tasks)
    revenue = 1000 * log10(1 + ECT earned) / 5, at most 1000 (100,000 ECT)
    rating  = lower bound of the 95 % Wilson interval of the stars given above one, of four
              per rating (a 5 counts 4 of 4, a 1 counts 0 of 4; none: 0)

The record weighs most: tasks that went right are the chain's own facts. Usage and revenue say
that people rely on it, on a log scale so that the largest do not drown the rest; the rating is
what its buyers said, bounded like the record so that a few ratings count little. A listing
whose asset is not on chain (or not indexed) ranks 0.

A market whose listings have a record of their own ranks them by it instead (its adapter's
`record_reputations`: a pool's reliability figure, pools.records).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.chain.amounts import ECT_DECIMALS
from marketplace.indexer.models import Asset, reputation

WEIGHTS = {"record": 0.4, "usage": 0.2, "revenue": 0.2, "rating": 0.2}
USAGE_FULL_TASKS = 10_000
REVENUE_FULL_ECT = 100_000


def _log_share(value: float, full: float) -> float:
    """0 to 1000: log10(1 + value) against log10(full), at most 1000."""
    if value <= 0:
        return 0.0
    return 1000 * min(1.0, math.log10(1 + value) / math.log10(full))


def components(
    *, completed: int, failed: int, revenue_units: int | Decimal, rating_avg, rating_count: int
) -> dict[str, float]:
    """The blend's parts, 0 to 1000 each (see the module's docstring)."""
    stars_above_one = float(rating_avg) - 1 if rating_count else 0.0
    positive = rating_count * max(0.0, stars_above_one) / 4
    return {
        "record": float(reputation(completed, failed)),
        "usage": _log_share(completed, USAGE_FULL_TASKS),
        "revenue": _log_share(int(revenue_units) / 10**ECT_DECIMALS, REVENUE_FULL_ECT),
        # Fractional successes: the Wilson bound reads them as well as whole ones.
        "rating": float(reputation(positive, rating_count - positive)),  # type: ignore[arg-type]
    }


def blend(
    *, completed: int, failed: int, revenue_units: int | Decimal, rating_avg, rating_count: int
) -> int:
    """An app's or a dataset's reputation, 0 to 1000."""
    parts = components(
        completed=completed,
        failed=failed,
        revenue_units=revenue_units,
        rating_avg=rating_avg,
        rating_count=rating_count,
    )
    return round(sum(WEIGHTS[name] * value for name, value in parts.items()))


def listing_reputations(
    *, chain_id: int, linked: Iterable[tuple[Asset, Listing]]
) -> dict[int, int]:
    """The reputation of each listing (by pk) of these (asset, its listing) pairs on
    `chain_id`: its market's record where it keeps one, else the blend."""
    by_kind: dict[str, list[tuple[Asset, Listing]]] = defaultdict(list)
    for asset, listing in linked:
        by_kind[listing.kind].append((asset, listing))
    scores = {}
    for kind, pairs in by_kind.items():
        records = MARKETS[kind].record_reputations(
            chain_id=chain_id, addresses=[asset.address for asset, _ in pairs]
        )
        for asset, listing in pairs:
            if records is not None:
                scores[listing.pk] = records.get(asset.address, 0)
                continue
            scores[listing.pk] = blend(
                completed=asset.tasks_completed,
                failed=asset.tasks_failed,
                revenue_units=asset.revenue,
                rating_avg=listing.rating_avg,
                rating_count=listing.rating_count,
            )
    return scores


def listing_rerank(*, listing: Listing) -> int:
    """Set `listing`'s reputation again from its asset's record and its rating as stored now
    (call it once its rating changed); its reputation. A listing with no indexed asset ranks 0.
    """
    chain_id = settings.CHAIN_ID
    fresh = Listing.objects.only("pk", "kind", "rating_avg", "rating_count", "reputation").get(
        pk=listing.pk
    )
    asset = Asset.objects.filter(chain_id=chain_id, listing=fresh).first()
    score = 0
    if asset is not None:
        score = listing_reputations(chain_id=chain_id, linked=[(asset, fresh)])[fresh.pk]
    if fresh.reputation != score:
        Listing.objects.filter(pk=fresh.pk).update(reputation=score)
    listing.reputation = score
    return score
