"""Reads of the order book: the list with its filters, one order, and the best offers for a
request (what a buyer's "best offer" finds); and the input files buyers stored for their tasks,
with the ones a deal or a request still needs."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable

from django.db.models import Count, F, Q, QuerySet, Sum

from marketplace.catalogue.models import Asset, Listing
from marketplace.chain.orders import checksummed, tag_covers
from marketplace.deals.models import Deal, OrderKind
from marketplace.deals.selectors import deal_final_deadline
from marketplace.orders.models import InputFile, Order, OrderStatus

# Tag bits 0 to 62 are filtered in SQL (the `tag_bits` column); a request needing a higher bit,
# which no pool of ours offers, has the cheapest offers checked in Python.
_LOW_BITS = 2**63 - 1
_TAG_CANDIDATES = 200


@dataclasses.dataclass(frozen=True)
class OrderFilters:
    """The book's filters; None means "any"."""

    kind: str | None = None
    asset: str | None = None
    owner: str | None = None
    category: int | None = None
    min_trust: int | None = None
    tag_bits: int | None = None
    min_volume: int | None = None
    price_min: int | None = None
    price_max: int | None = None
    status: str | None = OrderStatus.OPEN


def order_list(*, chain_id: int, filters: OrderFilters) -> QuerySet[Order]:
    """Orders matching `filters`, cheapest first, then oldest first."""
    orders = Order.objects.filter(chain_id=chain_id)
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.kind:
        orders = orders.filter(kind=filters.kind)
    if filters.asset:
        orders = orders.filter(asset=checksummed(filters.asset.lower()))
    if filters.owner:
        orders = orders.filter(signer=checksummed(filters.owner.lower()))
    if filters.category is not None:
        orders = orders.filter(category=filters.category)
    if filters.min_trust is not None:
        orders = orders.filter(trust__gte=filters.min_trust)
    if filters.tag_bits:
        orders = orders.alias(tagged=F("tag_bits").bitand(filters.tag_bits)).filter(
            tagged=filters.tag_bits
        )
    if filters.min_volume is not None:
        orders = orders.filter(remaining__gte=filters.min_volume)
    if filters.price_min is not None:
        orders = orders.filter(price__gte=filters.price_min)
    if filters.price_max is not None:
        orders = orders.filter(price__lte=filters.price_max)
    return orders.order_by("price", "created_at", "id")


def order_detail(*, chain_id: int, digest: str) -> Order | None:
    return Order.objects.filter(chain_id=chain_id, digest=digest.lower()).first()


@dataclasses.dataclass(frozen=True)
class Wanted:
    """What a buyer asks for: an app, maybe a dataset, maybe a given pool, a category, a
    trust, a volume, from a requester; prices at most the given ones (None: any)."""

    app: str
    category: int
    requester: str
    dataset: str = ""
    workerpool: str = ""
    trust: int = 0
    volume: int = 1
    tag: bytes = bytes(32)
    app_max: int | None = None
    dataset_max: int | None = None
    workerpool_max: int | None = None


def assets_on_sale(*, chain_id: int, addresses: Iterable[str]) -> set[str]:
    """Those of these asset addresses that have an open offer (not a request) on the book."""
    wanted = [address for address in addresses if address]
    if not wanted:
        return set()
    return set(
        Order.objects.filter(chain_id=chain_id, asset__in=wanted, status=OrderStatus.OPEN)
        .exclude(kind="request")
        .values_list("asset", flat=True)
        .distinct()
    )


def _either(field: str, value: str) -> Q:
    """The restriction `field` lets `value` through: unset, or exactly it."""
    return Q(**{field: ""}) | Q(**{field: value}) if value else Q(**{field: ""})


def best_app_order(*, chain_id: int, wanted: Wanted) -> Order | None:
    """The cheapest open order of the app that lets this dataset, pool and requester buy."""
    orders = Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.APP,
        asset=wanted.app,
        status=OrderStatus.OPEN,
        remaining__gte=wanted.volume,
    ).filter(
        _either("dataset_restrict", wanted.dataset),
        _either("requester_restrict", wanted.requester),
    )
    if wanted.workerpool:
        orders = orders.filter(_either("workerpool_restrict", wanted.workerpool))
    if wanted.app_max is not None:
        orders = orders.filter(price__lte=wanted.app_max)
    return orders.order_by("price", "created_at", "id").first()


def best_dataset_order(*, chain_id: int, wanted: Wanted) -> Order | None:
    """The cheapest open order of the dataset that lets this app, pool and requester use it."""
    if not wanted.dataset:
        return None
    orders = Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.DATASET,
        asset=wanted.dataset,
        status=OrderStatus.OPEN,
        remaining__gte=wanted.volume,
    ).filter(_either("app_restrict", wanted.app), _either("requester_restrict", wanted.requester))
    if wanted.workerpool:
        orders = orders.filter(_either("workerpool_restrict", wanted.workerpool))
    if wanted.dataset_max is not None:
        orders = orders.filter(price__lte=wanted.dataset_max)
    return orders.order_by("price", "created_at", "id").first()


def best_workerpool_orders(
    *,
    chain_id: int,
    wanted: Wanted,
    required_tag: bytes,
    app_order: Order | None = None,
    dataset_order: Order | None = None,
    limit: int = 1,
) -> list[Order]:
    """The cheapest open pool offers of the category with at least the trust, that offer the
    tag, accept this app, dataset and requester, and that the app and dataset orders accept."""
    orders = Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.WORKERPOOL,
        category=wanted.category,
        status=OrderStatus.OPEN,
        trust__gte=wanted.trust,
        remaining__gte=wanted.volume,
    ).filter(
        _either("app_restrict", wanted.app),
        _either("dataset_restrict", wanted.dataset),
        _either("requester_restrict", wanted.requester),
    )
    if wanted.workerpool:
        orders = orders.filter(asset=wanted.workerpool)
    for restricting in (app_order, dataset_order):
        if restricting is not None and restricting.workerpool_restrict:
            orders = orders.filter(asset=restricting.workerpool_restrict)
    if wanted.workerpool_max is not None:
        orders = orders.filter(price__lte=wanted.workerpool_max)
    low_bits = int.from_bytes(required_tag, "big") & _LOW_BITS
    if low_bits:  # bits 0 to 62 in SQL; any higher one is checked below
        orders = orders.alias(offered=F("tag_bits").bitand(low_bits)).filter(offered=low_bits)
    orders = orders.order_by("price", "created_at", "id")
    if int.from_bytes(required_tag, "big") == low_bits:
        return list(orders[:limit])
    found = []
    for order in orders[:_TAG_CANDIDATES]:
        if tag_covers(offered=order.tag, required=required_tag):
            found.append(order)
            if len(found) == limit:
                break
    return found


def listings_by_address(*, chain_id: int, addresses: Iterable[str]) -> dict[str, Listing]:
    """The listings of these assets, by address (for names and links)."""
    assets = Asset.objects.filter(
        chain_id=chain_id, address__in=set(addresses), listing__isnull=False
    ).select_related("listing")
    return {asset.address: asset.listing for asset in assets}


# An input file's token in its URL (/inputs/<token>/<name>), wherever params name it; JSON may
# escape the slashes. Matching more than URLs only keeps more files.
_INPUT_TOKEN = re.compile(r"inputs\\?/([0-9a-f]{32})\\?/")


@dataclasses.dataclass(frozen=True)
class InputUsage:
    """What one user stores as input files."""

    files: int
    bytes: int


def input_list(*, owner) -> QuerySet[InputFile]:
    """`owner`'s input files, newest first."""
    return InputFile.objects.filter(owner=owner)


def input_usage(*, owner) -> InputUsage:
    totals = InputFile.objects.filter(owner=owner).aggregate(files=Count("id"), bytes=Sum("size"))
    return InputUsage(files=totals["files"], bytes=totals["bytes"] or 0)


def inputs_in_use(*, now: datetime.datetime, token: str = "") -> dict[str, str]:
    """The tokens of the input files that the params of a deal whose tasks may still run (some
    not finished, its final deadline not passed) name, or those of a request order in the book
    (it may still make such a deal), each with what needs it ("deal 0x…"). With `token`, only
    that file is looked for."""
    needle = token or "inputs"
    needed: dict[str, str] = {}
    deals = (
        Deal.objects.filter(params__contains=needle)
        .alias(finished=F("tasks_completed") + F("tasks_failed"))
        .filter(finished__lt=F("volume"))
        .only("dealid", "params", "start_time", "time_ref")
    )
    for deal in deals.iterator():
        deadline = deal_final_deadline(deal)
        if deadline is None or deadline > now:
            for found in _INPUT_TOKEN.findall(deal.params):
                needed.setdefault(found, f"deal {deal.dealid}")
    requests = Order.objects.filter(
        kind=OrderKind.REQUEST,
        status__in=(OrderStatus.OPEN, OrderStatus.DEAD),
        message__params__icontains=needle,
    ).only("digest", "message")
    for order in requests.iterator():
        for found in _INPUT_TOKEN.findall(str(order.message.get("params", ""))):
            needed.setdefault(found, f"request order {order.digest}")
    return {found: user for found, user in needed.items() if not token or found == token}
