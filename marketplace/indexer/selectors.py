"""Reads for pages and the API: how fresh the index is, and what the chain says of a listing."""

from __future__ import annotations

import dataclasses
import datetime
from types import SimpleNamespace

from django.conf import settings
from django.utils import timezone

from marketplace.addresses import is_address, normalize
from marketplace.indexer.models import (
    Asset,
    Category,
    Deal,
    IndexerState,
    IndexerStatus,
    Market,
)
from marketplace.prepared import Prepared

RECENT_DEALS = 5


@dataclasses.dataclass(frozen=True)
class Freshness:
    """How far the index is: `block` indexed, last at the node's head `seconds_ago` (None:
    never), and `warning` (empty when all is well) for people."""

    chain_id: int
    block: int | None
    head: int | None
    confirmed_block: int | None
    indexed_at: datetime.datetime | None
    seconds_ago: int | None
    status: str
    warning: str

    @property
    def lag_blocks(self) -> int | None:
        if self.block is None or self.head is None:
            return None
        return max(0, self.head - self.block)

    def is_unconfirmed(self, block_number: int) -> bool:
        """Whether data last changed at `block_number` may still be taken back by a reorg."""
        return self.confirmed_block is None or block_number > self.confirmed_block


def _ago(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


_STATE_FIELDS = (
    "chain_id",
    "first_block",
    "checkpoint",
    "confirmed_height",
    "head",
    "indexed_at",
    "status",
    "problem",
    "problem_since",
)
# Every page reads it: prepared (marketplace.prepared).
_state = Prepared(
    lambda chain_id: IndexerState.objects.filter(chain_id=chain_id).values_list(*_STATE_FIELDS)
)


def index_freshness(*, now: datetime.datetime | None = None) -> Freshness:
    """The index of settings.CHAIN_ID as pages show it (one query)."""
    now = now or timezone.now()
    rows = _state(chain_id=settings.CHAIN_ID)
    state = SimpleNamespace(**dict(zip(_STATE_FIELDS, rows[0], strict=True))) if rows else None
    if state is None:
        return Freshness(
            chain_id=settings.CHAIN_ID,
            block=None,
            head=None,
            confirmed_block=None,
            indexed_at=None,
            seconds_ago=None,
            status=IndexerStatus.STARTING,
            warning="The chain is not indexed yet: on-chain figures appear once the indexer "
            "runs (`make run` starts it).",
        )
    seconds_ago = (
        None if state.indexed_at is None else int((now - state.indexed_at).total_seconds())
    )
    warning = ""
    if state.status == IndexerStatus.NODE_UNREACHABLE:
        since = (
            f" for {_ago((now - state.problem_since).total_seconds())}"
            if state.problem_since
            else ""
        )
        warning = f"The chain node is unreachable{since}: on-chain figures may be out of date."
    elif state.status == IndexerStatus.FAILING:
        warning = f"The indexer is failing: {state.problem[:300]}"
    elif seconds_ago is None:
        warning = "The indexer is catching up with the chain: on-chain figures are incomplete."
    elif seconds_ago > settings.INDEXER_LAG_SECONDS:
        behind = state.head - state.checkpoint if state.head >= 0 else 0
        warning = (
            f"The index last reached the chain's head {_ago(seconds_ago)} ago"
            + (f" and is {behind} blocks behind" if behind > 0 else "")
            + ": on-chain figures may be out of date."
        )
    return Freshness(
        chain_id=state.chain_id,
        block=state.checkpoint if state.checkpoint >= state.first_block else None,
        head=state.head if state.head >= 0 else None,
        confirmed_block=state.confirmed_height if state.confirmed_height >= 0 else None,
        indexed_at=state.indexed_at,
        seconds_ago=seconds_ago,
        status=state.status,
        warning=warning,
    )


@dataclasses.dataclass(frozen=True)
class DealLine:
    deal: Deal
    unconfirmed: bool


@dataclasses.dataclass(frozen=True)
class AssetRecord:
    """What the chain says of a listing's asset, for its page."""

    asset: Asset
    unconfirmed: bool
    transferred: bool  # the NFT left the wallet the listing names
    recent_deals: list[DealLine]


# Every listing page reads them: prepared (marketplace.prepared).
_assets = Prepared(
    lambda chain_id, address: Asset.objects.filter(chain_id=chain_id, address=address).order_by(
        "pk"
    )[:1]
)
# By the deal field naming assets of each market: the Hub's name of their kind.
_RECENT_DEALS = {
    role: Prepared(
        lambda chain_id, address, role=role: Deal.objects.filter(
            chain_id=chain_id, **{role: address}
        ).order_by("-block_number", "-id")[:RECENT_DEALS]
    )
    for role in (market.order_kind for market in Market)
}


_categories = Prepared(
    lambda chain_id: Category.objects.filter(chain_id=chain_id).values_list("catid", "name")
)


def indexed_categories(*, chain_id: int) -> dict[int, str]:
    """The Hub's categories as indexed: their names by id (pages read them: prepared)."""
    return dict(_categories(chain_id=chain_id))


def asset_record(
    *, chain_address: str, owner_wallet: str, freshness: Freshness
) -> AssetRecord | None:
    """The on-chain record of the asset at `chain_address`, which a listing shows as its owner
    `owner_wallet` says (None when there is no address, or it is not indexed)."""
    if not is_address(chain_address):
        return None
    # The index keeps addresses checksummed (an exact match uses its index, where a
    # case-insensitive one reads every asset); a listing may name its asset in any case.
    found = _assets(chain_id=settings.CHAIN_ID, address=normalize(chain_address))
    if not found:
        return None
    asset = found[0]
    deals = _RECENT_DEALS[Market(asset.kind).order_kind](
        chain_id=settings.CHAIN_ID, address=asset.address
    )
    return AssetRecord(
        asset=asset,
        unconfirmed=freshness.is_unconfirmed(asset.block_number),
        transferred=bool(owner_wallet) and owner_wallet.lower() != asset.owner.lower(),
        recent_deals=[
            DealLine(deal=deal, unconfirmed=freshness.is_unconfirmed(deal.block_number))
            for deal in deals
        ],
    )
