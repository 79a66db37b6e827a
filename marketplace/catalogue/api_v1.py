"""The catalogue in the versioned API: one list and one detail endpoint per market
(apps/, datasets/, pools/: each market's url_prefix), from marketplace.catalogue.api's code.
They replace /api/listings/."""

from __future__ import annotations

from typing import ClassVar

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.catalogue.api import (
    FILTER_PARAMETERS,
    NOT_FOUND,
    SLUG,
    ListingDetailOutputSerializer,
    ListingOutputSerializer,
    listing_detail_response,
    listing_list_response,
)
from marketplace.catalogue.markets import MarketAdapter
from marketplace.catalogue.pagination import ApiPagination


class _MarketListApi(APIView):
    kind: ClassVar[str]
    # Read by the schema, which then documents the page envelope (count, next, previous).
    pagination_class = ApiPagination

    def get(self, request: Request) -> Response:
        return listing_list_response(request, kind=self.kind, view=self)


class _MarketDetailApi(APIView):
    kind: ClassVar[str]

    def get(self, request: Request, slug: str) -> Response:
        return listing_detail_response(request, kind=self.kind, slug=slug)


def _name(market: MarketAdapter) -> str:
    """The name of the market's endpoints' classes ("Workerpool" for WorkerpoolMarket)."""
    return type(market).__name__.removesuffix("Market")


def list_api(market: MarketAdapter) -> type[APIView]:
    """The endpoint of `market`'s published listings (<url_prefix>/)."""
    noun = market.plural.lower()
    schema = extend_schema(
        summary=f"Published {noun}",
        description=f"Published {noun}, filtered as on the site's list page, a page at a time.",
        parameters=[parameter.openapi() for parameter in FILTER_PARAMETERS[market.kind]],
        responses=ListingOutputSerializer(many=True),
    )
    view = type(f"{_name(market)}ListApi", (_MarketListApi,), {"kind": market.kind})
    return extend_schema_view(get=schema)(view)


def detail_api(market: MarketAdapter) -> type[APIView]:
    """The endpoint of one of `market`'s listings (<url_prefix>/<slug>/)."""
    noun = market.noun
    schema = extend_schema(
        summary=f"One {noun}",
        description=f"{market.article} with the price it asks (an app's or a dataset's per task, "
        "a pool's per category), what the order book offers now and the cheapest complete run, "
        "and what the chain says of it (null until it is registered and indexed). Unpublished "
        "ones: their owner and staff.",
        parameters=[SLUG],
        responses={200: ListingDetailOutputSerializer, **NOT_FOUND},
    )
    view = type(f"{_name(market)}DetailApi", (_MarketDetailApi,), {"kind": market.kind})
    return extend_schema_view(get=schema)(view)
