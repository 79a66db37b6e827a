"""Read-only JSON API of the catalogue, for wallets, agents and other clients: what its
endpoints under /api/v1/ (marketplace.catalogue.api_v1) answer, and the retired /api/listings/,
which says where to ask instead."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import QueryParameter, checked_query, error_responses
from marketplace.catalogue import selectors
from marketplace.catalogue.forms import ListingFilterForm
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, Market
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.errors import AppError, form_error
from marketplace.indexer import selectors as index_selectors
from marketplace.orders import selectors as order_selectors


class RunOutputSerializer(serializers.Serializer):
    """The cheapest complete run of one task a listing takes part in, from open offers anyone
    may take now (marketplace.orders.selectors.cheapest_runs)."""

    price = serializers.SerializerMethodField(help_text="ECT per task: app + dataset + pool.")
    category = serializers.CharField(help_text="The pool offer's task category.")
    app = serializers.CharField(source="app.slug", help_text="The app's slug.")
    dataset = serializers.CharField(
        source="dataset.slug", allow_null=True, help_text="The dataset's slug; null: none."
    )
    workerpool = serializers.CharField(source="workerpool.slug", help_text="The pool's slug.")

    def get_price(self, run) -> str:
        return str(from_units(run.price, decimals=ECT_DECIMALS))


class ListingOutputSerializer(serializers.Serializer):
    """A listing. `price` is what an app or a dataset asks per task, whatever the category
    (null for pools, which price each category); `cheapest_run` is what the order book offers
    now (null: no open offer that makes a run)."""

    kind = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    summary = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    owner_wallet = serializers.CharField()
    chain_address = serializers.CharField()
    status = serializers.CharField()
    price = serializers.DecimalField(
        max_digits=30,
        decimal_places=9,
        allow_null=True,
        help_text="Apps and datasets: ECT per task, whatever the category. Pools: null.",
    )
    price_from = serializers.DecimalField(
        max_digits=30,
        decimal_places=9,
        allow_null=True,
        help_text="The lowest price the listing asks (a pool's cheapest category).",
    )
    cheapest_run = serializers.SerializerMethodField()
    rating_avg = serializers.DecimalField(
        max_digits=3, decimal_places=2, help_text="Stars of verified buyers' reviews, on average."
    )
    rating_count = serializers.IntegerField(
        help_text="Reviews of verified buyers (their wallet paid for a finished task of it)."
    )
    reputation = serializers.IntegerField(
        help_text="0 to 1000, what sort=reputation orders by: an app's or a dataset's blend of "
        "its chain record, usage, revenue and rating; a pool's reliability."
    )
    tags = serializers.SerializerMethodField()
    url = serializers.CharField(source="get_absolute_url")

    def get_tags(self, listing) -> list[str]:
        return [tag.slug for tag in listing.tags.all()]

    @extend_schema_field(RunOutputSerializer(allow_null=True))
    def get_cheapest_run(self, listing) -> dict | None:
        run = self.context.get("runs", {}).get(listing.pk)
        return None if run is None else RunOutputSerializer(run).data


class PriceSerializer(serializers.Serializer):
    category = serializers.CharField()
    price = serializers.DecimalField(max_digits=30, decimal_places=9)


class OfferPriceSerializer(serializers.Serializer):
    """The cheapest open offer anyone may take: of an app or a dataset (category null), or of
    one category of a pool."""

    category = serializers.CharField(allow_null=True)
    price = serializers.SerializerMethodField(help_text="ECT per task.")

    def get_price(self, offer) -> str:
        return str(from_units(offer.price, decimals=ECT_DECIMALS))

    def to_representation(self, offer) -> dict:
        data = super().to_representation(offer)
        data["category"] = offer.category or None
        return data


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
    unconfirmed = serializers.BooleanField(
        help_text="Some of these figures come from blocks a reorganization could take back."
    )


class ReliabilityWindowSerializer(serializers.Serializer):
    days = serializers.IntegerField(allow_null=True, help_text="null: all time.")
    finalized = serializers.IntegerField()
    failed = serializers.IntegerField()
    given_up = serializers.IntegerField(help_text="Failed by the scheduler's giveUp.")
    claimed = serializers.IntegerField(help_text="Failed by a claim after the final deadline.")


class ReliabilityCategorySerializer(serializers.Serializer):
    name = serializers.CharField()
    time_ref = serializers.IntegerField(help_text="The category's reference time, seconds.")
    finalized = serializers.IntegerField()
    in_time = serializers.IntegerField(help_text="Finalized within the reference time.")
    median = serializers.FloatField(help_text="Seconds from the deal's start to finalized.")
    p95 = serializers.FloatField(help_text="Seconds; 95 % of the tasks took at most this.")


class ReliabilityWorkerSerializer(serializers.Serializer):
    address = serializers.CharField()
    score = serializers.IntegerField(help_text="The Hub's score, earned in any pool.")
    contributions = serializers.IntegerField(help_text="To this pool's tasks.")
    accurate = serializers.IntegerField()
    faulty = serializers.IntegerField()


class ReliabilityOutputSerializer(serializers.Serializer):
    """A pool's reliability record, from the chain alone (pools.records)."""

    figure = serializers.IntegerField(
        allow_null=True, help_text="0 to 1000 (see formula); null: no task ended yet."
    )
    formula = serializers.CharField(help_text="The figure with its inputs, in words.")
    recent_ended = serializers.IntegerField(help_text="The ended tasks the figure is over.")
    recent_finalized = serializers.IntegerField()
    recent_in_time = serializers.IntegerField()
    windows = ReliabilityWindowSerializer(many=True, help_text="7 days, 30 days, all time.")
    categories = ReliabilityCategorySerializer(many=True)
    workers_seen = serializers.IntegerField()
    workers = ReliabilityWorkerSerializer(many=True, help_text="The most active.")
    pool_stake_seized_units = serializers.CharField(
        source="pool_stake_seized", help_text="ECT base units seized from the pool's stake."
    )
    workers_stake_seized_units = serializers.CharField(
        source="workers_stake_seized",
        help_text="ECT base units seized from its workers for wrong results.",
    )
    bonds_seized_units = serializers.CharField(
        source="bonds_seized", help_text="ECT base units seized from its workers' bonds."
    )


class ListingDetailOutputSerializer(ListingOutputSerializer):
    description = serializers.CharField()
    prices = PriceSerializer(
        many=True,
        source="prices_in_order",
        help_text="A pool's price per category, as it asks (apps and datasets: none, see price).",
    )
    offers = serializers.SerializerMethodField()
    rating_histogram = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Verified reviews of 1 to 5 stars; see <url_prefix>/<slug>/reviews/.",
    )
    on_chain = serializers.SerializerMethodField()
    reliability = serializers.SerializerMethodField()

    @extend_schema_field(OfferPriceSerializer(many=True))
    def get_offers(self, listing) -> list[dict]:
        """What the order book offers now (empty: no open offer)."""
        return OfferPriceSerializer(self.context.get("offers", []), many=True).data

    @extend_schema_field(OnChainOutputSerializer(allow_null=True))
    def get_on_chain(self, listing) -> dict | None:
        record = self.context.get("on_chain")
        return None if record is None else OnChainOutputSerializer(record).data

    @extend_schema_field(ReliabilityOutputSerializer(allow_null=True))
    def get_reliability(self, listing) -> dict | None:
        """Pools: their reliability record (null: not indexed yet; other markets: null)."""
        record = self.context.get("reliability")
        return None if record is None else ReliabilityOutputSerializer(record).data


def _query_parameter(name: str, field: forms.Field, *, only: str = "") -> QueryParameter:
    """A list filter of the list pages' forms as the API takes it: the form's own rule. `only`:
    the markets (plural) that have this filter, when not all of them."""
    description = f"{only} only." if only else ""
    if isinstance(field, forms.TypedChoiceField) and field.coerce is int:
        choices = tuple(int(value) for value, _ in field.choices if value != "")
        return QueryParameter.whole_number(
            name,
            minimum=min(choices),
            maximum=max(choices),
            choices=choices,
            description=description,
        )
    if isinstance(field, forms.ChoiceField):
        values = [str(value) for value, _ in field.choices if value != ""]
        return QueryParameter.choice(name, values, description=description)
    if isinstance(field, forms.DecimalField):
        whole = field.max_digits - field.decimal_places
        return QueryParameter.text(
            name,
            pattern=rf"[0-9]{{1,{whole}}}(\.[0-9]{{1,{field.decimal_places}}})?",
            hint=f"an amount of ECT such as 2.5, with at most {field.decimal_places} decimals",
            max_length=field.max_digits + 1,
            description=description or "ECT per task.",
        )
    if isinstance(field, forms.SlugField):
        return QueryParameter.text(
            name,
            pattern=r"[-a-zA-Z0-9_]+",
            hint="a tag's slug (letters, digits, - and _)",
            max_length=field.max_length,
            description=description,
        )
    if isinstance(field, forms.CharField):
        return QueryParameter.text(
            name,
            pattern=r"[^\x00]*",
            hint=f"text of at most {field.max_length} characters",
            max_length=field.max_length,
            description=description or "Words to search for.",
        )
    raise TypeError(f"No API rule for the list filter {name} ({type(field).__name__}).")


def _filter_parameters(kind: str) -> list[QueryParameter]:
    """The query parameters of market `kind`'s list: its list page's filters (page is the
    paginator's)."""
    common = ListingFilterForm.base_fields
    market = MARKETS[kind]
    return [
        _query_parameter(name, field, only="" if name in common else market.plural)
        for name, field in market.filter_form_class.base_fields.items()
        if name != "page"
    ]


FILTER_PARAMETERS = {kind: _filter_parameters(kind) for kind in MARKETS}


def listing_list_response(request: Request, *, kind: str, view: APIView) -> Response:
    """A page of the published listings of market `kind` filtered by the query string (the
    list page's filters); AppError for the first filter at fault."""
    form = MARKETS[kind].filter_form(checked_query(request, FILTER_PARAMETERS[kind]))
    if not form.is_valid():
        raise form_error(form, by_label=False)
    paginator = view.pagination_class()
    page = paginator.paginate_queryset(
        selectors.listing_list(kind=kind, filters=form.filters()), request, view=view
    )
    page = list(page)
    runs = order_selectors.cheapest_runs(chain_id=settings.CHAIN_ID, listings=page)
    return paginator.get_paginated_response(
        ListingOutputSerializer(page, many=True, context={"runs": runs}).data
    )


def visible_listing(request: Request, *, kind: str, slug: str) -> Listing:
    """Listing `slug` of market `kind`; 404 when there is none or `request.user` may not see
    it."""
    listing = selectors.listing_detail(kind=kind, slug=slug)
    if listing is None or not selectors.listing_visible_to(listing=listing, user=request.user):
        raise Http404(
            f"No {MARKETS[kind].noun} {slug!r} that you may see: check the slug, or "
            "search the list for it."
        )
    return listing


def listing_detail_response(request: Request, *, kind: str, slug: str) -> Response:
    """Listing `slug` of market `kind` with its prices and on-chain record; 404 when there is
    none or `request.user` may not see it."""
    listing = visible_listing(request, kind=kind, slug=slug)
    record = index_selectors.asset_record(
        chain_address=listing.chain_address,
        owner_wallet=listing.owner_wallet,
        freshness=index_selectors.index_freshness(),
    )
    context = {
        "on_chain": record,
        "offers": order_selectors.book_prices(chain_id=settings.CHAIN_ID, listing=listing),
        "runs": order_selectors.cheapest_runs(chain_id=settings.CHAIN_ID, listings=[listing]),
        "reliability": MARKETS[kind].listing_record(listing),
    }
    return Response(ListingDetailOutputSerializer(listing, context=context).data)


SLUG = OpenApiParameter(
    "slug", {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}, OpenApiParameter.PATH
)
NOT_FOUND = error_responses(_404="No such listing, or one you may not see.")


class RetiredListingApi(APIView):
    """/api/listings/ (and /api/listings/<kind>/<slug>/) is retired: the versioned API lists
    each market's listings (/api/v1/apps/, /api/v1/datasets/, /api/v1/pools/) with the same
    filters and answers. A 410 that gives the URL to ask instead, when the request says which
    market it is about."""

    @extend_schema(exclude=True)
    def get(self, request: Request, kind: str = "", slug: str = "") -> Response:
        instead = "/api/v1/apps/, /api/v1/datasets/ or /api/v1/pools/"
        if slug and kind in Market.values:
            instead = reverse(f"api_v1_{kind}_detail", args=[slug])
        elif not slug and (kind := request.query_params.get("kind")) in Market.values:
            query = request.query_params.copy()
            del query["kind"]
            instead = reverse(f"api_v1_{kind}_list")
            if query:
                instead += f"?{query.urlencode()}"
        raise AppError(
            f"{request.path} is retired: ask {instead} instead (the same filters and answers, "
            "an endpoint per market).",
            status=410,
            code="gone",
        )
