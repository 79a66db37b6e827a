"""The catalogue in the versioned API: one list and one detail endpoint per market
(apps/, datasets/, pools/), from marketplace.catalogue.api's code. They replace /api/listings/."""

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
from marketplace.catalogue.models import Market
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


def _list_schema(noun: str, kind: str):
    return extend_schema(
        summary=f"Published {noun}",
        description=f"Published {noun}, filtered as on the site's list page, a page at a time.",
        parameters=[parameter.openapi() for parameter in FILTER_PARAMETERS[kind]],
        responses=ListingOutputSerializer(many=True),
    )


def _detail_schema(noun: str, article: str = "A"):
    return extend_schema(
        summary=f"One {noun}",
        description=f"{article} {noun} with the price it asks (an app's or a dataset's per task, "
        "a pool's per category), what the order book offers now and the cheapest complete run, "
        "and what the chain says of it (null until it is registered and indexed). Unpublished "
        "ones: their owner and staff.",
        parameters=[SLUG],
        responses={200: ListingDetailOutputSerializer, **NOT_FOUND},
    )


@extend_schema_view(get=_list_schema("apps", Market.APP))
class AppListApi(_MarketListApi):
    kind = Market.APP


@extend_schema_view(get=_list_schema("datasets", Market.DATASET))
class DatasetListApi(_MarketListApi):
    kind = Market.DATASET


@extend_schema_view(get=_list_schema("worker pools", Market.POOL))
class WorkerpoolListApi(_MarketListApi):
    kind = Market.POOL


@extend_schema_view(get=_detail_schema("app", "An"))
class AppDetailApi(_MarketDetailApi):
    kind = Market.APP


@extend_schema_view(get=_detail_schema("dataset"))
class DatasetDetailApi(_MarketDetailApi):
    kind = Market.DATASET


@extend_schema_view(get=_detail_schema("worker pool"))
class WorkerpoolDetailApi(_MarketDetailApi):
    kind = Market.POOL
