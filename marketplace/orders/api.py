"""The order book's JSON API (/api/v1/orders/): list, publish, detail, unpublish, close on
chain; and buying: upload inputs, quote, build the matchOrders transaction.

Every refusal is a 4xx with {"error": sentence, "field": name of the field at fault}: services
raise OrderError (an AppError), the API's exception handler answers it. Nothing is stored by a
refused request.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import (
    AddressField,
    ErrorOutputSerializer,
    FailureOutputSerializer,
    QueryParameter,
    checked_query,
    error_responses,
    first_error,
)
from marketplace.catalogue.pagination import ApiPagination
from marketplace.chain.amounts import ECT_DECIMALS, InvalidAmount, from_units, to_units
from marketplace.chain.orders import UINT256_MAX, order_digest, typed_data
from marketplace.clientip import client_ip
from marketplace.errors import AppError, Forbidden, NotFound
from marketplace.indexer.models import OrderKind
from marketplace.matchmaking.choice import DEFAULT_PRESET, PRESETS, Weights, WeightsRefused
from marketplace.matchmaking.classads import MAX_CHARS
from marketplace.matchmaking.requirements import (
    ENERGY_CLASSES,
    MAX_CORES,
    MAX_DEADLINE_MINUTES,
    MAX_MEMORY_MB,
    Requirements,
    RequirementsRefused,
    parse_requirements,
)
from marketplace.orders import caps, matching, purchases, selectors, services
from marketplace.orders.models import InputFile, Order, OrderStatus
from marketplace.orders.parsing import (
    ARGS_MAX,
    TRUST_MAX,
    input_file_urls,
    order_with_defaults,
)

TAG_NAMES = {"tee": 0, "tdx": 3}
_TAG = r"(?:tee|tdx|[0-9]|[1-5][0-9]|6[0-2])"
_DIGEST = re.compile(r"0x[0-9a-fA-F]{64}")
INT64_MAX = 2**63 - 1
_NOT_YOUR_WALLET = "The requester is not one of your linked wallets."
_BOOK_CLOSED = "The book cannot reach the chain, or the contracts are not deployed."


def _ect(units: int | Decimal) -> str:
    """ECT as a plain decimal string: 2500000000 units → "2.5"."""
    return format(from_units(int(units), decimals=ECT_DECIMALS).normalize(), "f")


# ---------------------------------------------------------------------- serializers


class OrderOutputSerializer(serializers.Serializer):
    digest = serializers.CharField(help_text="EIP-712 digest: the order's id, on chain too.")
    kind = serializers.ChoiceField(choices=OrderKind.choices)
    asset = serializers.CharField(help_text="The app, dataset or pool sold; a request's app.")
    asset_name = serializers.SerializerMethodField()
    listing_url = serializers.SerializerMethodField()
    signer = serializers.CharField()
    price_units = serializers.CharField(source="price", help_text="ECT base units, per task.")
    price = serializers.SerializerMethodField(help_text="ECT per task, as a decimal string.")
    volume = serializers.IntegerField()
    consumed = serializers.IntegerField()
    remaining = serializers.IntegerField()
    tag = serializers.CharField()
    category = serializers.IntegerField(allow_null=True)
    trust = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_reason = serializers.CharField()
    message = serializers.JSONField(help_text="The typed-data message as signed.")
    signature = serializers.SerializerMethodField(
        help_text="Empty when presigned on chain. A request's is shown to its requester only: "
        "its requirements of pools bind only this site's matcher, which alone may match it."
    )
    created_at = serializers.DateTimeField()

    def _listing(self, order: Order):
        return self.context.get("listings", {}).get(order.asset)

    def get_asset_name(self, order: Order) -> str:
        listing = self._listing(order)
        return listing.name if listing else ""

    def get_listing_url(self, order: Order) -> str:
        listing = self._listing(order)
        return listing.get_absolute_url() if listing else ""

    def get_price(self, order: Order) -> str:
        return _ect(order.price)

    def get_signature(self, order: Order) -> str:
        # A signed request is a blank cheque on its requester's escrow for any pool within its
        # max prices: whoever holds the signature can match it on chain, past the requirements
        # it stands in the book with. Only its requester sees it again.
        if order.kind == OrderKind.REQUEST and order.signer.lower() not in self.context["wallets"]:
            return ""
        return order.signature


def _serialize(orders: list[Order], *, many: bool = True, request: Request | None = None) -> Any:
    """The orders as the API shows them to the user of `request` (None: to anyone)."""
    listings = selectors.listings_by_address(
        chain_id=settings.CHAIN_ID, addresses=[order.asset for order in orders]
    )
    user = getattr(request, "user", None)
    wallets = (
        {address.lower() for address in user.wallets.values_list("address", flat=True)}
        if user is not None and user.is_authenticated
        else set()
    )
    context = {"listings": listings, "wallets": wallets}
    data = OrderOutputSerializer(orders, many=True, context=context).data
    return data if many else data[0]


class _Uint(serializers.CharField):
    """A uint256 as a decimal string or an integer."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        # ASCII digits, at most as many as 2**256 has: str.isdigit takes "²", which int()
        # refuses, and int() takes other scripts' digits.
        if not re.fullmatch(r"[0-9]{1,78}", text, re.ASCII) or int(text) > UINT256_MAX:
            raise serializers.ValidationError("Enter a whole number from 0 to 2**256-1.")
        return int(text)


class _Ect(serializers.CharField):
    """An amount of ECT (up to 9 decimals) as base units."""

    def to_internal_value(self, data: Any) -> int:
        try:
            return to_units(str(data), decimals=ECT_DECIMALS, currency="ECT")
        except InvalidAmount as error:
            raise serializers.ValidationError(str(error)) from None


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """`data` checked by `serializer_class`; else an AppError naming the input at fault first
    ("category: ...", "input_files[1]: ...")."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        problem, path, field = first_error(serializer.errors)
        raise AppError(f"{path}: {problem}" if path else problem, field=field)
    return serializer.validated_data


class OrderFiltersSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=OrderKind.choices, required=False)
    asset = AddressField(required=False)
    owner = AddressField(required=False)
    category = serializers.IntegerField(min_value=0, required=False)
    min_trust = serializers.IntegerField(min_value=0, required=False)
    tag = serializers.CharField(required=False)
    min_volume = serializers.IntegerField(min_value=1, required=False)
    price_min = _Ect(required=False, help_text="ECT")
    price_max = _Ect(required=False, help_text="ECT")
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False)

    def validate_tag(self, value: str) -> int:
        bits = 0
        for part in value.split(","):
            part = part.strip().lower()
            if part in TAG_NAMES:
                bits |= 1 << TAG_NAMES[part]
            elif re.fullmatch(r"[0-9]{1,2}", part, re.ASCII) and int(part) < 63:
                bits |= 1 << int(part)
            else:
                raise serializers.ValidationError(
                    f"{part!r} is not a tag: use tee, tdx or bit numbers 0 to 62, comma-separated."
                )
        return bits


def _price_filter(name: str, description: str) -> QueryParameter:
    return QueryParameter.text(
        name,
        pattern=r"[0-9]{1,69}(\.[0-9]{1,9})?",
        hint=f"an amount of ECT such as 2.5, with at most {ECT_DECIMALS} decimals",
        max_length=79,
        description=description,
    )


# What OrderFiltersSerializer reads, as the schema documents it and the list checks it first.
ORDER_FILTERS = [
    QueryParameter.choice("kind", OrderKind.values),
    QueryParameter.address("asset", description="The app, dataset or pool sold; a request's app."),
    QueryParameter.address("owner", description="The signer."),
    QueryParameter.whole_number("category", minimum=0, maximum=2**31 - 1),
    QueryParameter.whole_number("min_trust", minimum=0, maximum=INT64_MAX),
    QueryParameter.text(
        "tag",
        pattern=rf"{_TAG}(,{_TAG})*",
        hint="tee, tdx or bit numbers 0 to 62, comma-separated",
        max_length=200,
        description="Orders whose tag has all of these bits.",
    ),
    QueryParameter.whole_number(
        "min_volume", minimum=1, maximum=INT64_MAX, description="Tasks left, at least."
    ),
    _price_filter("price_min", "ECT per task, at least."),
    _price_filter("price_max", "ECT per task, at most."),
    QueryParameter.choice("status", OrderStatus.values, description="Open ones by default."),
]
DIGEST = OpenApiParameter(
    "digest",
    {"type": "string", "pattern": f"^{_DIGEST.pattern}$"},
    OpenApiParameter.PATH,
    description="The order's EIP-712 digest.",
)


# ---------------------------------------------------------------------- the book


class OrderListApi(APIView):
    """The book: open orders by default, cheapest first, then oldest first."""

    pagination_class = ApiPagination

    @extend_schema(
        parameters=[parameter.openapi() for parameter in ORDER_FILTERS],
        responses=OrderOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = _valid(OrderFiltersSerializer, checked_query(request, ORDER_FILTERS))
        orders = selectors.order_list(
            chain_id=settings.CHAIN_ID,
            filters=selectors.OrderFilters(
                kind=filters.get("kind"),
                asset=filters.get("asset"),
                owner=filters.get("owner"),
                category=filters.get("category"),
                min_trust=filters.get("min_trust"),
                tag_bits=filters.get("tag"),
                min_volume=filters.get("min_volume"),
                price_min=filters.get("price_min"),
                price_max=filters.get("price_max"),
                status=filters.get("status", OrderStatus.OPEN),
            ),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(_serialize(page, request=request))


class PublishResultOutputSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="201, or the status that order alone would get.")
    order = OrderOutputSerializer(required=False, help_text="The order published.")
    error = serializers.CharField(required=False, help_text="Why this order is refused.")
    field = serializers.CharField(required=False, allow_blank=True)


class PublishBatchOutputSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="How many orders are published.")
    results = PublishResultOutputSerializer(many=True, help_text="One per order, in order.")


class PublishRefusedOutputSerializer(ErrorOutputSerializer):
    accepted = serializers.IntegerField(required=False, help_text="0: a batch, all refused.")
    results = PublishResultOutputSerializer(many=True, required=False)

    class Meta:
        ref_name = "PublishRefused"


class OrderPublishApi(APIView):
    """Publish one signed order, or a batch of them ({"orders": [...]}, at most 1000)."""

    permission_classes = [IsAuthenticated]

    class OrderPublishInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=OrderKind.choices)
        order = serializers.JSONField(help_text="The typed-data message (the order's fields).")
        signature = serializers.CharField(
            required=False, allow_blank=True, help_text="0x hex; omit when presigned on chain."
        )
        domain = serializers.JSONField(
            required=False, help_text="The typed data's domain, to be told if it is not ours."
        )

    @extend_schema(
        request=OrderPublishInputSerializer,
        responses={
            201: PolymorphicProxySerializer(
                component_name="OrderPublished",
                serializers=[OrderOutputSerializer, PublishBatchOutputSerializer],
                resource_type_field_name=None,
                many=False,
            ),
            207: OpenApiResponse(
                PublishBatchOutputSerializer, description="Some orders of the batch are refused."
            ),
            400: OpenApiResponse(
                PublishRefusedOutputSerializer,
                description="The order is refused, or every order of the batch is.",
            ),
            **error_responses(
                _409="The order is in the book already, or its signer took it off the book.",
                _503="The book cannot reach the chain, or the contracts are not deployed.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if isinstance(body, dict) and "orders" in body:
            return self._batch(request, body["orders"])
        if not isinstance(body, dict):
            raise AppError("Send a JSON object: {kind, order, signature}.")
        order = services.order_publish(
            kind=body.get("kind"),
            order=body.get("order"),
            signature=body.get("signature", ""),
            domain=body.get("domain"),
            user=request.user,
            site_url=request.build_absolute_uri("/"),
        )
        return Response(_serialize([order], many=False, request=request), status=201)

    def _batch(self, request: Request, items: Any) -> Response:
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise AppError("orders must be a list of {kind, order, signature}.")
        if not items:
            raise AppError(
                "No orders given: orders is an empty list; send at least one "
                f"{{kind, order, signature}} (at most {services.MAX_BATCH}).",
                field="orders",
            )
        submissions = [
            services.Submission(
                kind=item.get("kind"),
                order=item.get("order"),
                signature=item.get("signature", ""),
                domain=item.get("domain"),
            )
            for item in items
        ]
        outcomes = services.orders_publish(
            submissions=submissions, user=request.user, site_url=request.build_absolute_uri("/")
        )
        stored = _serialize([o.order for o in outcomes if o.order is not None], request=request)
        results, index = [], 0
        for outcome in outcomes:
            if outcome.order is not None:
                results.append({"status": 201, "order": stored[index]})
                index += 1
            else:
                results.append(
                    {
                        "status": outcome.error.status,
                        "error": str(outcome.error),
                        "field": outcome.error.field,
                    }
                )
        accepted = sum(1 for outcome in outcomes if outcome.order is not None)
        if not accepted and outcomes:
            return Response(
                {
                    "error": "No order of the batch is published: results says why for each.",
                    "accepted": 0,
                    "results": results,
                },
                status=400,
            )
        status = 201 if accepted == len(outcomes) else 207
        return Response({"accepted": accepted, "results": results}, status=status)


def _order_or_404(digest: str) -> Order:
    if not _DIGEST.fullmatch(digest):
        shown = digest if len(digest) <= 80 else digest[:80] + "…"
        raise AppError(
            f"{shown!r} is not an order digest: expected 0x followed by 64 hexadecimal digits.",
            field="digest",
        )
    order = selectors.order_detail(chain_id=settings.CHAIN_ID, digest=digest)
    if order is None:
        raise NotFound(f"No order {digest} in the book.")
    return order


_ORDER_ERRORS = error_responses(_400="The digest is malformed.", _404="No such order in the book.")


class OrderDetailApi(APIView):
    @extend_schema(parameters=[DIGEST], responses={200: OrderOutputSerializer, **_ORDER_ERRORS})
    def get(self, request: Request, digest: str) -> Response:
        order = _order_or_404(digest)
        return Response(_serialize([order], many=False, request=request))


class OrderUnpublishApi(APIView):
    """Take an order off the book. It stays valid on chain until closed there: the answer
    says so and points to the close transaction."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        parameters=[DIGEST],
        responses={
            200: inline_serializer(
                "OrderUnpublished",
                {
                    "order": OrderOutputSerializer(),
                    "still_valid_on_chain": serializers.BooleanField(),
                    "message": serializers.CharField(),
                    "close_url": serializers.CharField(),
                },
            ),
            **_ORDER_ERRORS,
            **error_responses(_403="Only the order's signer takes it off the book."),
        },
    )
    def post(self, request: Request, digest: str) -> Response:
        order = _order_or_404(digest)
        order = services.order_unpublish(order=order, user=request.user)
        matchable = order.remaining > 0 and order.consumed < order.volume
        return Response(
            {
                "order": _serialize([order], many=False, request=request),
                "still_valid_on_chain": matchable,
                "message": services.UNPUBLISHED
                + " To cancel it for good, send its close transaction from the signer's wallet."
                if matchable
                else "Taken off the book. It has no volume left on chain: nothing more to do.",
                "close_url": request.build_absolute_uri(
                    reverse("api_order_close", args=[order.digest])
                )
                if matchable
                else "",
            }
        )


class OrderCloseApi(APIView):
    """The unsigned manage…Order(CLOSE) transaction for the signer's wallet."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        parameters=[DIGEST],
        responses={
            200: inline_serializer(
                "OrderCloseTransaction", {"transaction": serializers.DictField()}
            ),
            **error_responses(
                _400="The digest is malformed, or the chain would refuse to close the order.",
                _403="Only the order's signer closes it, from that wallet.",
                _404="No such order in the book.",
            ),
        },
    )
    def post(self, request: Request, digest: str) -> Response:
        order = _order_or_404(digest)
        if not services.may_manage(order=order, user=request.user):
            raise Forbidden(
                f"Only the order's signer ({order.signer}), signed in with that wallet, closes "
                "it on chain: the transaction comes from that wallet."
            )
        # The chain's refusal (a ChainError) is a 400 in its words: the API's exception handler.
        transaction = services.order_close_transaction(order=order, sender=order.signer)
        return Response({"transaction": transaction})


class OrderTypedDataApi(APIView):
    """The typed data to sign for an order: missing fields take their defaults (no
    restriction, zero tag, a fresh random salt). Sign it with eth_signTypedData_v4, then
    publish {kind, order: typed_data.message, signature}."""

    class OrderTypedDataInputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=OrderKind.choices)
        order = serializers.DictField(help_text="The fields you set.")

    @extend_schema(
        request=OrderTypedDataInputSerializer,
        responses={
            200: inline_serializer(
                "OrderTypedData",
                {"typed_data": serializers.DictField(), "digest": serializers.CharField()},
            ),
            **error_responses(_503=_BOOK_CLOSED),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(self.OrderTypedDataInputSerializer, request.data)
        domain = services.book_domain()
        order = order_with_defaults(data["kind"], data["order"])
        if data["kind"] == OrderKind.REQUEST:  # the requester's caps hold before it is built
            caps.spending_cap_check(
                chain_id=domain.chain_id,
                requester=order.requester,
                cost=purchases.request_cost(order),
                standing=True,
            )

        return Response(
            {
                "typed_data": typed_data(order, domain),
                "digest": "0x" + order_digest(order, domain).hex(),
            }
        )


# ---------------------------------------------------------------------- buying


def _buyer(request: Request, address: str) -> str:
    wallet = request.user.wallets.filter(address__iexact=address).first()
    if wallet is None:
        raise Forbidden(
            f"{address} is not one of your linked wallets: link it on the Wallets page (sign in "
            "with it), then buy with it.",
            field="requester",
        )
    return wallet.address


class InputOutputSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Its id: DELETE /api/v1/orders/inputs/<token>/.")
    name = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="Where workers fetch it: put it in params.")
    size = serializers.IntegerField(help_text="Bytes.")
    created_at = serializers.DateTimeField()

    def get_url(self, stored: InputFile) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("input_file", args=[stored.token, stored.name])
        )


class InputUploadApi(APIView):
    """Your input files for tasks: upload one (its URL goes into the request's params), or list
    them with your quota. Unused ones are deleted INPUT_RETENTION_DAYS after their upload.
    An input file is public: its URL is in the request, which anyone can read on chain once it
    is matched (keep private data in an encrypted dataset)."""

    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema(
        responses=inline_serializer(
            "InputList",
            {
                "inputs": InputOutputSerializer(many=True),
                "used": inline_serializer(
                    "InputUsage",
                    {"files": serializers.IntegerField(), "bytes": serializers.IntegerField()},
                ),
                "quota": inline_serializer(
                    "InputQuota",
                    {"files": serializers.IntegerField(), "bytes": serializers.IntegerField()},
                ),
                "retention_days": serializers.FloatField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        inputs = selectors.input_list(owner=request.user)
        used = selectors.input_usage(owner=request.user)
        return Response(
            {
                "inputs": InputOutputSerializer(
                    inputs, many=True, context={"request": request}
                ).data,
                "used": {"files": used.files, "bytes": used.bytes},
                "quota": {"files": settings.INPUT_QUOTA_FILES, "bytes": settings.INPUT_QUOTA_BYTES},
                "retention_days": settings.INPUT_RETENTION_DAYS,
            }
        )

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={
            201: InputOutputSerializer,
            **error_responses(
                _413="Over your quota of stored input files: delete some (DELETE "
                "/api/v1/orders/inputs/<token>/)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise AppError("Send the file in the form field 'file'.", field="file")
        stored = services.input_store(
            owner=request.user, file=upload, name=upload.name, client_ip=client_ip(request)
        )
        return Response(
            InputOutputSerializer(stored, context={"request": request}).data, status=201
        )


class InputDeleteApi(APIView):
    """Delete one of your input files (refused while a deal whose tasks may still run uses it)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        parameters=[
            OpenApiParameter("token", str, OpenApiParameter.PATH, pattern=r"^[0-9a-f]{32}$")
        ],
        responses={
            204: None,
            **error_responses(
                _404="You have no input file of this token.",
                _409="A deal whose tasks may still run, or a request in the book, uses it.",
            ),
        },
    )
    def delete(self, request: Request, token: str) -> Response:
        services.input_delete(owner=request.user, token=token)
        return Response(status=204)


class RequirementsInputSerializer(serializers.Serializer):
    """What the pool must offer; every field optional (missing, null or "": no requirement).
    Read by the matchmaker's own parser, so the API and the buy page refuse the same values in
    the same words."""

    cores = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_CORES,
        help_text="CPU cores per worker, at least.",
    )
    memory_mb = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_MEMORY_MB,
        help_text="Memory per worker in MiB, at least.",
    )
    region = serializers.ChoiceField(
        choices=matching.REGIONS,
        required=False,
        allow_blank=True,
        help_text="Where the pool's workers are.",
    )
    energy_class = serializers.ChoiceField(
        choices=ENERGY_CLASSES,
        required=False,
        allow_blank=True,
        help_text="This energy class or better (A: all renewable, E: grid mix).",
    )
    max_price = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="The pool's price at most, ECT per task, as a decimal string such as 0.3.",
    )
    trust = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        help_text="The trust the pool must be able to give (default: the request's trust).",
    )
    deadline_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_DEADLINE_MINUTES,
        help_text="The pool's median time from deal to finished task, at most, in minutes "
        "(a pool without finished tasks has none: it does not fit).",
    )
    expression = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_CHARS,
        help_text="A ClassAd expression over the pool's ad (TARGET: Name, Region, EnergyClass, "
        "Cores, Memory, Workers, Price, Trust, Reliability, MedianSeconds...; MY: the request's "
        'ad), such as TARGET.Workers >= 3 && TARGET.Region != "us-east".',
    )

    class Meta:
        ref_name = "RequirementsInput"

    def to_internal_value(self, data: Any) -> Requirements:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'Send the requirements as an object, such as {"region": "eu-west"}.'
            )
        unknown = sorted(str(key) for key in data if key not in self.fields)
        if unknown:
            name = unknown[0]
            known = ", ".join(self.fields)
            raise serializers.ValidationError(
                {name: f"There is no requirement {name!r}: use {known}."}
            )
        try:
            return parse_requirements(data, regions=matching.REGIONS)
        except RequirementsRefused as refused:
            raise serializers.ValidationError({refused.field: str(refused)}) from None


class WeightsInputSerializer(serializers.Serializer):
    """How much each criterion counts: numbers of 0 or more, at least one above 0; only their
    ratios count. A missing criterion counts 0."""

    price = serializers.FloatField(required=False, min_value=0, help_text="Cheaper is better.")
    speed = serializers.FloatField(
        required=False, min_value=0, help_text="A shorter median time to finish is better."
    )
    trust = serializers.FloatField(required=False, min_value=0, help_text="More trust is better.")
    reliability = serializers.FloatField(
        required=False, min_value=0, help_text="A larger share of tasks finalized is better."
    )
    energy = serializers.FloatField(
        required=False, min_value=0, help_text="A greener energy class is better."
    )

    class Meta:
        ref_name = "WeightsInput"


class PreferencesInputSerializer(serializers.Serializer):
    """How the pools that fit are ranked: a preset, or your weights (not both). Neither: the
    cheapest first."""

    preset = serializers.ChoiceField(
        choices=list(PRESETS),
        required=False,
        help_text="cheapest, fastest, most_trusted, greenest or balanced.",
    )
    weights = WeightsInputSerializer(required=False)

    class Meta:
        ref_name = "PreferencesInput"

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                'Send the preferences as an object: {"preset": "fastest"} or {"weights": '
                '{"price": 1, "speed": 2}}.'
            )
        unknown = sorted(str(key) for key in data if key not in self.fields)
        if unknown:
            raise serializers.ValidationError(
                {unknown[0]: f"There is no preference {unknown[0]!r}: give a preset or weights."}
            )
        if "preset" in data and "weights" in data:
            raise serializers.ValidationError(
                "Give a preset or weights, not both: a preset is a set of weights."
            )
        if "weights" in data:
            weights = data["weights"]
            if not isinstance(weights, dict):
                raise serializers.ValidationError(
                    {"weights": 'Send the weights as an object, such as {"price": 1}.'}
                )
            try:
                return {"preset": "", "weights": Weights.parse(weights)}
            except WeightsRefused as refused:
                at_fault = {refused.field: str(refused)} if refused.field else str(refused)
                raise serializers.ValidationError({"weights": at_fault}) from None
        preset = data.get("preset") or DEFAULT_PRESET
        if not isinstance(preset, str) or preset not in PRESETS:
            raise serializers.ValidationError(
                {
                    "preset": f"There is no preset {str(preset)[:40]!r}: choose one of "
                    f"{', '.join(PRESETS)}, or give weights."
                }
            )
        return {"preset": preset, "weights": PRESETS[preset]}


class MarketAskInputSerializer(serializers.Serializer):
    """A request as the market sees it: what to run, and what pools must offer."""

    requester = AddressField()
    app = AddressField(checksummed=True)
    dataset = AddressField(checksummed=True, required=False, allow_blank=True)
    workerpool = AddressField(
        checksummed=True, required=False, allow_blank=True, help_text="Empty: best offer."
    )
    category = serializers.IntegerField(
        min_value=0, help_text="The Hub's category id: 0 (XS), 1 (S) and so on."
    )
    trust = serializers.IntegerField(
        min_value=0,
        max_value=TRUST_MAX,
        default=0,
        error_messages={
            "max_value": f"At most {TRUST_MAX:,}: the highest trust a buyer may ask here."
        },
    )
    volume = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
    beneficiary = AddressField(checksummed=True, required=False, allow_blank=True)
    requirements = RequirementsInputSerializer(
        required=False, allow_null=True, help_text="What the pool must offer (none: anything)."
    )
    preferences = PreferencesInputSerializer(
        required=False,
        allow_null=True,
        help_text="How to rank the pools that fit (none: the cheapest first).",
    )

    class Meta:
        ref_name = "MarketAskInput"

    def validate_category(self, value: int) -> int:
        if refusal := selectors.category_refusal(value, chain_id=settings.CHAIN_ID):
            raise serializers.ValidationError(refusal)
        return value


class QuoteInputSerializer(MarketAskInputSerializer):
    args = serializers.CharField(required=False, allow_blank=True, default="", max_length=ARGS_MAX)
    # Plain text, not URLField: input_file_urls says which rule a worker's download breaks.
    input_files = serializers.ListField(
        child=serializers.CharField(max_length=2000), required=False, default=list, max_length=20
    )

    class Meta:
        ref_name = "QuoteInput"


class RuledOutOutputSerializer(serializers.Serializer):
    condition = serializers.CharField(
        help_text="Which: region, energy_class, cores, memory_mb, max_price, trust, "
        'deadline_minutes, app (what the app requires), expression, "offer" (no open offer '
        'that takes the request) or "pool" (the pools\' own requirements).'
    )
    words = serializers.CharField(help_text="As the sentence says it.")
    count = serializers.IntegerField(help_text="Pools that fail it (a pool may fail several).")
    first = serializers.IntegerField(
        help_text="Pools for which it is the first that fails: these add up over conditions."
    )


class RefusalOutputSerializer(serializers.Serializer):
    pool = serializers.CharField(help_text="The pool's address.")
    name = serializers.CharField()
    condition = serializers.CharField(help_text="The part of its own Requirements that fails.")


class SuggestionChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The requirement to change (a requirements key).")
    value = serializers.JSONField(
        help_text="Its new value (null: drop it); send it back in requirements as it is."
    )


class SuggestionOutputSerializer(SuggestionChangeSerializer):
    also = SuggestionChangeSerializer(
        many=True,
        help_text="Changes to make with it, when no one change alone lets a pool in (empty "
        "otherwise).",
    )
    words = serializers.CharField(help_text='Such as "raise max price to 0.3 ECT: 3 more pools".')
    pools = serializers.IntegerField(help_text="How many more pools it lets in.")
    names = serializers.ListField(child=serializers.CharField(), help_text="The first few.")


class RankedOutputSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="1 for the best.")
    pool = serializers.CharField(help_text="The pool's address.")
    name = serializers.CharField()
    score = serializers.FloatField(help_text="TOPSIS closeness by your weights, 0 to 1.")
    price = serializers.FloatField(help_text="ECT per task.")
    median_seconds = serializers.FloatField(allow_null=True, help_text="null: no data yet.")
    trust = serializers.FloatField(allow_null=True, help_text="null: no data yet.")
    reliability = serializers.FloatField(
        allow_null=True, help_text="Share of tasks finalized, 0 to 1; null: no data yet."
    )
    energy_class = serializers.CharField(allow_null=True, help_text="A to E; null: not stated.")
    missing = serializers.ListField(
        child=serializers.CharField(),
        help_text="Criteria it has no data for while others do (counted as the worst).",
    )
    pareto = serializers.BooleanField(help_text="On the price/speed line of best trade-offs.")
    offer = serializers.CharField(help_text="The digest of its book offer that prices it.")


class MarketOutputSerializer(serializers.Serializer):
    """Why pools do not fit the request, the changes that would let some in, and the ones
    that fit ranked by your preferences (the quote takes the first)."""

    requirements = serializers.DictField(help_text="The requirements as matched.")
    preset = serializers.CharField(help_text='The preset used ("": your weights).')
    weights = serializers.DictField(
        child=serializers.FloatField(), help_text="The weights used, normalized."
    )
    sentence = serializers.CharField(
        help_text='Such as "Of 12 pools, 7 are outside Europe West; 1 can run it: Lyon Edge Alpha."'
    )
    pools = serializers.IntegerField(help_text="Pools with an open offer.")
    fitting = serializers.IntegerField(help_text="Pools that fit.")
    ruled_out = RuledOutOutputSerializer(many=True)
    refusals = RefusalOutputSerializer(
        many=True, help_text="Pools that refuse the request by their own Requirements."
    )
    suggestions = SuggestionOutputSerializer(many=True)
    ranking = RankedOutputSerializer(many=True, help_text="The first ten that fit, best first.")
    reason = serializers.CharField(help_text='Why the first is first ("" when none fits).')
    without_data = serializers.ListField(
        child=serializers.CharField(), help_text="Criteria no pool has data for: left out."
    )

    class Meta:
        ref_name = "Market"


class QuoteOutputSerializer(serializers.Serializer):
    ready = serializers.BooleanField()
    failures = FailureOutputSerializer(many=True)
    warnings = FailureOutputSerializer(
        many=True,
        help_text="What looks wrong but may be meant (e.g. arguments that read no input): "
        "the purchase can go ahead.",
    )
    command_line = serializers.CharField(
        help_text="The command line a worker runs the app with: {dataset} replaced by the "
        "dataset's path in the task's input folder."
    )
    app_order = serializers.DictField(allow_null=True)
    dataset_order = serializers.DictField(allow_null=True)
    workerpool_order = serializers.DictField(allow_null=True)
    request_typed_data = serializers.DictField(allow_null=True)
    task_price = serializers.CharField()
    total = serializers.CharField()
    total_units = serializers.CharField()
    stake = serializers.CharField()
    wallet = serializers.CharField()
    deposit_needed = serializers.CharField()
    deposit_needed_units = serializers.CharField()
    market = MarketOutputSerializer(
        allow_null=True,
        help_text="The pools as your request sees them: the pool offer is the ranking's first.",
    )


def _wanted(request: Request, data: dict[str, Any]) -> selectors.Wanted:
    """The request `data` describes (MarketAskInputSerializer's), from one of the caller's
    wallets (Forbidden otherwise)."""
    return selectors.Wanted(
        app=data["app"],
        dataset=data.get("dataset", ""),
        workerpool=data.get("workerpool", ""),
        category=data["category"],
        trust=data["trust"],
        volume=data["volume"],
        requester=_buyer(request, data["requester"]),
    )


def _preferences(data: dict[str, Any]) -> dict[str, Any]:
    return data.get("preferences") or {"preset": DEFAULT_PRESET, "weights": PRESETS[DEFAULT_PRESET]}


class PurchaseQuoteApi(APIView):
    """Find the sell orders for what you want: the cheapest app and dataset offers and the
    pool offer that fits your requirements (and the pool's own) and ranks first by your
    preferences; check every matchOrders rule; give the request order to sign, or every
    reason it cannot be bought, in words, with the market your request sees."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=QuoteInputSerializer,
        responses={
            200: QuoteOutputSerializer,
            **error_responses(
                _400="A field is refused (a requirement or a preference too): field names it, "
                "such as requirements.expression or preferences.weights.price.",
                _403=_NOT_YOUR_WALLET,
                _503=_BOOK_CLOSED,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(QuoteInputSerializer, request.data)
        input_file_urls(data["input_files"], site_url=request.build_absolute_uri("/"))
        wanted = _wanted(request, data)
        preferences = _preferences(data)
        params = purchases.default_params(args=data["args"], input_files=data["input_files"])
        quote = purchases.purchase_quote(
            wanted=wanted,
            params=params,
            beneficiary=data.get("beneficiary", ""),
            requirements=data.get("requirements") or Requirements(),
            weights=preferences["weights"],
            preset=preferences["preset"],
        )
        found = [quote.app_order, quote.dataset_order, quote.workerpool_order]
        serialized = iter(_serialize([o for o in found if o is not None], request=request))
        app_order, dataset_order, workerpool_order = (
            next(serialized) if o is not None else None for o in found
        )
        return Response(
            {
                "ready": not quote.failures,
                "failures": [{"check": f.check, "message": f.message} for f in quote.failures],
                "warnings": [{"check": w.check, "message": w.message} for w in quote.warnings],
                "command_line": quote.command_line,
                "app_order": app_order,
                "dataset_order": dataset_order,
                "workerpool_order": workerpool_order,
                "request_typed_data": quote.request_typed_data,
                "task_price": _ect(quote.task_price),
                "total": _ect(quote.total),
                "total_units": str(quote.total),
                "stake": _ect(quote.stake),
                "wallet": _ect(quote.wallet),
                "deposit_needed": _ect(quote.deposit_needed),
                "deposit_needed_units": str(quote.deposit_needed),
                "market": matching.market_summary(quote.market) if quote.market else None,
            }
        )


class MarketExplainApi(APIView):
    """What the market has for a request, before any quote: why pools do not fit your
    requirements (per condition, and the pools that refuse it by their own Requirements), the
    smallest changes that would let some in, and the pools that fit ranked by your
    preferences, as the quote will choose. Reads the book only (no escrow, no chain); each
    request is kept as demand that pool operators see."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=MarketAskInputSerializer,
        responses={
            200: MarketOutputSerializer,
            **error_responses(
                _400="A field is refused: field names it, such as requirements.expression or "
                "preferences.weights.price.",
                _403=_NOT_YOUR_WALLET,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(MarketAskInputSerializer, request.data)
        preferences = _preferences(data)
        market = purchases.purchase_market(
            wanted=_wanted(request, data),
            requirements=data.get("requirements") or Requirements(),
            weights=preferences["weights"],
            preset=preferences["preset"],
            beneficiary=data.get("beneficiary", ""),
        )
        matching.demand_record(market)
        return Response(matching.market_summary(market))


class PurchaseMatchApi(APIView):
    """Check the signed request and the chosen orders once more and give the matchOrders
    transaction for the buyer's wallet, with the id the deal will have."""

    permission_classes = [IsAuthenticated]

    class PurchaseMatchInputSerializer(serializers.Serializer):
        request = serializers.JSONField(help_text="The signed request's typed-data message.")
        signature = serializers.CharField()
        app_order = serializers.CharField()
        dataset_order = serializers.CharField(required=False, allow_blank=True)
        workerpool_order = serializers.CharField()

    @extend_schema(
        request=PurchaseMatchInputSerializer,
        responses={
            200: inline_serializer(
                "MatchTransaction",
                {
                    "transaction": serializers.DictField(),
                    "dealid": serializers.CharField(),
                    "deal_url": serializers.CharField(),
                    "request_digest": serializers.CharField(),
                },
            ),
            **error_responses(
                _400="The request or an order is refused; failures lists every rule the match "
                "would break.",
                _403=_NOT_YOUR_WALLET,
                _503=_BOOK_CLOSED,
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = _valid(self.PurchaseMatchInputSerializer, request.data)
        requester = data["request"].get("requester") if isinstance(data["request"], dict) else ""
        buyer = _buyer(request, str(requester))
        match = purchases.purchase_match_transaction(
            sender=buyer,
            request=data["request"],
            signature=data["signature"],
            app_order=data["app_order"],
            dataset_order=data.get("dataset_order") or None,
            workerpool_order=data["workerpool_order"],
            site_url=request.build_absolute_uri("/"),
        )
        return Response(
            {
                "transaction": match.transaction,
                "dealid": match.dealid,
                "deal_url": reverse("deal_detail", args=[match.dealid]),
                "request_digest": match.request_digest,
            }
        )
