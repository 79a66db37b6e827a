"""The JSON API of your wallets' funds (/api/v1/wallets/): each linked wallet's escrow, spending
rate and runway, what its open pool offers need of its stake, and its spending caps, which
PUT (both) or PATCH (either) sets.

Amounts are ECT as decimal strings ("1.5"); a cap of null is no cap. Refusals are {"error":
sentence, "field": the input at fault}.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import ADDRESS_SCHEMA, error_responses, first_error
from marketplace.chain.amounts import ECT_DECIMALS, InvalidAmount, from_units, to_units
from marketplace.errors import AppError
from marketplace.orders import caps, runway
from marketplace.orders.models import SpendingCap

ADDRESS = OpenApiParameter(
    "address", ADDRESS_SCHEMA, OpenApiParameter.PATH, description="One of your linked wallets."
)


def _ect(units: int | None) -> str | None:
    if units is None:
        return None
    return format(from_units(int(units), decimals=ECT_DECIMALS).normalize(), "f")


class _CapField(serializers.CharField):
    """A cap in ECT (up to 9 decimals) as base units; null: no cap."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise serializers.ValidationError('Give an amount of ECT as text, such as "2.5".')
        try:
            return to_units(str(data), decimals=ECT_DECIMALS, currency="ECT")
        except InvalidAmount as error:
            raise serializers.ValidationError(str(error)) from None


class SpendingCapSerializer(serializers.Serializer):
    daily = _CapField(
        help_text="The most the wallet may spend within any 24 hours (deals paid, and what "
        "standing requests published then may still spend), in ECT; null: no cap."
    )
    per_deal = _CapField(
        help_text="The most one purchase may cost, or one standing request at most, in ECT; "
        "null: no cap."
    )


class WalletRunwayOutputSerializer(serializers.Serializer):
    address = serializers.CharField()
    free = serializers.CharField(help_text="ECT free in escrow (as indexed).")
    locked = serializers.CharField(help_text="ECT locked in escrow for running deals.")
    spent = serializers.CharField(
        help_text=f"ECT the deals it paid cost over the last {runway.RECENT_DAYS} days."
    )
    committed = serializers.CharField(
        help_text="ECT its live standing requests may still spend before they expire."
    )
    daily_rate = serializers.CharField(help_text="ECT spent a day at the current rate.")
    runway_days = serializers.CharField(
        allow_null=True,
        help_text="Days the free escrow lasts at that rate (2 decimals); null: nothing spent.",
    )
    lasts = serializers.CharField(help_text='The runway in words: "~3 days".')
    runway = serializers.CharField(help_text="The rate and the runway, in a sentence.")
    offers_need = serializers.CharField(
        allow_null=True,
        help_text="ECT of stake its open pool offers need; null: it offers nothing.",
    )
    offers = serializers.CharField(
        help_text="Whether its free escrow covers its open offers, in a sentence (empty: none)."
    )
    caps = SpendingCapSerializer()


def _caps(cap: SpendingCap | None) -> dict[str, str | None]:
    if cap is None:
        return {"daily": None, "per_deal": None}
    return {"daily": _ect(cap.daily), "per_deal": _ect(cap.per_deal)}


def _runway(wallet: runway.Runway, cap: SpendingCap | None) -> dict[str, Any]:
    days = wallet.days
    return {
        "address": wallet.address,
        "free": _ect(wallet.free),
        "locked": _ect(wallet.locked),
        "spent": _ect(wallet.spent),
        "committed": _ect(wallet.committed),
        "daily_rate": _ect(int(wallet.daily_rate)),
        "runway_days": None if days is None else f"{float(days):.2f}",
        "lasts": wallet.lasts,
        "runway": wallet.sentence,
        "offers_need": _ect(wallet.offers_need),
        "offers": wallet.offers_sentence,
        "caps": _caps(cap),
    }


class WalletRunwayListApi(APIView):
    """Your linked wallets' funds: escrow free and locked, the spending rate of recent deals and
    standing requests, how long the escrow lasts at that rate, what open pool offers need of
    the stake, and the spending caps the site enforces before it builds any request."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=WalletRunwayOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        addresses = list(request.user.wallets.values_list("address", flat=True))
        runways = runway.wallets_runway(chain_id=settings.CHAIN_ID, addresses=addresses)
        found = caps.spending_caps(addresses=addresses)
        return Response([_runway(wallet, found.get(wallet.address)) for wallet in runways])


_CAPS_SCHEMA = extend_schema(
    parameters=[ADDRESS],
    request=SpendingCapSerializer,
    responses={
        200: SpendingCapSerializer,
        **error_responses(
            _400="A cap is refused: field names it.",
            _403="The wallet is not one of your linked wallets.",
        ),
    },
)


class SpendingCapUpdateApi(APIView):
    """Set the spending caps of one of your linked wallets: PUT both (null: no cap), or PATCH
    either. A purchase or standing request over a cap is refused before its request is built,
    saying which cap and what to do."""

    permission_classes = [IsAuthenticated]

    def _set(self, request: Request, address: str, *, partial: bool) -> Response:
        serializer = SpendingCapSerializer(data=request.data, partial=partial)
        if not serializer.is_valid():
            problem, path, field = first_error(serializer.errors)
            raise AppError(f"{path}: {problem}" if path else problem, field=field)
        given = serializer.validated_data
        current = _caps_units(caps.spending_cap_of(address))
        cap = caps.spending_cap_set(
            user=request.user,
            address=address,
            daily=given.get("daily", current["daily"]),
            per_deal=given.get("per_deal", current["per_deal"]),
        )
        return Response(_caps(cap))

    @_CAPS_SCHEMA
    def put(self, request: Request, address: str) -> Response:
        return self._set(request, address, partial=False)

    @_CAPS_SCHEMA
    def patch(self, request: Request, address: str) -> Response:
        return self._set(request, address, partial=True)


def _caps_units(cap: SpendingCap | None) -> dict[str, int | None]:
    if cap is None:
        return {"daily": None, "per_deal": None}
    return {
        "daily": None if cap.daily is None else int(cap.daily),
        "per_deal": None if cap.per_deal is None else int(cap.per_deal),
    }
