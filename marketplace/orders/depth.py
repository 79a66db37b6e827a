"""Market depth from the order book: how many tasks are offered at each price, and how many
open requests ask for at each price they accept.

Offers are the open sell orders anyone may take (no requester restriction), counted by their
remaining volume. Bids are the open requests of the book (standing requests until their
expiry): each accepts at most its signed max price for the part in question (`appmaxprice` for
an app, `datasetmaxprice` for a dataset, `workerpoolmaxprice` for a pool, kept in columns of
their own) for its remaining volume. A pool's offers and bids are of one category, as its prices
are.

Reads are bounded and grouped in SQL: the DEPTH_LEVELS cheapest prices on offer and the
DEPTH_LEVELS highest prices asked (off the book's partial indexes of open orders).
"""

from __future__ import annotations

import dataclasses
import datetime

from django.db.models import Count, Q, QuerySet, Sum

from marketplace.indexer.models import Market, OrderKind
from marketplace.orders.models import Order, OrderStatus
from marketplace.prepared import Prepared

DEPTH_LEVELS = 200
# The column of a request holding its max price for each kind of offer.
_MAX_PRICE = {
    OrderKind.APP: "app_max_price",
    OrderKind.DATASET: "dataset_max_price",
    OrderKind.WORKERPOOL: "workerpool_max_price",
}


@dataclasses.dataclass(frozen=True)
class DepthLevel:
    """`tasks` asked or offered at `price` (ECT base units per task) by `orders` orders."""

    price: int
    tasks: int
    orders: int


@dataclasses.dataclass(frozen=True)
class Depth:
    """Offers cheapest first and bids dearest first: the order each side fills in."""

    offers: list[DepthLevel]
    bids: list[DepthLevel]

    @property
    def empty(self) -> bool:
        return not self.offers and not self.bids


def _offer_rows(offers: QuerySet[Order]) -> QuerySet:
    return (
        offers.filter(status=OrderStatus.OPEN, requester_restrict="", remaining__gt=0)
        .order_by()
        .values("price")
        .annotate(tasks=Sum("remaining"), orders=Count("*"))
        .order_by("price")
        .values_list("price", "tasks", "orders")[:DEPTH_LEVELS]
    )


def _bid_rows(requests: QuerySet[Order], kind: str, now: datetime.datetime) -> QuerySet:
    column = _MAX_PRICE[kind]
    return (
        requests.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            kind=OrderKind.REQUEST,
            status=OrderStatus.OPEN,
            remaining__gt=0,
        )
        .order_by()
        .values(column)
        .annotate(tasks=Sum("remaining"), orders=Count("*"))
        .order_by(f"-{column}")
        .values_list(column, "tasks", "orders")[:DEPTH_LEVELS]
    )


def _levels(rows) -> list[DepthLevel]:
    return [DepthLevel(price=int(price), tasks=tasks, orders=n) for price, tasks, n in rows]


def _asset_requests(kind: str, chain_id: int, asset: str, category: int | None) -> QuerySet:
    """The requests that would take the asset of `kind` at `asset` (a pool's: of `category`,
    naming it or no pool)."""
    book = Order.objects.filter(chain_id=chain_id)
    if kind == OrderKind.APP:
        return book.filter(asset=asset)
    if kind == OrderKind.DATASET:
        return book.filter(dataset=asset)
    return book.filter(category=category, workerpool__in=("", asset))


# Every listing page reads its asset's depth: prepared per kind (marketplace.prepared); a
# pool's take its category too.
_ASSET_OFFERS = {
    kind: Prepared(
        lambda chain_id, asset, kind=kind, **category: _offer_rows(
            Order.objects.filter(chain_id=chain_id, kind=kind, asset=asset, **category)
        )
    )
    for kind in _MAX_PRICE
}
_ASSET_BIDS = {
    kind: Prepared(
        lambda chain_id, asset, now, kind=kind, category=None: _bid_rows(
            _asset_requests(kind, chain_id, asset, category), kind, now
        )
    )
    for kind in _MAX_PRICE
}


def asset_depth(
    *,
    chain_id: int,
    kind: str,
    address: str,
    now: datetime.datetime,
    category: int | None = None,
) -> Depth:
    """The depth of the asset of market `kind` (app, dataset, pool) at `address`
    (checksummed): its offers, and the requests that would take it (a pool's: of `category`,
    required, naming it or no pool)."""
    order_kind = Market(kind).order_kind
    pool = {}
    if order_kind == OrderKind.WORKERPOOL:
        if category is None:
            raise ValueError("a pool's depth is of one category: give the category")
        pool = {"category": category}
    return Depth(
        offers=_levels(_ASSET_OFFERS[order_kind](chain_id=chain_id, asset=address, **pool)),
        bids=_levels(_ASSET_BIDS[order_kind](chain_id=chain_id, asset=address, now=now, **pool)),
    )


def category_depth(*, chain_id: int, category: int, now: datetime.datetime) -> Depth:
    """The pools' offers of `category` market-wide, and the requests of that category."""
    book = Order.objects.filter(chain_id=chain_id, category=category)
    return Depth(
        offers=_levels(_offer_rows(book.filter(kind=OrderKind.WORKERPOOL))),
        bids=_levels(_bid_rows(book, OrderKind.WORKERPOOL, now)),
    )
