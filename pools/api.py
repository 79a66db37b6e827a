"""The worker API (/api/v1/workers/): a worker agent signs a challenge with its wallet
(/api/v1/auth/challenge/ then /api/v1/auth/token/), then with its bearer token asks for work,
sends heartbeats and progress, uploads its result, fetches the dataset key of its own live
replicate, reports its contribution and reveal, and hears what to do next.

Every call is the token's wallet acting for itself: a replicate of another worker is a 404.
Calls are rate limited per worker ("workers" throttle scope).
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from marketplace.accounts.models import ApiToken
from marketplace.addresses import is_address, normalize
from marketplace.api import ADDRESS_SCHEMA, AddressField, error_responses
from marketplace.chain.selectors import current_hub
from marketplace.errors import AppError, NotFound
from marketplace.parsers import LimitedJSONParser
from pools import membership, scheduler, work
from pools.models import PoolMember, Replicate
from worker.failures import KINDS as FAILURE_KINDS
from worker.failures import STDERR_TAIL_CHARS, STDERR_TAIL_LINES


class IsWorkerToken(BasePermission):
    """A wallet token (not a browser session): the worker is the token's wallet."""

    message = (
        "Workers authenticate with a wallet token: sign a challenge at /api/v1/auth/challenge/, "
        "then send Authorization: Bearer <token>."
    )

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiToken)


class WorkerApi(APIView):
    permission_classes = [IsWorkerToken]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "workers"

    def worker(self, request: Request) -> str:
        return request.auth.wallet_address

    def replicate(self, request: Request, pk: int) -> Replicate:
        """The caller's replicate `pk`; NotFound when it has none of that number."""
        replicate = (
            Replicate.objects.select_related("task")
            .filter(pk=pk, worker=self.worker(request))
            .first()
        )
        if replicate is None:
            raise NotFound(f"You have no replicate {pk}.")
        return replicate


def _invalid(serializer: serializers.Serializer) -> AppError:
    """The first problem of an invalid input, "<field>: <problem>", naming the field."""
    field, problems = next(iter(serializer.errors.items()))
    return AppError(f"{field}: {problems[0]}", field=field)


def _state(replicate: Replicate) -> dict:
    step = work.instruction(replicate)
    return {
        "replicate": replicate.pk,
        "status": replicate.status,
        "percent": replicate.percent,
        "lease_until": replicate.lease_until,
        "instruction": step.action,
        "reason": step.reason,
    }


# Refusals of every worker call (401, CSRF's 403 and 429 are generated: marketplace.api_schema).
SESSION_REFUSED = "A browser session: workers call with a wallet token."
NO_REPLICATE = "You have no such replicate."
POOL = OpenApiParameter(
    "address",
    ADDRESS_SCHEMA,
    OpenApiParameter.PATH,
    description="The pool's address.",
)

STATE = inline_serializer(
    "ReplicateState",
    {
        "replicate": serializers.IntegerField(),
        "status": serializers.CharField(),
        "percent": serializers.FloatField(),
        "lease_until": serializers.DateTimeField(),
        "instruction": serializers.ChoiceField(
            choices=["run", "contribute", "wait", "reveal", "done", "stop"]
        ),
        "reason": serializers.CharField(),
    },
)


WORK_ANSWER = inline_serializer(
    "WorkAnswer",
    {"work": serializers.DictField(allow_null=True), "reason": serializers.CharField()},
)


class WorkRequestApi(WorkerApi):
    """Ask for a replicate of a task of `pool` (any pool the site schedules when omitted): its
    description, or {"work": null} and why."""

    class WorkRequestInputSerializer(serializers.Serializer):
        pool = AddressField(required=False)

    @extend_schema(
        request=WorkRequestInputSerializer,
        responses={
            200: OpenApiResponse(WORK_ANSWER, description="No work now: reason says why."),
            201: OpenApiResponse(WORK_ANSWER, description="A replicate, assigned to you."),
            **error_responses(
                _403=f"{SESSION_REFUSED} Or you are not a member of the pool: how to apply."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.WorkRequestInputSerializer(data=request.data)
        if not data.is_valid():
            raise AppError("pool must be the pool's address (0x and 40 hex digits).")
        pool = data.validated_data.get("pool")
        pool = normalize(pool) if pool else None
        try:
            replicate = scheduler.replicate_assign(
                chain_id=settings.CHAIN_ID, worker=self.worker(request), pool=pool
            )
        except scheduler.NoWork as nothing:
            return Response({"work": None, "reason": str(nothing)})
        return Response({"work": work.replicate_description(replicate), "reason": ""}, status=201)


class HeartbeatApi(WorkerApi):
    """I am alive, this far: renews the lease; says what to do next."""

    class HeartbeatInputSerializer(serializers.Serializer):
        percent = serializers.FloatField(min_value=0, max_value=100, required=False)
        message = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(
        request=HeartbeatInputSerializer,
        responses={200: STATE, **error_responses(_403=SESSION_REFUSED, _404=NO_REPLICATE)},
    )
    def post(self, request: Request, pk: int) -> Response:
        replicate = self.replicate(request, pk)
        data = self.HeartbeatInputSerializer(data=request.data)
        if not data.is_valid():
            raise _invalid(data)
        replicate = scheduler.replicate_heartbeat(
            replicate=replicate,
            percent=data.validated_data.get("percent"),
            message=data.validated_data.get("message", ""),
        )
        return Response(_state(replicate))


class ReplicateStateApi(WorkerApi):
    @extend_schema(
        responses={200: STATE, **error_responses(_403=SESSION_REFUSED, _404=NO_REPLICATE)}
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_state(self.replicate(request, pk)))


class DatasetKeyApi(WorkerApi):
    """The dataset's key, base64: only for the caller's own live replicate."""

    @extend_schema(
        responses={
            200: inline_serializer("DatasetKey", {"key": serializers.CharField()}),
            **error_responses(
                _403=f"{SESSION_REFUSED} Or the replicate is not live any more.",
                _404=f"{NO_REPLICATE} Or its task uses no dataset of this site.",
            ),
        }
    )
    def get(self, request: Request, pk: int) -> Response:
        key = work.dataset_key(self.replicate(request, pk))
        response = Response({"key": base64.b64encode(key).decode()})
        response["Cache-Control"] = "no-store"
        return response


class ResultUploadApi(WorkerApi):
    """The result archive (multipart "archive") and its sha256 ("digest", 0x hex)."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "archive": {"type": "string", "format": "binary"},
                    "digest": {"type": "string"},
                },
            }
        },
        responses={
            200: STATE,
            **error_responses(
                _403=SESSION_REFUSED,
                _404=NO_REPLICATE,
                _409="The replicate takes no result now.",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        replicate = self.replicate(request, pk)
        upload = request.FILES.get("archive")
        if upload is None:
            raise AppError("Send the archive in the form field 'archive'.", field="archive")
        replicate = work.result_upload(
            replicate=replicate, archive=upload, size=upload.size, digest=request.data.get("digest")
        )
        return Response(_state(replicate))


class _RawTextField(serializers.CharField):
    """Text as a program wrote it, NUL characters included (the service cleans it: DRF's
    CharField would refuse the whole report for one NUL)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.validators = [
            validator
            for validator in self.validators
            if not isinstance(validator, ProhibitNullCharactersValidator)
        ]


class ReplicateReportApi(WorkerApi):
    """Report what happened: {"event": "contributed" | "revealed" | "failed", "reason",
    "app_fault", "failure_kind", "exit_code", "stderr_tail"} (for a failure: app_fault true when
    the app itself failed, not the worker's machine; failure_kind its class (worker.failures),
    which the reports of other workers must agree on before a task is given up; for a run of the
    app that failed, its exit status and the last lines of its stderr, which the buyer reads)."""

    parser_classes = [LimitedJSONParser]

    class ReportInputSerializer(serializers.Serializer):
        event = serializers.ChoiceField(choices=["contributed", "revealed", "failed"])
        reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
        app_fault = serializers.BooleanField(required=False, default=False)
        failure_kind = serializers.ChoiceField(choices=list(FAILURE_KINDS), required=False)
        exit_code = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=-(2**63),
            max_value=2**63 - 1,
            help_text="The app's exit status (null: it did not exit, a trap or limit stopped it).",
        )
        stderr_tail = _RawTextField(
            required=False,
            allow_blank=True,
            trim_whitespace=False,
            max_length=STDERR_TAIL_CHARS,
            help_text=f"The last lines (at most {STDERR_TAIL_LINES}) the app wrote to stderr.",
        )

    @extend_schema(
        request=ReportInputSerializer,
        responses={
            200: STATE,
            **error_responses(
                _403=SESSION_REFUSED,
                _404=NO_REPLICATE,
                _409="The event does not follow from the replicate's state, or the Hub has "
                "not seen it yet.",
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        replicate = self.replicate(request, pk)
        data = self.ReportInputSerializer(data=request.data)
        if not data.is_valid():
            raise AppError(
                "event must be contributed, revealed or failed; app_fault true or "
                f"false; failure_kind one of {', '.join(FAILURE_KINDS)}; exit_code an "
                f"integer or null; stderr_tail text of at most {STDERR_TAIL_CHARS} "
                "characters (its last lines)."
            )
        event = data.validated_data["event"]
        if event == "failed":
            replicate = work.replicate_fail(
                replicate=replicate,
                reason=data.validated_data.get("reason", ""),
                app_fault=data.validated_data["app_fault"],
                kind=data.validated_data.get("failure_kind", ""),
                exit_code=data.validated_data.get("exit_code"),
                stderr_tail=data.validated_data.get("stderr_tail", ""),
            )
        else:
            report = (
                work.replicate_contributed if event == "contributed" else work.replicate_revealed
            )
            replicate = report(replicate=replicate, hub=current_hub())
        return Response(_state(replicate))


def _json_kind(value: object) -> str:
    """What a JSON value is, in a refusal's words: "a number", "null"..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _pool_address(address: str) -> str:
    """The pool's address of the URL, checksummed; refused unless it is one."""
    if not is_address(address):
        raise AppError("The pool's address is 0x and 40 hex digits.", field="address")
    return normalize(address)


def _membership(member: PoolMember) -> dict:
    verdict = membership.member_standing(
        chain_id=member.chain_id, workerpool=member.workerpool, worker=member.worker
    )
    return {
        "pool": member.workerpool,
        "status": member.status,
        "admitted_via": member.admitted_via,
        "strikes": member.strikes,
        "good_standing": verdict.ok,
        "reason": verdict.reason,
        "updated_at": member.updated_at,
    }


class MembershipSerializer(serializers.Serializer):
    pool = serializers.CharField()
    status = serializers.ChoiceField(choices=["requested", "active", "refused", "removed"])
    admitted_via = serializers.ChoiceField(choices=["", "hand", "policy"])
    strikes = serializers.IntegerField()
    good_standing = serializers.BooleanField()
    reason = serializers.CharField()
    updated_at = serializers.DateTimeField()


class PoolTermsSerializer(serializers.Serializer):
    pool = serializers.CharField()
    owner = serializers.CharField()
    hub = serializers.CharField(help_text="Where bonds are kept (the Hub's bond function).")
    admission = serializers.ChoiceField(choices=["hand", "automatic"])
    bond_min = serializers.CharField(help_text="ECT base units; 0: no bond asked.")
    score_min = serializers.IntegerField()
    strikes_allowed = serializers.IntegerField(
        help_text="Contradicted failure reports that cost a member its standing."
    )
    seize_bond_on_contradiction = serializers.BooleanField()
    membership = MembershipSerializer(allow_null=True)


CHAIN_AWAY = "The index does not know the pool yet and the chain cannot be reached to check it."


class PoolTermsApi(WorkerApi):
    """What a pool asks of its workers (admission, bond, score) and where the token's wallet
    stands in it (null: it never asked to join)."""

    @extend_schema(
        parameters=[POOL],
        responses={
            200: PoolTermsSerializer,
            **error_responses(
                _400="The address is malformed.",
                _403=SESSION_REFUSED,
                _404="No pool is registered at this address.",
                _503=CHAIN_AWAY,
            ),
        },
    )
    def get(self, request: Request, address: str) -> Response:
        pool = _pool_address(address)
        owner = membership.pool_owner(chain_id=settings.CHAIN_ID, workerpool=pool)
        if owner is None:
            raise NotFound(f"No pool is registered at {pool} on this chain.")
        policy = membership.policy_for(chain_id=settings.CHAIN_ID, workerpool=pool)
        member = PoolMember.objects.filter(
            chain_id=settings.CHAIN_ID, workerpool=pool, worker=self.worker(request)
        ).first()
        return Response(
            {
                "pool": pool,
                "owner": owner,
                "hub": current_hub().address,
                "admission": policy.admission,
                "bond_min": str(int(policy.bond_min)),
                "score_min": policy.score_min,
                "strikes_allowed": membership.strikes_allowed(),
                "seize_bond_on_contradiction": policy.seize_bond_on_contradiction,
                "membership": _membership(member) if member else None,
            }
        )


class PoolApplyApi(WorkerApi):
    """Ask to join a pool with the token's wallet: admitted at once when the pool admits by
    conditions you meet, refused (saying what is missing) when you do not, or kept for the
    operator's approval when it admits by hand. Asking again changes nothing."""

    class ApplyInputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=300, required=False, allow_blank=True)

    @extend_schema(
        parameters=[POOL],
        request=ApplyInputSerializer,
        responses={
            200: MembershipSerializer,
            **error_responses(
                _403=SESSION_REFUSED,
                _404="No pool is registered at this address.",
                _409="The pool's operator removed you: only it can admit you again.",
                _503=CHAIN_AWAY,
            ),
        },
    )
    def post(self, request: Request, address: str) -> Response:
        pool = _pool_address(address)
        data = self.ApplyInputSerializer(data=request.data)
        note = request.data.get("note", "") if isinstance(request.data, dict) else ""
        if not isinstance(note, str):  # DRF's CharField would take 5 as "5"
            raise AppError(
                f"note must be a string of at most 300 characters, not {_json_kind(note)}.",
                field="note",
            )
        if not data.is_valid():
            raise AppError("note: at most 300 characters.", field="note")
        member = membership.member_request(
            chain_id=settings.CHAIN_ID,
            workerpool=pool,
            worker=self.worker(request),
            note=data.validated_data.get("note", ""),
        )
        return Response(_membership(member))


class MembershipListApi(WorkerApi):
    """The token wallet's memberships and requests, and whether it is in good standing."""

    @extend_schema(
        responses={200: MembershipSerializer(many=True), **error_responses(_403=SESSION_REFUSED)}
    )
    def get(self, request: Request) -> Response:
        members = PoolMember.objects.filter(
            chain_id=settings.CHAIN_ID, worker=self.worker(request)
        ).order_by("-updated_at", "id")[:100]
        return Response([_membership(member) for member in members])
