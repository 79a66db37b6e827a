"""Read-only JSON API of the catalogue, for wallets, agents and other clients."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.catalogue import selectors
from marketplace.catalogue.forms import filter_form_for
from marketplace.catalogue.models import Market
from marketplace.indexer import selectors as index_selectors


class ListingOutputSerializer(serializers.Serializer):
    kind = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    summary = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    owner_wallet = serializers.CharField()
    chain_address = serializers.CharField()
    status = serializers.CharField()
    price_from = serializers.DecimalField(max_digits=30, decimal_places=9, allow_null=True)
    rating_avg = serializers.DecimalField(max_digits=3, decimal_places=2)
    rating_count = serializers.IntegerField()
    tags = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url")

    def get_tags(self, listing) -> list[str]:
        return [tag.slug for tag in listing.tags.all()]


class PriceSerializer(serializers.Serializer):
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=30, decimal_places=9)


class OnChainOutputSerializer(serializers.Serializer):
    """What the chain says of the listing's asset (indexed; see /api/chain/status/)."""

    address = serializers.CharField(source="asset.address")
    owner = serializers.CharField(source="asset.owner")
    registered_block = serializers.IntegerField(source="asset.registered_block")
    deals = serializers.IntegerField(source="asset.deals")
    volume_sold = serializers.IntegerField(source="asset.volume_sold", help_text="Tasks bought.")
    tasks_completed = serializers.IntegerField(source="asset.tasks_completed")
    tasks_failed = serializers.IntegerField(source="asset.tasks_failed")
    success_rate = serializers.FloatField(source="asset.success_rate", allow_null=True)
    revenue_units = serializers.CharField(
        source="asset.revenue", help_text="ECT base units (9 decimals) earned, as a string."
    )
    reputation = serializers.IntegerField(help_text="0 to 1000.")
    unconfirmed = serializers.BooleanField(
        help_text="Some of these figures come from blocks a reorganization could take back."
    )


class ListingDetailOutputSerializer(ListingOutputSerializer):
    description = serializers.CharField()
    prices = PriceSerializer(many=True)
    rating_histogram = serializers.ListField(child=serializers.IntegerField())
    on_chain = serializers.SerializerMethodField()

    @extend_schema_field(OnChainOutputSerializer(allow_null=True))
    def get_on_chain(self, listing) -> dict | None:
        record = self.context.get("on_chain")
        return None if record is None else OnChainOutputSerializer(record).data


# The list filters every market takes, and those worker pools add (catalogue.forms).
LISTING_FILTER_PARAMETERS = [
    OpenApiParameter("q", str),
    OpenApiParameter("tag", str),
    OpenApiParameter("price_min", float),
    OpenApiParameter("price_max", float),
    OpenApiParameter("rating_min", int),
    OpenApiParameter("sort", enum=list(selectors.SORTS)),
    OpenApiParameter("page", int),
]
POOL_FILTER_PARAMETERS = [
    OpenApiParameter("cores_min", int, description="Worker pools only."),
    OpenApiParameter("memory_min_gib", int, description="Worker pools only."),
    OpenApiParameter("location", str, description="Worker pools only."),
    OpenApiParameter("energy_class", str, description="Worker pools only."),
    OpenApiParameter("visibility", str, description="Worker pools only."),
]


def listing_list_response(request: Request, *, kind: str, view: APIView) -> Response:
    """A page of the published listings of market `kind` filtered by the query string (the
    list page's filters), or 400 with the form's errors."""
    form = filter_form_for(kind, request.query_params)
    if not form.is_valid():
        return Response(form.errors, status=400)
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(
        selectors.listing_list(kind=kind, filters=form.filters()), request, view=view
    )
    return paginator.get_paginated_response(ListingOutputSerializer(page, many=True).data)


def listing_detail_response(request: Request, *, kind: str, slug: str) -> Response:
    """Listing `slug` of market `kind` with its prices and on-chain record; 404 when there is
    none or `request.user` may not see it."""
    listing = selectors.listing_detail(kind=kind, slug=slug)
    if listing is None or not selectors.listing_visible_to(listing=listing, user=request.user):
        raise Http404("No such listing.")
    record = index_selectors.asset_record(
        listing=listing, freshness=index_selectors.index_freshness()
    )
    return Response(ListingDetailOutputSerializer(listing, context={"on_chain": record}).data)


class ListingListApi(APIView):
    """Published listings of one market, with the list page's filters."""

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=Market.values, required=True),
            *LISTING_FILTER_PARAMETERS,
            *POOL_FILTER_PARAMETERS,
        ],
        responses=ListingOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        kind = request.query_params.get("kind", "")
        if kind not in Market.values:
            return Response({"kind": [f"Choose one of: {', '.join(Market.values)}."]}, status=400)
        return listing_list_response(request, kind=kind, view=self)


class ListingDetailApi(APIView):
    @extend_schema(responses=ListingDetailOutputSerializer)
    def get(self, request: Request, kind: str, slug: str) -> Response:
        if kind not in Market.values:
            raise Http404("No such listing.")
        return listing_detail_response(request, kind=kind, slug=slug)
