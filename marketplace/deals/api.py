"""Read-only JSON API of deals and tasks, as the chain indexer projects them.

Ids (dealid, taskid, digests) are 0x and 64 lower-case hex digits; addresses are checksummed.
Amounts come as `{"units": "<ECT base units>", "ect": "<decimal ECT>"}`, both strings, exact.
`unconfirmed` marks a row last changed in a block a reorganization could still take back.
A refusal is {"error": sentence} and, for a 400, "field": the parameter at fault.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.api import AddressField, QueryParameter, checked_query, error_responses
from marketplace.catalogue.pagination import ApiPagination
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.deals import selectors
from marketplace.errors import AppError, NotFound
from marketplace.indexer.models import ContributionStatus, TaskStatus
from marketplace.indexer.selectors import index_freshness


def _malformed_id(value: str, *, field: str, noun: str) -> AppError:
    return AppError(
        f"{value[:80]!r} is not a {noun} id: expected 0x followed by 64 hexadecimal digits.",
        field=field,
    )


# ---------------------------------------------------------------------------- fields


def amount(units: int) -> dict[str, str]:
    """ECT base units as the API shows amounts: exact strings, in units and in ECT."""
    return {"units": str(units), "ect": f"{from_units(units, decimals=ECT_DECIMALS):f}"}


class AmountOutputSerializer(serializers.Serializer):
    units = serializers.CharField(help_text="ECT base units (9 decimals), as a string.")
    ect = serializers.CharField(help_text="The same amount in ECT, as a decimal string.")


@extend_schema_field(AmountOutputSerializer)
class AmountField(serializers.Field):
    """An amount of ECT base units (a Units field or an int)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, units) -> dict[str, str]:
        return amount(int(units))


class OptionalCharField(serializers.CharField):
    """A text the index keeps empty when absent (no dataset, no callback, no digest yet): null."""

    def __init__(self, **kwargs) -> None:
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value) -> str | None:
        return value or None


class ChainRowOutputSerializer(serializers.Serializer):
    block_number = serializers.IntegerField(help_text="Block of the row's last change.")
    unconfirmed = serializers.SerializerMethodField(
        help_text="The last change comes from a block a reorganization could still take back."
    )

    def get_unconfirmed(self, row) -> bool:
        return self.context["freshness"].is_unconfirmed(row.block_number)


# ---------------------------------------------------------------------------- outputs


class ContributionOutputSerializer(ChainRowOutputSerializer):
    worker = serializers.CharField()
    status = serializers.ChoiceField(choices=ContributionStatus.choices)
    result_hash = serializers.CharField(help_text="keccak256(taskid, digest): the commitment.")
    digest = OptionalCharField(help_text="The revealed result digest; null before the reveal.")
    contributed_at = serializers.DateTimeField(allow_null=True)


class TaskOutputSerializer(ChainRowOutputSerializer):
    taskid = serializers.CharField()
    dealid = serializers.CharField()
    idx = serializers.IntegerField(help_text="Index of the task in its deal.")
    workerpool = serializers.CharField()
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    initialized_at = serializers.DateTimeField(allow_null=True)
    contribution_deadline = serializers.DateTimeField(allow_null=True)
    reveal_deadline = serializers.DateTimeField(allow_null=True)
    final_deadline = serializers.DateTimeField(
        allow_null=True, help_text="After it, an unfinished task can be claimed (refunded)."
    )
    consensus = OptionalCharField(help_text="The agreed result hash; null before consensus.")
    result_digest = OptionalCharField()
    results = OptionalCharField(help_text="Where the result is, once finalized.")
    contribution_count = serializers.IntegerField(source="contributions")
    reveals = serializers.IntegerField()
    finished_at = serializers.DateTimeField(allow_null=True)
    given_up = serializers.BooleanField(
        help_text="Failed because its pool gave it up before the final deadline (the payer "
        "refunded at once), not by a claim after it."
    )
    contributions = ContributionOutputSerializer(many=True, source="contribution_rows")


class DealOutputSerializer(ChainRowOutputSerializer):
    dealid = serializers.CharField()
    tx_hash = serializers.CharField(help_text="The matchOrders transaction.")
    app = serializers.CharField()
    dataset = OptionalCharField(help_text="Null: the deal uses no dataset.")
    workerpool = serializers.CharField()
    requester = serializers.CharField()
    beneficiary = serializers.CharField()
    payer = serializers.CharField()
    callback = OptionalCharField()
    app_owner = serializers.CharField()
    dataset_owner = OptionalCharField()
    workerpool_owner = serializers.CharField()
    category = serializers.IntegerField()
    category_name = serializers.CharField(allow_null=True)
    trust = serializers.IntegerField()
    tag = serializers.CharField()
    volume = serializers.IntegerField(help_text="Tasks bought.")
    app_price = AmountField(help_text="Per task.")
    dataset_price = AmountField(help_text="Per task.")
    workerpool_price = AmountField(help_text="Per task.")
    task_price = AmountField(help_text="What the payer pays per task.")
    total_price = serializers.SerializerMethodField()
    worker_stake = AmountField(help_text="What each contributing worker locks.")
    scheduler_reward_ratio = serializers.IntegerField(help_text="Percent.")
    start_time = serializers.DateTimeField()
    time_ref = serializers.IntegerField(help_text="The category's reference time, in seconds.")
    params = serializers.CharField(help_text="JSON: args, input files…")
    tasks_completed = serializers.IntegerField()
    tasks_failed = serializers.IntegerField()
    url = serializers.SerializerMethodField(help_text="The deal's page.")

    @extend_schema_field(AmountOutputSerializer)
    def get_total_price(self, deal) -> dict[str, str]:
        return amount(deal.task_price * deal.volume)

    def get_url(self, deal) -> str:
        return reverse("deal_detail", args=[deal.dealid])


class ProgressOutputSerializer(serializers.Serializer):
    volume = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    running = serializers.IntegerField(help_text="Initialized, not finished.")
    waiting = serializers.IntegerField(help_text="Not initialized yet.")


class DealDetailOutputSerializer(DealOutputSerializer):
    app_order = serializers.CharField(help_text="Digest of the app order consumed.")
    dataset_order = OptionalCharField()
    workerpool_order = serializers.CharField()
    request_order = serializers.CharField()
    progress = serializers.SerializerMethodField()
    tasks = TaskOutputSerializer(many=True, source="task_rows", help_text="Initialized ones.")

    @extend_schema_field(ProgressOutputSerializer)
    def get_progress(self, deal) -> dict:
        return ProgressOutputSerializer(selectors.deal_progress(deal)).data


# ---------------------------------------------------------------------------- views


def _detail_responses(serializer: type[serializers.Serializer], noun: str) -> dict:
    return {
        200: serializer,
        **error_responses(
            _400=f"The {noun}id is malformed.", _404=f"No such {noun} indexed (yet)."
        ),
    }


def _id_parameter(name: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, {"type": "string", "pattern": "^0x[0-9a-fA-F]{64}$"}, OpenApiParameter.PATH
    )


class DealFilterSerializer(serializers.Serializer):
    """Addresses in any letter case, taken checksummed (as the index keeps them)."""

    requester = AddressField(checksummed=True, required=False)
    beneficiary = AddressField(checksummed=True, required=False)
    app = AddressField(checksummed=True, required=False)
    dataset = AddressField(checksummed=True, required=False)
    workerpool = AddressField(checksummed=True, required=False)
    address = AddressField(
        checksummed=True,
        required=False,
        help_text="Any party: requester, beneficiary, payer, an asset or an asset's owner.",
    )


# What DealFilterSerializer reads, as the schema documents it and the list checks it first.
DEAL_FILTERS = [
    QueryParameter.address(name, description=str(field.help_text or ""))
    for name, field in DealFilterSerializer().fields.items()
]


class DealListApi(APIView):
    pagination_class = ApiPagination

    @extend_schema(
        summary="Deals",
        description="Deals of the chain, newest first, filtered by the parties named.",
        parameters=[parameter.openapi() for parameter in DEAL_FILTERS],
        responses=DealOutputSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        filters = DealFilterSerializer(data=checked_query(request, DEAL_FILTERS))
        if not filters.is_valid():
            field, messages = next(iter(filters.errors.items()))
            raise AppError(str(messages[0]), field=field)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            selectors.deal_list(filters=selectors.DealFilters(**filters.validated_data)),
            request,
            view=self,
        )
        context = {"freshness": index_freshness()}
        return paginator.get_paginated_response(
            DealOutputSerializer(page, many=True, context=context).data
        )


class DealDetailApi(APIView):
    @extend_schema(
        summary="One deal",
        description="A deal with its initialized tasks and their contributions, and how far "
        "its tasks are. 404 until the indexer has seen the deal's block.",
        parameters=[_id_parameter("dealid")],
        responses=_detail_responses(DealDetailOutputSerializer, "deal"),
    )
    def get(self, request: Request, dealid: str) -> Response:
        key = selectors.bytes32_key(dealid)
        if key is None:
            raise _malformed_id(dealid, field="dealid", noun="deal")
        deal = selectors.deal_detail(dealid=key)
        if deal is None:
            raise NotFound(
                f"No deal {key} in the index: a deal just sent appears once its "
                "block is indexed (see /api/chain/status/)."
            )
        context = {"freshness": index_freshness()}
        return Response(DealDetailOutputSerializer(deal, context=context).data)


class TaskDetailApi(APIView):
    @extend_schema(
        summary="One task",
        description="A task with its contributions. 404 until it is initialized and indexed.",
        parameters=[_id_parameter("taskid")],
        responses=_detail_responses(TaskOutputSerializer, "task"),
    )
    def get(self, request: Request, taskid: str) -> Response:
        key = selectors.bytes32_key(taskid)
        if key is None:
            raise _malformed_id(taskid, field="taskid", noun="task")
        task = selectors.task_detail(taskid=key)
        if task is None:
            raise NotFound(
                f"No task {key} in the index: a task appears once the pool's "
                "scheduler initialized it and its block is indexed."
            )
        context = {"freshness": index_freshness()}
        return Response(TaskOutputSerializer(task, context=context).data)
