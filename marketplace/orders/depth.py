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


def _offer_levels(offers: QuerySet[Order]) -> list[DepthLevel]:
    rows = (
        offers.filter(status=OrderStatus.OPEN, requester_restrict="", remaining__gt=0)
        .order_by()
        .values("price")
        .annotate(tasks=Sum("remaining"), orders=Count("*"))
        .order_by("price")
        .values_list("price", "tasks", "orders")[:DEPTH_LEVELS]
    )
    return [DepthLevel(price=int(price), tasks=tasks, orders=n) for price, tasks, n in rows]


def _bid_levels(requests: QuerySet[Order], kind: str, now: datetime.datetime) -> list[DepthLevel]:
    column = _MAX_PRICE[kind]
    rows = (
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
    return [DepthLevel(price=int(price), tasks=tasks, orders=n) for price, tasks, n in rows]


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
    book = Order.objects.filter(chain_id=chain_id)
    offers = book.filter(kind=order_kind, asset=address)
    if order_kind == OrderKind.APP:
        requests = book.filter(asset=address)
    elif order_kind == OrderKind.DATASET:
        requests = book.filter(dataset=address)
    else:
        if category is None:
            raise ValueError("a pool's depth is of one category: give the category")
        offers = offers.filter(category=category)
        requests = book.filter(category=category, workerpool__in=("", address))
    return Depth(offers=_offer_levels(offers), bids=_bid_levels(requests, order_kind, now))


def category_depth(*, chain_id: int, category: int, now: datetime.datetime) -> Depth:
    """The pools' offers of `category` market-wide, and the requests of that category."""
    book = Order.objects.filter(chain_id=chain_id, category=category)
    return Depth(
        offers=_offer_levels(book.filter(kind=OrderKind.WORKERPOOL)),
        bids=_bid_levels(book, OrderKind.WORKERPOOL, now),
    )
