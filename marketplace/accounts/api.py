"""JSON API of accounts: Sign-In with Ethereum, for scripts and for the site's own pages.

Scripts get a bearer token by signing a challenge with their wallet: POST /api/v1/auth/challenge/
returns an EIP-4361 message, the script signs it (`personal_sign`), POST /api/v1/auth/token/
trades message and signature for a token sent as `Authorization: Bearer <token>`, and DELETE
token/ revokes it. The challenge and token endpoints take no session, so they need no CSRF
token; revoking takes the bearer token only, so a page cannot revoke one behind a user's back.

Browsers sign in the same way into their session (wallet.js): POST /accounts/siwe/message/,
then /accounts/siwe/verify/, with the page's CSRF token, signed in or not.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace import ratelimit
from marketplace.accounts import selectors, services, siwe
from marketplace.accounts.authentication import WalletTokenAuthentication
from marketplace.accounts.models import ApiToken
from marketplace.api import ADDRESS_SCHEMA, error_responses
from marketplace.clientip import client_ip
from marketplace.errors import AppError, TooManyRequests
from marketplace.parsers import LimitedJSONParser

# A SIWE message and its signature fit in well under 4 KB; refusing larger bodies before
# parsing keeps hostile JSON (deep nesting, huge strings) away from the parser.
MAX_BODY_BYTES = 8 * 1024
NONCES_PER_MINUTE = 30


def _siwe_site(request: HttpRequest) -> dict[str, str]:
    return {
        "domain": settings.SIWE_DOMAIN or request.get_host(),
        "uri": request.build_absolute_uri("/"),
    }


def _refuse_too_many_nonces(request: HttpRequest) -> None:
    """Each message stores a nonce: at most NONCES_PER_MINUTE per client address, counted
    together for browsers and scripts (a client cannot double its rate by using both)."""
    rate = ratelimit.Rate(count=NONCES_PER_MINUTE, seconds=60)
    limit = ratelimit.Limit(scope="siwe:nonce:ip", ident=client_ip(request), rate=rate)
    if ratelimit.take(limit) is not None:
        raise TooManyRequests("Too many sign-in attempts from here: wait a minute and try again.")


class _StrictCharField(serializers.CharField):
    """A JSON string; DRF's CharField would turn a number into one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _StrictIntegerField(serializers.IntegerField):
    """A JSON integer; DRF's IntegerField would take "1", 1.0 and true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(ADDRESS_SCHEMA)
class _AddressField(_StrictCharField):
    """An address, as the schema says it; siwe checks it and says what is wrong."""


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": MAX_BODY_BYTES})
class _MessageField(_StrictCharField):
    pass


@extend_schema_field({"type": "string", "pattern": "^(0x)?[0-9a-fA-F]{130}$"})
class _SignatureField(_StrictCharField):
    pass


_TYPE_NAMES = {_StrictCharField: "a string", _StrictIntegerField: "an integer"}
_MISSING = {"required", "null", "blank"}


def _validated(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    """The request's JSON object checked by `serializer_class`; else AppError saying which
    field is missing or of the wrong type (optional fields are not named in the shape)."""
    fields = serializer_class().fields
    shape = ", ".join(f'"{name}"' for name, field in fields.items() if field.required)
    # Its declared length: a signed-in browser's CSRF check may have read the body already.
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        raise AppError(f"The request body is over {MAX_BODY_BYTES} bytes: send only {shape}.")
    try:
        data = request.data
    except UnsupportedMediaType:
        raise AppError(
            "Send the body as JSON, with the header Content-Type: application/json.",
            status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            code="unsupported_media_type",
        ) from None
    except (ParseError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise AppError(f"The request body must be a JSON object with {shape}.")
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return serializer.validated_data
    missing = [name for name, errors in serializer.errors.items() if errors[0].code in _MISSING]
    if missing:
        raise AppError(f"Missing field {', '.join(missing)}: send a JSON object with {shape}.")
    name, (error, *_) = next(iter(serializer.errors.items()))
    if error.code == "invalid":
        kind = next(n for t, n in _TYPE_NAMES.items() if isinstance(fields[name], t))
        raise AppError(f"The field {name} must be {kind}.")
    raise AppError(f"The field {name} is invalid: {error}")


class AccountUserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class CurrentUserTokenOutputSerializer(serializers.Serializer):
    address = serializers.CharField(source="wallet_address")
    expires_at = serializers.DateTimeField()


class SiweChallengeCreateApi(APIView):
    """The EIP-4361 message a wallet signs to get an API token."""

    authentication_classes = []  # anonymous: without a session there is no CSRF to check
    permission_classes = [AllowAny]
    parser_classes = [LimitedJSONParser]

    class InputSerializer(serializers.Serializer):
        address = _AddressField(help_text="0x followed by 40 hex digits, in any letter case.")
        chainId = _StrictIntegerField(help_text="The chain the wallet is on; must be the site's.")

        class Meta:
            ref_name = "SiweChallengeCreateInput"

    class OutputSerializer(serializers.Serializer):
        message = serializers.CharField(help_text="Sign this text unchanged (personal_sign).")
        expires_at = serializers.DateTimeField(help_text="Sign and send it before then.")

        class Meta:
            ref_name = "SiweChallengeCreateOutput"

    @extend_schema(
        operation_id="auth_challenge_create",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                _400="The address or the chain is not one the site signs in.",
                _429="Too many sign-in attempts from this client: wait a minute.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        _refuse_too_many_nonces(request)
        body = _validated(self.InputSerializer, request)
        message = services.siwe_message_build(
            address=body["address"], chain_id=body["chainId"], **_siwe_site(request)
        )
        expires_at = siwe.parse(message).expiration_time
        return Response(self.OutputSerializer({"message": message, "expires_at": expires_at}).data)


class _CsrfChecked(BasePermission):
    """The page's CSRF token, checked whether anyone is signed in or not (DRF's session checks
    it for a signed-in user only): a page of another site must not sign a visitor in, as
    someone else either."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        # On Django's request: DRF's would read the body for a form's token, before the view
        # looks at its size. PermissionDenied when the token fails.
        SessionAuthentication().enforce_csrf(request._request)
        return True


@extend_schema_field({"type": "string"})
class _NextField(serializers.Field):
    """Where to go once signed in: a path of this site (anything else is ignored)."""

    def to_internal_value(self, data: Any) -> str:
        return data if isinstance(data, str) else ""


class SiweMessageCreateApi(APIView):
    """The browser's first step of Sign-In with Ethereum (wallet.js): the EIP-4361 message its
    wallet signs to sign in, or, signed in already, to link that wallet to the account."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny, _CsrfChecked]
    parser_classes = [LimitedJSONParser]

    class OutputSerializer(serializers.Serializer):
        message = serializers.CharField(help_text="Sign this text unchanged (personal_sign).")

        class Meta:
            ref_name = "SiweMessageCreateOutput"

    @extend_schema(
        operation_id="siwe_message_create",
        request=SiweChallengeCreateApi.InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                _400="The address or the chain is not one the site signs in.",
                _429="Too many sign-in attempts from this client: wait a minute.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        _refuse_too_many_nonces(request)
        body = _validated(SiweChallengeCreateApi.InputSerializer, request)
        message = services.siwe_message_build(
            address=body["address"], chain_id=body["chainId"], **_siwe_site(request)
        )
        return Response(self.OutputSerializer({"message": message}).data)


class SiweSignInApi(APIView):
    """The browser's second step: the signed message signs the browser in (its wallet's
    account is made at its first sign-in), or links the wallet to the signed-in account."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [AllowAny, _CsrfChecked]
    parser_classes = [LimitedJSONParser]

    class InputSerializer(serializers.Serializer):
        message = _MessageField(help_text="The text of POST /accounts/siwe/message/.")
        signature = _SignatureField(help_text="personal_sign of the message, 0x + 130 hex.")
        next = _NextField(required=False, help_text="A path of this site to go to then.")

        class Meta:
            ref_name = "SiweSignInInput"

    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        address = serializers.CharField(help_text="The wallet that signed, checksummed.")
        redirect = serializers.CharField(
            help_text="Where to go: `next` when it is a path of this site, else the wallet page "
            "after linking, the home page after signing in."
        )

        class Meta:
            ref_name = "SiweSignInOutput"

    @extend_schema(
        operation_id="siwe_sign_in",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            **error_responses(
                _400="The message or its signature is refused: the error says what to do."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = _validated(self.InputSerializer, request)
        user, wallet, _created = services.siwe_sign_in(
            message=body["message"],
            signature=body["signature"],
            current_user=request.user,
            **_siwe_site(request),
        )
        linking = request.user.is_authenticated
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        next_url = body.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = (
                reverse("wallet_list") if linking else resolve_url(settings.LOGIN_REDIRECT_URL)
            )
        output = {"ok": True, "address": wallet.address, "redirect": next_url}
        return Response(self.OutputSerializer(output).data)


class ApiTokenApi(APIView):
    """POST issues a token for a signed challenge; DELETE revokes the token it is sent with."""

    parser_classes = [LimitedJSONParser]

    class IssueInputSerializer(serializers.Serializer):
        message = _MessageField(help_text="The text of POST /api/v1/auth/challenge/.")
        signature = _SignatureField(help_text="personal_sign of the message, 0x + 130 hex.")

        class Meta:
            ref_name = "ApiTokenIssueInput"

    class IssueOutputSerializer(serializers.Serializer):
        token = serializers.CharField(
            help_text="Send as 'Authorization: Bearer <token>'. Shown once: it is not stored."
        )
        expires_at = serializers.DateTimeField()
        address = serializers.CharField(help_text="The wallet that signed, checksummed.")
        user = AccountUserOutputSerializer()

        class Meta:
            ref_name = "ApiTokenIssueOutput"

    def _revoking(self) -> bool:
        # Django's View.setup sets self.request before DRF asks for authenticators; the schema
        # generator asks once before it sets a request.
        return getattr(self.request, "method", None) == "DELETE"

    def get_authenticators(self) -> list:
        # Issuing takes no credentials: a script holding an expired token must still get a new
        # one. Revoking takes the bearer token only, never a session (this view has no CSRF).
        return [WalletTokenAuthentication()] if self._revoking() else []

    def get_permissions(self) -> list:
        return [IsAuthenticated()] if self._revoking() else [AllowAny()]

    @extend_schema(
        operation_id="auth_token_issue",
        description="Trade a signed challenge for a bearer token valid for API_TOKEN_SECONDS"
        " (an hour by default). The wallet's account is created at its first sign-in.",
        request=IssueInputSerializer,
        responses={
            201: IssueOutputSerializer,
            **error_responses(
                _400="The message or its signature is refused: the error says what to do."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = _validated(self.IssueInputSerializer, request)
        token, secret = services.api_token_issue(
            message=body["message"], signature=body["signature"], **_siwe_site(request)
        )
        output = self.IssueOutputSerializer(
            {
                "token": secret,
                "expires_at": token.expires_at,
                "address": token.wallet_address,
                "user": token.user,
            }
        )
        # RFC 6749 §5.1: an answer holding a credential must not be cached.
        return Response(
            output.data, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"}
        )

    @extend_schema(
        operation_id="auth_token_revoke",
        description="Revoke the bearer token this request is sent with.",
        request=None,
        responses={204: None},
    )
    def delete(self, request: Request) -> Response:
        services.api_token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CurrentUserDetailApi(APIView):
    """Who the request is authenticated as, by bearer token or by session."""

    # The default authentication: bearer token, then session.
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        wallets = serializers.ListField(child=serializers.CharField())
        authenticated_by = serializers.ChoiceField(choices=["token", "session"])
        token = CurrentUserTokenOutputSerializer(
            allow_null=True, help_text="The bearer token used; null under a session."
        )

        class Meta:
            ref_name = "CurrentUserDetailOutput"

    @extend_schema(operation_id="auth_me", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        token = request.auth if isinstance(request.auth, ApiToken) else None
        user = request.user
        return Response(
            self.OutputSerializer(
                {
                    "id": user.pk,
                    "username": user.get_username(),
                    "wallets": [w.address for w in selectors.wallet_list(user=user)],
                    "authenticated_by": "token" if token else "session",
                    "token": token,
                }
            ).data
        )
