"""Trading pages: a listing's offers (and its owner's register and sell tools), the buy
page of an app, and the choice of the app to run on a pool. The wallet does the signing and
sending (frontend/static/frontend/js/wallet.js); the JSON endpoints its tools call (register,
registered, sell: the page's session, with its CSRF token) build what it signs and sends, and
say in words what is wrong (an AppError or a ChainError, answered by the API's exception
handler: {"error": sentence, "field": ...}).

web3 is imported inside the functions that talk to the node: this module loads with the
URLconf in every process."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import AddressField, error_responses
from marketplace.catalogue import selectors as catalogue_selectors
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.registration import listing_mark_registered, listing_register_transaction
from marketplace.chain.selectors import current_hub
from marketplace.downloads import download
from marketplace.errors import Forbidden, form_error
from marketplace.indexer.models import Category
from marketplace.matchmaking.choice import PRESET_LABELS, duration
from marketplace.matchmaking.explain import NO_OFFER, POOL_REFUSES
from marketplace.notfound import NotFound
from marketplace.orders import matching, purchases, selectors
from marketplace.orders.forms import WEIGHT_FIELDS, MarketForm, SellForm
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.parsing import TRUST_MAX
from marketplace.parsers import LimitedJSONParser
from worker.command_line import task_command_line


def _listing(request: HttpRequest, kind: str, slug: str) -> Listing:
    listing = catalogue_selectors.listing_detail(kind=kind, slug=slug)
    if listing is None or not catalogue_selectors.listing_visible_to(
        listing=listing, user=request.user
    ):
        raise NotFound("No such listing, or it is not published.")
    return listing


def _owns(request: HttpRequest, listing: Listing) -> bool:
    return request.user.is_authenticated and request.user.pk == listing.owner_id


def _owned(request: HttpRequest, kind: str, slug: str, *, refusal: str) -> Listing:
    """The listing, when the signed-in user provides it; Forbidden saying `refusal` if not."""
    listing = _listing(request, kind, slug)
    if not _owns(request, listing):
        raise Forbidden(refusal)
    return listing


def _linked(request: HttpRequest, address: str) -> str:
    """`address` as the user's linked wallet keeps it; Forbidden when it is none of theirs."""
    wallet = request.user.wallets.filter(address__iexact=address).first()
    if wallet is None:
        raise Forbidden("Send it from one of your linked wallets: connect that wallet first.")
    return wallet.address


@require_GET
def listing_offers(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    """The offers panel of a listing page (loaded by htmx: the page itself is cached)."""
    listing = _listing(request, kind, slug)
    orders = Order.objects.none()
    mine = Order.objects.none()
    if listing.chain_address:
        orders = Order.objects.filter(
            chain_id=settings.CHAIN_ID, asset=listing.chain_address, status=OrderStatus.OPEN
        ).exclude(kind="request")[:20]
    owner = _owns(request, listing)
    if owner and listing.chain_address:
        mine = Order.objects.filter(
            chain_id=settings.CHAIN_ID, asset=listing.chain_address, signer=listing.owner_wallet
        ).exclude(status=OrderStatus.OPEN)[:20]
    names = {c.catid: c.name for c in Category.objects.filter(chain_id=settings.CHAIN_ID)}
    orders = list(orders)
    # An offer kept for one app names it (its listing, when public here).
    restricted_to = {
        app.chain_address: app
        for app in Listing.objects.filter(
            kind=Market.APP,
            is_public=True,
            chain_address__in={order.app_restrict for order in orders if order.app_restrict},
        )
    }
    for order in orders:
        order.category_name = names.get(order.category, order.category)
        order.app_listing = restricted_to.get(order.app_restrict)
    # The buy pages a buyer of this listing starts from with it chosen (a dataset's apps).
    buy_with = MARKETS[listing.kind].buy_with(listing) if listing.chain_address else []
    context = {
        "listing": listing,
        "buy_with": buy_with,
        "orders": orders,
        "mine": mine,
        "is_owner": owner,
        "sell_form": SellForm(listing=listing) if owner and listing.chain_address else None,
        "can_register": owner and listing.is_public and not listing.chain_address,
    }
    return render(request, "orders/offers.html", context)


# ---------------------------------------------------------------------- the provider's tools

_NOT_REGISTERING = "Only the listing's provider registers it on chain."
_LISTING = [
    OpenApiParameter("kind", {"type": "string", "enum": Market.values}, OpenApiParameter.PATH),
    OpenApiParameter(
        "slug", {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"}, OpenApiParameter.PATH
    ),
]
_NO_LISTING = "No such listing, or it is not published."


class _ProviderToolApi(APIView):
    """A tool of a listing's page for its provider, called by trade.js with the page's session
    and CSRF token."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]


class ListingRegisterApi(_ProviderToolApi):
    """{"sender"} → the registry transaction for the owner's wallet, and the asset's address."""

    parser_classes = [LimitedJSONParser]

    class InputSerializer(serializers.Serializer):
        sender = AddressField(help_text="The wallet that sends it: one linked to your account.")

        class Meta:
            ref_name = "ListingRegisterInput"

    class OutputSerializer(serializers.Serializer):
        transaction = serializers.DictField(
            help_text="For eth_sendTransaction: from, to, data, value, chainId and gas, as hex."
        )
        address = serializers.CharField(help_text="The asset's address once it is mined.")

        class Meta:
            ref_name = "ListingRegisterTransaction"

    @extend_schema(
        tags=["offers"],
        operation_id="listing_register",
        parameters=_LISTING,
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                _400="The listing cannot be registered (not approved, already registered), or "
                "the registry would refuse it.",
                _403=f"{_NOT_REGISTERING} Or the sender is not one of your linked wallets.",
                _404=_NO_LISTING,
                _503="The chain's node does not answer.",
            ),
        },
    )
    def post(self, request: Request, kind: str, slug: str) -> Response:
        listing = _owned(request, kind, slug, refusal=_NOT_REGISTERING)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sender = _linked(request, serializer.validated_data["sender"])
        built = listing_register_transaction(listing=listing, sender=sender, hub=current_hub())
        return Response(self.OutputSerializer(built).data)


class ListingRegisteredApi(_ProviderToolApi):
    """Link the listing to its asset once the registration is mined."""

    class OutputSerializer(serializers.Serializer):
        address = serializers.CharField(help_text="The asset's address.")

        class Meta:
            ref_name = "ListingRegistered"

    @extend_schema(
        tags=["offers"],
        operation_id="listing_registered",
        parameters=_LISTING,
        request=None,
        responses={
            200: OutputSerializer,
            **error_responses(
                _400="The registration is not on chain yet, or the listing cannot be registered.",
                _403=_NOT_REGISTERING,
                _404=_NO_LISTING,
                _503="The chain's node does not answer.",
            ),
        },
    )
    def post(self, request: Request, kind: str, slug: str) -> Response:
        listing = _owned(request, kind, slug, refusal=_NOT_REGISTERING)
        address = listing_mark_registered(listing=listing, hub=current_hub())
        return Response(self.OutputSerializer({"address": address}).data)


# The sell form's fields depend on the market (SellForm): documented as a form of strings.
_SELL_FORM = {
    "type": "object",
    "properties": {"volume": {"type": "integer", "minimum": 1}},
    "additionalProperties": {"type": "string"},
    "required": ["volume"],
    "description": "The listing's sell form: volume, and an app's or a dataset's price per task "
    "(and restrictions), or a pool's price per category (price_XS, ...) and trust.",
}


class ListingSellApi(_ProviderToolApi):
    """The sell form → the typed data of each order to sign (the wallet signs them, then they
    are published through /api/v1/orders/publish/)."""

    parser_classes = [FormParser, MultiPartParser]

    class OutputSerializer(serializers.Serializer):
        kind = serializers.CharField(
            help_text='The kind to publish them as: "app", "dataset" or "workerpool".'
        )
        orders = serializers.ListField(
            child=serializers.DictField(),
            help_text="EIP-712 typed data of each order, for eth_signTypedData_v4.",
        )

        class Meta:
            ref_name = "ListingSellOrders"

    @extend_schema(
        tags=["offers"],
        operation_id="listing_sell",
        parameters=_LISTING,
        request={
            "application/x-www-form-urlencoded": _SELL_FORM,
            "multipart/form-data": _SELL_FORM,
        },
        responses={
            200: OutputSerializer,
            **error_responses(
                _403="Only the listing's provider sells it.",
                _404=_NO_LISTING,
            ),
        },
    )
    def post(self, request: Request, kind: str, slug: str) -> Response:
        listing = _owned(request, kind, slug, refusal="Only the listing's provider sells it.")
        form = SellForm(request.data, listing=listing)
        if not form.is_valid():
            raise form_error(form)
        orders = form.typed_data()
        return Response(self.OutputSerializer({"kind": form.order_kind, "orders": orders}).data)


@require_GET
def input_file(request: HttpRequest, token: str, name: str) -> FileResponse:
    """A task's input file, as a download: never rendered on the site's origin (an uploaded
    .html or .svg would otherwise run as the site's own page)."""
    path = f"inputs/{token}/{name}"
    if not token.isalnum() or name != get_valid_filename(name) or not default_storage.exists(path):
        raise NotFound("No such input file.")
    response = download(
        request, default_storage.open(path), filename=name, content_type="application/octet-stream"
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# The query string's keys that are no part of a request (a file input's names; the pool a
# pool's page sends its buyers here with, carried as "workerpool" from then on).
_NOT_ASKED = ("inputs", "pool")


@login_required
@require_GET
def app_buy(request: HttpRequest, slug: str) -> HttpResponse:
    """The buy page of an app: the wallet flow runs in wallet.js against the orders API.
    Nothing is preselected that cannot work: an app that needs a dataset is offered its
    datasets only (the one of its cheapest run chosen, as its card shows), never "No dataset".
    The form reads its values from the query string (a suggestion's link, or the form sent
    without JavaScript), and the market panel shows what the request finds before any
    signature; the form asks the panel (app_market) again as it changes."""
    listing = _listing(request, Market.APP, slug)
    app = listing.app
    asked = request.GET
    datasets = list(
        Listing.objects.filter(dataset__allowed_apps=app, is_public=True)
        .exclude(chain_address="")
        .select_related("dataset")
        .order_by("name")
    )
    chosen = None
    if datasets and app.needs_dataset:
        # The dataset of the cheapest run the app's card shows, else the first by name.
        run = selectors.cheapest_runs(chain_id=settings.CHAIN_ID, listings=[listing])[listing.pk]
        cheapest = run.dataset.pk if run is not None and run.dataset is not None else None
        chosen = next((d for d in datasets if d.pk == cheapest), datasets[0])
    # A dataset's page sends its buyers here with it (?dataset=its address): it is chosen.
    dataset = asked.get("dataset", "")
    chosen = next((d for d in datasets if dataset and d.chain_address == dataset), chosen)
    pools = list(
        Listing.objects.filter(kind=Market.POOL, is_public=True)
        .exclude(chain_address="")
        .order_by("name")
    )
    # So does a pool's (?pool=its address), through the choice of an app (pool_buy).
    pool = asked.get("workerpool") or asked.get("pool", "")
    chosen_pool = next((p for p in pools if pool and p.chain_address == pool), None)
    wallets = list(request.user.wallets.all())
    # Only categories a pool sells (to anyone, or to one of the buyer's wallets) are offered;
    # with a pool chosen, only that pool's.
    on_offer = selectors.categories_on_offer(
        chain_id=settings.CHAIN_ID,
        workerpools=[pool.chain_address for pool in pools],
        requesters=[wallet.address for wallet in wallets],
    )
    for pool in pools:
        pool.categories_on_offer = " ".join(map(str, on_offer.get(pool.chain_address, [])))
    sold = {category for categories in on_offer.values() for category in categories}
    categories = [
        category
        for category in Category.objects.filter(chain_id=settings.CHAIN_ID).order_by("catid")
        if category.catid in sold
    ]
    # The category asked for is selected; otherwise the first one, as the browser shows it.
    asked_category = next((c for c in categories if str(c.catid) == asked.get("category")), None)
    chosen_category = asked_category or (categories[0] if categories else None)
    requester = next(
        (w for w in wallets if w.address.lower() == asked.get("requester", "").lower()),
        wallets[0] if wallets else None,
    )
    values = {key: asked.get(key, "") for key in asked if key not in _NOT_ASKED}
    values.update(
        dataset=chosen.chain_address if chosen else "",
        workerpool=chosen_pool.chain_address if chosen_pool else "",
        category=str(chosen_category.catid) if chosen_category else "",
        trust=asked.get("trust") or str(selectors.DEFAULT_TRUST),
        volume=asked.get("volume") or "1",
        requester=requester.address if requester else "",
    )
    context = {
        "listing": listing,
        "datasets": datasets,
        "chosen_dataset": chosen,
        "pools": pools,
        "chosen_pool": chosen_pool,
        "categories": categories,
        "asked_category": asked_category,
        "wallets": wallets,
        "requester": requester,
        "trust": values["trust"],
        "volume": values["volume"],
        "default_trust": selectors.DEFAULT_TRUST,
        "trust_max": TRUST_MAX,
        "args": asked.get("args", app.default_args),
        "needs_dataset": app.needs_dataset,
        "command_line": task_command_line(
            asked.get("args", app.default_args),
            dataset_file=chosen.dataset.task_file_name if chosen else None,
        ),
    }
    if listing.chain_address:
        # A request sent (the form without JavaScript, a suggestion's link) is demand; the page
        # as first opened is not.
        context.update(
            _market_panel(
                request, listing, values, record="category" in asked, offered=bool(categories)
            )
        )
    return render(request, "orders/buy.html", context)


@login_required
@require_safe
def app_market(request: HttpRequest, slug: str) -> HttpResponse:
    """The market panel of an app's buy page for the request its form describes (GET, the
    form's fields): why pools do not fit, the changes that would let some in, and the fitting
    ones ranked, as the quote will choose. Each ask is kept as demand for pool operators to
    see (not a HEAD: it writes nothing)."""
    listing = _listing(request, Market.APP, slug)
    if not listing.chain_address:
        raise NotFound("This app is not registered on chain yet: nothing can be bought of it.")
    values = {key: request.GET.get(key, "") for key in request.GET if key not in _NOT_ASKED}
    context = {
        "listing": listing,
        **_market_panel(request, listing, values, record=request.method == "GET", offered=True),
    }
    return render(request, "orders/_market.html", context)


def _condition(key: str, market: matching.Market) -> str:
    """How the panel names a condition the request puts on pools (`key`: the explanation's)."""
    r = market.requirements
    # Each worded only when asked for: a requirement not given is None.
    words = {
        NO_OFFER: lambda: "An open offer that takes this request",
        POOL_REFUSES: lambda: "The pool's own requirements",
        "region": lambda: f"Region {matching.REGION_NAMES.get(r.region, r.region)}",
        "energy_class": lambda: f"Energy class {r.energy_class} or better",
        "cores": lambda: f"At least {r.cores} cores per worker",
        "memory_mb": lambda: f"At least {r.memory_mb} MiB of memory per worker",
        "max_price": lambda: f"At most {r.max_price} ECT per task",
        "trust": lambda: f"Trust {r.trust}",
        "deadline_minutes": lambda: f"Done within {r.deadline_minutes} minutes (median)",
        "app": lambda: f"What the app requires: {market.app_requirement}",
        "expression": lambda: f"Your expression: {r.expression}",
    }
    return words[key]() if key in words else key


def _plain(value: float) -> str:
    """A number as people write it: no exponent, no trailing zeros."""
    return format(Decimal(f"{value:.6g}").normalize(), "f")


def _duration(seconds: float | None) -> str:
    return "" if seconds is None else duration(seconds)


def _changed(values: dict[str, str], changes: dict[str, object]) -> str:
    """The query string of the request with each field of `changes` set to its value (None:
    cleared)."""
    query = QueryDict(mutable=True)
    query.update({key: text for key, text in values.items() if key not in changes and text != ""})
    for field, value in changes.items():
        if value is not None:
            query[field] = str(value)
    return query.urlencode()


def _changes(suggestion: dict) -> dict[str, object]:
    """A suggestion's changes, by field: its own and those made with it."""
    return {
        suggestion["field"]: suggestion["value"],
        **{also["field"]: also["value"] for also in suggestion["also"]},
    }


# What a standing request's form takes from the buy form (orders.standing_views.StandingForm).
_STANDING_FIELDS = (
    "dataset",
    "workerpool",
    "category",
    "trust",
    "volume",
    "args",
    "requester",
    "max_price",
    "cores",
    "memory_mb",
    "region",
    "energy_class",
    "deadline_minutes",
    "expression",
    "preset",
    *WEIGHT_FIELDS,
)


def _standing_href(listing: Listing, values: dict[str, str]) -> str:
    """The new standing request's page, filled in with this request: the fields set, and the
    arguments as given even when empty (left out, they are the app's default)."""
    query = QueryDict(mutable=True)
    query["app"] = listing.chain_address
    query.update(
        {
            key: values[key]
            for key in _STANDING_FIELDS
            if values.get(key) or (key == "args" and key in values)
        }
    )
    return f"{reverse('standing_new')}?{query.urlencode()}"


def _market_panel(
    request: HttpRequest,
    listing: Listing,
    values: dict[str, str],
    *,
    record: bool,
    offered: bool,
) -> dict[str, Any]:
    """The market panel's context for the request `values` describe (the MarketForm's
    fields, as strings): the form (its errors), and when it is valid the market, its summary
    (as the API gives it) and what the panel shows of it. `offered`: some pool sells a
    category (else the panel says so and asks nothing)."""
    form = MarketForm(values, wallets=[wallet.address for wallet in request.user.wallets.all()])
    context: dict[str, Any] = {
        "market_form": form,
        "weight_fields": [form[name] for name in WEIGHT_FIELDS],
        "market": None,
        "offered": offered,
    }
    if not offered or not form.is_valid():
        return context
    market = purchases.purchase_market(
        wanted=form.wanted(app=listing.chain_address),
        requirements=form.requirements,
        weights=form.weights,
        preset=form.preset_name,
    )
    if record:
        matching.demand_record(market)
    summary = matching.market_summary(market)
    buy_url = reverse("app_buy", args=[listing.slug])
    ranking = [
        {
            **row,
            "price_text": _plain(row["price"]),
            "time_text": _duration(row["median_seconds"]),
            "trust_text": "" if row["trust"] is None else _plain(row["trust"]),
            "reliability_text": (
                "" if row["reliability"] is None else f"{_plain(row['reliability'] * 100)} %"
            ),
            "score_text": f"{row['score']:.2f}",
        }
        for row in summary["ranking"]
    ]
    context.update(
        market=market,
        summary=summary,
        preset_label=PRESET_LABELS.get(market.preset, "your weights").lower(),
        ranking=ranking,
        ruled_out=[
            {**item, "condition_text": _condition(item["condition"], market)}
            for item in summary["ruled_out"]
        ],
        suggestions=[
            {
                **suggestion,
                "href": f"{buy_url}?{_changed(values, _changes(suggestion))}",
                "value_text": "" if suggestion["value"] is None else str(suggestion["value"]),
                # The changes made with it, for the page's script (each value as text).
                "also_json": json.dumps(
                    [
                        [also["field"], "" if also["value"] is None else str(also["value"])]
                        for also in suggestion["also"]
                    ]
                ),
            }
            for suggestion in summary["suggestions"]
        ],
        # pareto_svg escapes every name it writes (they come from strangers) and uses no style
        # or script: the template marks it safe.
        chart=market.chart(),
        standing_href=_standing_href(listing, values),
    )
    return context


@login_required
@require_GET
def pool_buy(request: HttpRequest, slug: str) -> HttpResponse:
    """Buying a run on a pool: a run is bought on an app's buy page, so the buyer chooses the
    app here, and its buy page opens with this pool chosen."""
    pool = _listing(request, Market.POOL, slug)
    apps = Listing.objects.filter(kind=Market.APP, is_public=True).exclude(chain_address="")
    on_offer = pool.chain_address and selectors.categories_on_offer(
        chain_id=settings.CHAIN_ID,
        workerpools=[pool.chain_address],
        requesters=[wallet.address for wallet in request.user.wallets.all()],
    )
    context = {"pool": pool, "apps": apps.order_by("name"), "on_offer": bool(on_offer)}
    return render(request, "orders/pool_buy.html", context)
