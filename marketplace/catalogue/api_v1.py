"""The catalogue in the versioned API: one list and one detail endpoint per market
(apps/, datasets/, pools/: each market's url_prefix), from marketplace.catalogue.api's code,
and each listing's reviews (read by anyone, written by verified buyers). They replace
/api/listings/."""

from __future__ import annotations

from typing import ClassVar

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import ratelimit
from marketplace.api import error_responses
from marketplace.catalogue import selectors, services
from marketplace.catalogue.api import (
    FILTER_PARAMETERS,
    NOT_FOUND,
    SLUG,
    ListingDetailOutputSerializer,
    ListingOutputSerializer,
    listing_detail_response,
    listing_list_response,
    visible_listing,
)
from marketplace.catalogue.forms import RatingForm
from marketplace.catalogue.markets import MarketAdapter
from marketplace.catalogue.models import Rating
from marketplace.catalogue.pagination import ApiPagination
from marketplace.catalogue.posting import posting_limits, too_fast
from marketplace.errors import AppError, Forbidden, TooManyRequests, form_error


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


class ReviewReplyOutputSerializer(serializers.Serializer):
    body = serializers.CharField(source="reply")
    replied_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(source="reply_edited_at", allow_null=True)


class ReviewOutputSerializer(serializers.Serializer):
    """A review. `verified`: its author's wallet paid for `dealid`, a deal of the listing with a
    finalized task (the "verified purchase" badge); only verified reviews count in the
    listing's rating. Unverified ones were given before purchases were checked."""

    id = serializers.IntegerField()
    author = serializers.CharField(source="user.username")
    stars = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField()
    body = serializers.CharField()
    verified = serializers.BooleanField(source="is_verified")
    dealid = serializers.SerializerMethodField(help_text="The deal that verifies it; null: none.")
    deal_url = serializers.SerializerMethodField(help_text="That deal in the API; null: none.")
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)
    reply = serializers.SerializerMethodField(help_text="The listing owner's answer; null: none.")

    def get_dealid(self, review: Rating) -> str | None:
        return review.dealid or None

    def get_deal_url(self, review: Rating) -> str | None:
        if not review.dealid:
            return None
        url = reverse("api_v1_deal_detail", args=[review.dealid])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(ReviewReplyOutputSerializer(allow_null=True))
    def get_reply(self, review: Rating) -> dict | None:
        return ReviewReplyOutputSerializer(review).data if review.reply else None


class ReviewInputSerializer(serializers.Serializer):
    """What the listing page's review form takes (checked by the same form)."""

    stars = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(required=False, allow_blank=True, help_text="At most 120.")
    body = serializers.CharField(
        required=False, allow_blank=True, help_text="At most 4,000 characters."
    )


class _MarketReviewsApi(APIView):
    kind: ClassVar[str]
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get(self, request: Request, slug: str) -> Response:
        # All of them, as the listing's page shows them (a listing has one per buyer at most).
        listing = visible_listing(request, kind=self.kind, slug=slug)
        reviews = [r for r in selectors.listing_reviews(listing=listing) if not r.is_hidden]
        return Response(
            ReviewOutputSerializer(reviews, many=True, context={"request": request}).data
        )

    def post(self, request: Request, slug: str) -> Response:
        listing = visible_listing(request, kind=self.kind, slug=slug)
        if not isinstance(request.data, dict):
            raise AppError("Send a JSON object: {stars, title, body}.")
        form = RatingForm({key: request.data.get(key) for key in ("stars", "title", "body")})
        if not form.is_valid():
            raise form_error(form, by_label=False)
        limits = posting_limits(request, "RATING_RATE")
        if refused := ratelimit.take(*limits):
            raise TooManyRequests(too_fast(refused, "ratings"))
        existed = Rating.objects.filter(listing=listing, user=request.user).exists()
        try:
            review = services.rating_set(listing=listing, user=request.user, **form.cleaned_data)
        except (services.NotAllowed, services.NotABuyer) as error:
            ratelimit.give_back(*limits)
            raise Forbidden(str(error)) from error
        except services.CatalogueError as error:
            ratelimit.give_back(*limits)
            raise AppError(str(error)) from error
        data = ReviewOutputSerializer(review, context={"request": request}).data
        return Response(data, status=200 if existed else 201)


def reviews_api(market: MarketAdapter) -> type[APIView]:
    """The reviews of one of `market`'s listings (<url_prefix>/<slug>/reviews/): read them, or
    post yours."""
    noun = market.noun
    read = extend_schema(
        summary=f"Reviews of a {noun}",
        description="Its reviews, verified ones first (newest first), then ratings given before "
        "purchases were checked (unverified, not counted). Hidden ones are left out.",
        parameters=[SLUG],
        responses={200: ReviewOutputSerializer(many=True), **NOT_FOUND},
    )
    write = extend_schema(
        summary=f"Review a {noun}",
        description="Your review (stars, and optionally a title and a text): the first one "
        "creates it (201), later ones edit it (200). Only a buyer may: one of your wallets paid "
        f"for a deal of this {noun} with a finalized task; the review names that deal.",
        parameters=[SLUG],
        request=ReviewInputSerializer,
        responses={
            200: ReviewOutputSerializer,
            201: ReviewOutputSerializer,
            **error_responses(
                _400="The stars, title or text are refused, or the listing is not published.",
                _403="Not a buyer of it (the error says why and what to do), or its owner.",
                _404="No such listing, or one you may not see.",
                _429="Too many reviews posted: wait, then try again.",
            ),
        },
    )
    view = type(f"{_name(market)}ReviewsApi", (_MarketReviewsApi,), {"kind": market.kind})
    return extend_schema_view(get=read, post=write)(view)
