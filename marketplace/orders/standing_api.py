"""The JSON API of standing requests (/api/v1/orders/standing/): publish a signed request that
waits in the book for an offer, list yours, and follow one: its status, its deals, and while it
waits, why no offer fits it now.

Refusals are {"error": sentence, "field": the input at fault} (OrderError, answered by the
API's exception handler); nothing is stored by a refused request. Taking one off the book is
the book's own POST /api/v1/orders/<digest>/unpublish/.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import error_responses, first_error
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.errors import AppError, Forbidden, NotFound
from marketplace.orders import matching, standing
from marketplace.orders.models import MatchStatus, Order, OrderStatus
from marketplace.orders.services import may_manage

_DIGEST = re.compile(r"0x[0-9a-fA-F]{64}")
DIGEST = OpenApiParameter(
    "digest",
    {"type": "string", "pattern": f"^{_DIGEST.pattern}$"},
    OpenApiParameter.PATH,
    description="The standing request's EIP-712 digest.",
)


def _ect(units: int) -> str:
    return format(from_units(int(units), decimals=ECT_DECIMALS).normalize(), "f")


class StandingMatchOutputSerializer(serializers.Serializer):
    dealid = serializers.CharField(help_text="The deal the match makes (or made).")
    volume = serializers.IntegerField()
    # Plain text in the schema: a second enum of fields named "status" clashes with the book's.
    status = serializers.CharField(
        help_text=f"One of {', '.join(MatchStatus.values)}: written before it is sent, sent "
        "without an answer yet, its deal on chain, or nothing matched."
    )
    tx_hash = serializers.CharField(help_text="Its matchOrders transaction, once known.")
    reason = serializers.CharField(help_text="Why it failed, or why its outcome is not known.")
    created_at = serializers.DateTimeField()


class StandingDealOutputSerializer(serializers.Serializer):
    dealid = serializers.CharField()
    url = serializers.CharField(help_text="The deal's page.")


class MaxPricesOutputSerializer(serializers.Serializer):
    app = serializers.CharField()
    dataset = serializers.CharField()
    workerpool = serializers.CharField()


class StandingOutputSerializer(serializers.Serializer):
    digest = serializers.CharField(help_text="EIP-712 digest: the request's id, on chain too.")
    # Plain text in the schema, like its matches' status: the enum is the book's orders'.
    status = serializers.CharField(
        help_text=f"The book's status: one of {', '.join(OrderStatus.values)}."
    )
    status_reason = serializers.CharField()
    app = serializers.CharField(source="asset")
    dataset = serializers.CharField(help_text="Empty: none.")
    workerpool = serializers.CharField(help_text="Empty: the best offer of any pool.")
    category = serializers.IntegerField()
    trust = serializers.IntegerField()
    volume = serializers.IntegerField()
    consumed = serializers.IntegerField()
    remaining = serializers.IntegerField()
    max_prices = serializers.SerializerMethodField(
        help_text="ECT per task the request pays at most, as signed."
    )
    requirements = serializers.JSONField(help_text="Its requirements of pools.")
    preferences = serializers.JSONField(help_text="Its preset and weights.")
    expires_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="Its page.")
    deals = serializers.SerializerMethodField(
        help_text="Its deals: those the matcher made, and any other the index saw."
    )
    matches = StandingMatchOutputSerializer(source="standing_matches.all", many=True)

    @extend_schema_field(MaxPricesOutputSerializer)
    def get_max_prices(self, order: Order) -> dict[str, str]:
        message = order.message
        return {
            "app": _ect(message["appmaxprice"]),
            "dataset": _ect(message["datasetmaxprice"]),
            "workerpool": _ect(message["workerpoolmaxprice"]),
        }

    def get_url(self, order: Order) -> str:
        return reverse("standing_detail", args=[order.digest])

    @extend_schema_field(StandingDealOutputSerializer(many=True))
    def get_deals(self, order: Order) -> list[dict[str, str]]:
        known = self.context.get("deals")  # a list's, read in one query
        dealids = known[order.digest] if known is not None else standing.standing_deals(order)
        return [
            {"dealid": dealid, "url": reverse("deal_detail", args=[dealid])} for dealid in dealids
        ]


class StandingDetailOutputSerializer(StandingOutputSerializer):
    waiting_for = serializers.ListField(
        child=serializers.CharField(),
        help_text="While it is open: why no offer fits it now, in words (empty: one fits, and "
        "the matcher takes it within seconds).",
    )
    market = serializers.DictField(
        allow_null=True,
        help_text="While it is open: the pools' market as it sees it (why each does not fit, "
        "the changes that would let some in, the fitting ones ranked by its preferences).",
    )


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        problem, path, field = first_error(serializer.errors)
        raise AppError(f"{path}: {problem}" if path else problem, field=field)
    return serializer.validated_data


def _mine(request: Request, digest: str) -> Order:
    """The standing request `digest` of the caller (its requester, signed in with that wallet,
    or staff)."""
    if not _DIGEST.fullmatch(digest):
        raise AppError(
            f"{digest[:80]!r} is not a request digest: expected 0x followed by 64 hexadecimal "
            "digits.",
            field="digest",
        )
    order = standing.standing_detail(chain_id=settings.CHAIN_ID, digest=digest)
    if order is None:
        raise NotFound(f"No standing request {digest} in the book.")
    if not may_manage(order=order, user=request.user):
        raise Forbidden(
            f"Only the request's requester ({order.signer}), signed in with that wallet, follows "
            "it here."
        )
    return order


# How many of a buyer's standing requests the list gives (the newest).
LISTED = 200


class StandingListApi(APIView):
    """Your standing requests (the newest LISTED, newest first), or publish one: a signed
    request order that waits in the book, until its expiry, for an offer that fits your
    requirements; the matcher then matches it with the best by your preferences (your escrow
    pays)."""

    permission_classes = [IsAuthenticated]

    class StandingPublishInputSerializer(serializers.Serializer):
        request = serializers.JSONField(
            help_text="The request order's typed-data message, as signed. Its max prices are "
            "your limits per task: appmaxprice, datasetmaxprice, workerpoolmaxprice."
        )
        signature = serializers.CharField(
            required=False, allow_blank=True, help_text="0x hex; omit when presigned on chain."
        )
        requirements = serializers.JSONField(
            required=False,
            help_text="What you require of pools: cores, memory_mb, region, energy_class, "
            "max_price (ECT, at most the signed workerpoolmaxprice), trust, deadline_minutes, "
            "expression (a ClassAd expression).",
        )
        preferences = serializers.JSONField(
            required=False,
            help_text='How the fitting offers are ranked: {"preset": "cheapest"} (or fastest, '
            'most_trusted, greenest, balanced) or {"weights": {"price": 1, "speed": 0.5}}.',
        )
        expires_at = serializers.DateTimeField(
            required=False,
            allow_null=True,
            help_text=f"When it leaves the book: at most {standing.MAX_EXPIRY.days} days ahead "
            f"(default: {standing.DEFAULT_EXPIRY.days} days).",
        )

    @extend_schema(responses=StandingOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        orders = list(
            standing.standing_list(user=request.user, chain_id=settings.CHAIN_ID)[:LISTED]
        )
        deals = standing.standing_deals_of(orders)
        return Response(StandingOutputSerializer(orders, many=True, context={"deals": deals}).data)

    @extend_schema(
        request=StandingPublishInputSerializer,
        responses={
            201: StandingOutputSerializer,
            **error_responses(
                _400="The request, its requirements, preferences or expiry are refused; "
                "failures lists what its task would break.",
                _403="The requester is not one of your linked wallets.",
                _409="The request is in the book already.",
                _503="The book cannot reach the chain, or the contracts are not deployed.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(self.StandingPublishInputSerializer, request.data)
        order = standing.standing_publish(
            user=request.user,
            message=data["request"],
            signature=data.get("signature", ""),
            requirements=data.get("requirements"),
            preferences=data.get("preferences"),
            expires_at=data.get("expires_at"),
            site_url=request.build_absolute_uri("/"),
        )
        return Response(StandingOutputSerializer(order).data, status=201)


class StandingDetailApi(APIView):
    """One of your standing requests: its status and deals and, while it waits, why no offer
    fits it now (what the matcher sees)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[DIGEST],
        responses={
            200: StandingDetailOutputSerializer,
            **error_responses(
                _400="The digest is malformed.",
                _403="It is not your request.",
                _404="No such standing request.",
            ),
        },
    )
    def get(self, request: Request, digest: str) -> Response:
        order = _mine(request, digest)
        data = dict(StandingOutputSerializer(order).data)
        data["waiting_for"], data["market"] = [], None
        if order.status == OrderStatus.OPEN:
            seen = standing.standing_market(order)
            data["waiting_for"] = standing.standing_waiting_for(seen)
            data["market"] = matching.market_summary(seen.market)
        return Response(data)
