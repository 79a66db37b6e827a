"""Price history and market depth in the JSON API: GET /api/v1/prices/ and /api/v1/depth/.

Both name what they are about the same way: `kind` app, dataset or pool with the asset's
`address` (a pool's with a `category`, as its prices are per category), or `kind=market` with a
`category` (the pools' prices of that category, market-wide). An asset not registered on chain
(as the index has seen it) or a category the Hub does not have is a 404; a bucket, window or
parameter it cannot take a 400 saying what it takes. Amounts come as the deals API writes them:
`{"units": "<ECT base units>", "ect": "<decimal ECT>"}`.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import QueryParameter, checked_query, error_responses
from marketplace.chain.orders import checksummed
from marketplace.deals.api import AmountField
from marketplace.errors import AppError, NotFound
from marketplace.indexer import prices
from marketplace.indexer.models import Market
from marketplace.orders import depth
from marketplace.orders.selectors import asset_registered, category_names

MARKET = "market"
KINDS = (*Market.values, MARKET)

SUBJECT = [
    QueryParameter.choice(
        "kind",
        KINDS,
        required=True,
        description="An app, dataset or pool (with its address), or the market of a category.",
    ),
    QueryParameter.address(
        "address", description="The app's, dataset's or pool's address on chain."
    ),
    QueryParameter.whole_number(
        "category",
        minimum=0,
        maximum=2**31 - 1,
        description="The task category (0 is XS): required for a pool and for the market.",
    ),
]
WINDOW = [
    QueryParameter.choice(
        "bucket", prices.BUCKETS, description="One point per hour or per UTC day (default)."
    ),
    *(
        QueryParameter.text(
            name,
            pattern=r"[0-9A-Za-z:.+\-]+",
            hint="a date (2025-03-01) or a time (2025-03-01T12:00:00Z)",
            max_length=40,
            description=description,
        )
        for name, description in (
            (
                "since",
                "Start (UTC when no zone is given), moved back to its bucket's start; default: "
                "48 hours before until by hour, 30 days by day.",
            ),
            ("until", "End, excluded; default: now. 14 days at most by hour, 366 by day."),
        )
    ),
]


@dataclasses.dataclass(frozen=True)
class Subject:
    kind: str
    address: str  # "" for the market
    category: int | None  # None for an app or a dataset
    category_name: str


def _subject(values: dict[str, str]) -> Subject:
    """What the query names, checked against the index and the Hub's categories."""
    kind = values["kind"]
    address, category = values.get("address", ""), values.get("category")
    needs_category = kind in (Market.POOL, MARKET)
    if kind == MARKET and address:
        raise AppError("A market has no address: leave address out.", field="address")
    if kind != MARKET and not address:
        raise AppError(
            f"address is required for kind={kind}: give the {kind}'s address.", field="address"
        )
    if needs_category and category is None:
        raise AppError(
            f"category is required for kind={kind}: prices differ by category (0 is XS).",
            field="category",
        )
    if not needs_category and category is not None:
        raise AppError(
            f"{'An app' if kind == Market.APP else 'A dataset'}'s price is the same in every "
            "category: leave category out.",
            field="category",
        )
    names = category_names(chain_id=settings.CHAIN_ID)
    if category is not None and int(category) not in names:
        known = ", ".join(f"{catid} ({name})" for catid, name in sorted(names.items()))
        raise NotFound(
            f"The Hub has no category {category}: choose one of {known}.", field="category"
        )
    if address:
        address = checksummed(address.lower())
        if not asset_registered(chain_id=settings.CHAIN_ID, address=address, kind=kind):
            raise NotFound(
                f"No {kind} is registered at {address} on this chain (or the index has not "
                "seen it yet).",
                field="address",
            )
    return Subject(
        kind=kind,
        address=address,
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


class PriceHistoryApi(APIView):
    @extend_schema(
        summary="Price history",
        description="The prices deals were matched at, per hour or per day: median (over "
        "tasks), lowest and highest price per task, deals and tasks, from the indexed deals.",
        parameters=[parameter.openapi() for parameter in SUBJECT + WINDOW],
        responses={
            200: PriceHistoryOutputSerializer,
            **error_responses(
                _400="A parameter is missing, given where it does not apply, or malformed; or "
                "the window is empty or too long.",
                _404="No such asset registered on chain, or no such category.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        values = checked_query(request, SUBJECT + WINDOW)
        subject = _subject(values)
        window = prices.price_window(
            bucket=values.get("bucket", prices.DAY),
            since=values.get("since"),
            until=values.get("until"),
            now=timezone.now(),
        )
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


class MarketDepthApi(APIView):
    @extend_schema(
        summary="Market depth",
        description="What the order book holds now: tasks offered at each price, and tasks "
        "open requests ask for at each max price.",
        parameters=[parameter.openapi() for parameter in SUBJECT],
        responses={
            200: DepthOutputSerializer,
            **error_responses(
                _400="A parameter is missing, given where it does not apply, or malformed.",
                _404="No such asset registered on chain, or no such category.",
            ),
        },
    )
    def get(self, request: Request) -> Response:
        subject = _subject(checked_query(request, SUBJECT))
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
