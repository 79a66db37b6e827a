"""Price history and market depth in the JSON API, under /api/v1/prices/ and /api/v1/depth/:
of an app, a dataset or a pool (`apps/<address>/`, `datasets/<address>/`, `pools/<address>/`,
a pool's of one `category`, as its prices are per category), or of the market of a category
(`market/?category=`: the pools' prices of that category, market-wide); XS (0) by default.

The query is checked first (a 400 says what a parameter takes, or what window is allowed),
then what it names: an address no asset of that kind is registered at (as the index has seen
it) or a category the Hub does not have is a 404. Amounts come as the deals API writes them:
`{"units": "<ECT base units>", "ect": "<decimal ECT>"}`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.addresses import ADDRESS_PATTERN
from marketplace.api import ADDRESS_SCHEMA, QueryParameter, checked_query, error_responses
from marketplace.chain.orders import checksummed
from marketplace.deals.api import AmountField
from marketplace.errors import NotFound
from marketplace.indexer import prices
from marketplace.indexer.models import Market
from marketplace.orders import depth
from marketplace.orders.selectors import asset_registered, category_names

MARKET = "market"
KINDS = (*Market.values, MARKET)
_NOUNS = {Market.APP: "app", Market.DATASET: "dataset", Market.POOL: "pool", MARKET: "market"}

CATEGORY = QueryParameter.whole_number(
    "category",
    minimum=0,
    maximum=2**31 - 1,
    description="The task category: prices differ by category. Default: 0 (XS).",
)
_MOMENT = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
WINDOW = [
    QueryParameter.choice(
        "bucket", prices.BUCKETS, description="One point per hour or per UTC day (default)."
    ),
    QueryParameter.text(
        "since",
        pattern=_MOMENT,
        hint="a date (2025-03-01) or a time (2025-03-01T12:00:00Z)",
        max_length=40,
        description="Start (UTC when no zone is given), moved back to its bucket's start; "
        "default: until less 48 hours by hour, 30 days by day.",
    ),
    QueryParameter.text(
        "until",
        pattern=_MOMENT,
        hint="a date (2025-03-01) or a time (2025-03-01T12:00:00Z)",
        max_length=40,
        description="End, excluded; default: now, or since plus the longest window (14 days "
        "by hour, 366 by day) when that is sooner.",
    ),
]
ADDRESS = OpenApiParameter(
    "address",
    ADDRESS_SCHEMA,
    OpenApiParameter.PATH,
    description="The asset's address on chain, in any letter case.",
)


@dataclasses.dataclass(frozen=True)
class Subject:
    kind: str
    address: str  # "" for the market
    category: int | None  # None for an app or a dataset
    category_name: str


def _subject(kind: str, address: str, values: dict[str, str]) -> Subject:
    """What the request names (a pool's or the market's category among the query's `values`),
    checked against the index and the Hub's categories: NotFound for an asset not registered,
    or a category the Hub does not have."""
    category = values.get("category", "0") if kind in (Market.POOL, MARKET) else None
    names = category_names(chain_id=settings.CHAIN_ID)
    if category is not None and int(category) not in names:
        known = ", ".join(f"{catid} ({name})" for catid, name in sorted(names.items()))
        raise NotFound(
            f"The Hub has no category {category}: choose one of {known}.", field="category"
        )
    if kind != MARKET:
        known_address = re.fullmatch(ADDRESS_PATTERN, address, re.ASCII)
        address = checksummed(address.lower()) if known_address else address[:42]
        if not known_address or not asset_registered(
            chain_id=settings.CHAIN_ID, address=address, kind=kind
        ):
            raise NotFound(
                f"No {kind} is registered at {address} on this chain (or the index has not "
                "seen it yet).",
                field="address",
            )
    return Subject(
        kind=kind,
        address=address if kind != MARKET else "",
        category=None if category is None else int(category),
        category_name="" if category is None else names[int(category)],
    )


class SubjectOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text=f"One of {', '.join(KINDS)}.")
    address = serializers.CharField(allow_null=True, help_text="Null for the market.")
    category = serializers.IntegerField(allow_null=True, help_text="Null: any category.")
    category_name = serializers.CharField(allow_null=True)

    def to_representation(self, instance) -> dict:
        data = super().to_representation(instance)
        return {name: value if value != "" else None for name, value in data.items()}


class PricePointOutputSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The bucket's start, UTC.")
    median = AmountField(help_text="Per task, over the tasks bought (the lower middle one).")
    low = AmountField(help_text="The lowest price per task.")
    high = AmountField(help_text="The highest price per task.")
    deals = serializers.IntegerField()
    tasks = serializers.IntegerField(help_text="Tasks bought: the volume.")


class PriceHistoryOutputSerializer(serializers.Serializer):
    subject = SubjectOutputSerializer()
    bucket = serializers.ChoiceField(choices=prices.BUCKETS)
    since = serializers.DateTimeField(source="window.since")
    until = serializers.DateTimeField(source="window.until")
    deals = serializers.IntegerField()
    tasks = serializers.IntegerField()
    points = PricePointOutputSerializer(
        many=True, help_text="Buckets with deals only, oldest first; none: no trade yet."
    )


class DepthLevelOutputSerializer(serializers.Serializer):
    price = AmountField(help_text="Per task.")
    tasks = serializers.IntegerField(help_text="Tasks offered, or asked for, at this price.")
    orders = serializers.IntegerField()


class DepthOutputSerializer(serializers.Serializer):
    subject = SubjectOutputSerializer()
    offers = DepthLevelOutputSerializer(
        many=True,
        help_text=f"Open offers anyone may take, cheapest first (the {depth.DEPTH_LEVELS} "
        "cheapest prices at most), by remaining volume.",
    )
    bids = DepthLevelOutputSerializer(
        many=True,
        help_text="Open requests by the max price each accepts for this part, dearest first.",
    )


_MALFORMED = "A parameter is missing or malformed, or the window is empty or too long."
_UNKNOWN = "No such asset registered on chain, or no such category."


class _SubjectApi(APIView):
    kind: ClassVar[str]

    def _parameters(self, request: Request, more: list[QueryParameter]) -> dict[str, str]:
        return checked_query(
            request, ([CATEGORY] if self.kind in (Market.POOL, MARKET) else []) + more
        )


class _PriceHistoryApi(_SubjectApi):
    def get(self, request: Request, address: str = "") -> Response:
        values = self._parameters(request, WINDOW)
        window = prices.price_window(
            bucket=values.get("bucket", prices.DAY),
            since=values.get("since"),
            until=values.get("until"),
            now=timezone.now(),
        )
        subject = _subject(self.kind, address, values)
        if subject.kind == MARKET:
            series = prices.category_price_series(
                chain_id=settings.CHAIN_ID, category=subject.category, window=window
            )
        else:
            series = prices.asset_price_series(
                chain_id=settings.CHAIN_ID,
                kind=subject.kind,
                address=subject.address,
                window=window,
                category=subject.category,
            )
        answer = {
            "subject": subject,
            "bucket": window.bucket,
            "window": window,
            "deals": series.deals,
            "tasks": series.tasks,
            "points": series.points,
        }
        return Response(PriceHistoryOutputSerializer(answer).data)


class _MarketDepthApi(_SubjectApi):
    def get(self, request: Request, address: str = "") -> Response:
        values = self._parameters(request, [])
        subject = _subject(self.kind, address, values)
        now = timezone.now()
        if subject.kind == MARKET:
            book = depth.category_depth(
                chain_id=settings.CHAIN_ID, category=subject.category, now=now
            )
        else:
            book = depth.asset_depth(
                chain_id=settings.CHAIN_ID,
                kind=subject.kind,
                address=subject.address,
                now=now,
                category=subject.category,
            )
        answer = {"subject": subject, "offers": book.offers, "bids": book.bids}
        return Response(DepthOutputSerializer(answer).data)


def _of(kind: str) -> str:
    if kind == MARKET:
        return "the pools of a category, market-wide"
    return f"{'an' if kind == Market.APP else 'a'} {_NOUNS[kind]}"


def _api(base: type[_SubjectApi], name: str, kind: str, **schema) -> type[APIView]:
    parameters = [ADDRESS] if kind != MARKET else []
    if kind in (Market.POOL, MARKET):
        parameters.append(CATEGORY.openapi())
    schema["parameters"] = parameters + schema.get("parameters", [])
    view = type(f"{_NOUNS[kind].capitalize()}{name}", (base,), {"kind": kind})
    return extend_schema_view(get=extend_schema(**schema))(view)


def price_history_api(kind: str) -> type[APIView]:
    """The price history endpoint of `kind` (app, dataset, pool or market)."""
    return _api(
        _PriceHistoryApi,
        "PriceHistoryApi",
        kind,
        summary=f"Price history of {_of(kind)}",
        description="The prices deals were matched at, per hour or per day: median (over "
        "tasks), lowest and highest price per task, deals and tasks, from the indexed deals.",
        parameters=[parameter.openapi() for parameter in WINDOW],
        responses={
            200: PriceHistoryOutputSerializer,
            **error_responses(_400=_MALFORMED, _404=_UNKNOWN),
        },
    )


def market_depth_api(kind: str) -> type[APIView]:
    """The market depth endpoint of `kind` (app, dataset, pool or market)."""
    # An app's or a dataset's depth takes no parameter: nothing to refuse but the address.
    refusals = {"_400": _MALFORMED} if kind in (Market.POOL, MARKET) else {}
    return _api(
        _MarketDepthApi,
        "DepthApi",
        kind,
        summary=f"Market depth of {_of(kind)}",
        description="What the order book holds now: tasks offered at each price, and tasks "
        "open requests ask for at each max price.",
        responses={
            200: DepthOutputSerializer,
            **error_responses(**refusals, _404=_UNKNOWN),
        },
    )
