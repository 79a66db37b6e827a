"""What every JSON API answer shares.

- One shape for every refusal: `{"error": sentence, "field": the input at fault}` (field only
  when one input is), whatever refused it: a view or a service (an AppError, marketplace.errors,
  which every domain error is), the chain layer (ChainError), DRF (malformed body, missing
  credentials, CSRF, unknown method, throttling) or Django
  (marketplace.middleware.ApiErrorMiddleware). One exception handler answers them all.
- Addresses checked and documented one way: `AddressField` in serializers, `ADDRESS_SCHEMA`
  for parameters and fields that check them their own way (marketplace.addresses' pattern).
- Query parameters declared once (`QueryParameter`): the schema documents them from the same
  declaration the server checks them with, so both take the same values.
- The schema's `Error` component, and error_responses() to document refusals with it
  (marketplace.api_schema documents those every operation of a kind can answer).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.validators import RegexValidator
from django.template.defaultfilters import filesizeformat
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from marketplace.addresses import ADDRESS_HINT, ADDRESS_LENGTH, ADDRESS_PATTERN, normalize
from marketplace.chain.errors import ChainError, ChainUnavailable
from marketplace.errors import AppError, TooLarge, Unavailable, error_body

DOCS_URL = "/api/docs/"
API_PREFIX = "/api/"
CREDENTIALS_HINT = (
    "send Authorization: Bearer <token> (sign the message of POST /api/v1/auth/challenge/, "
    "then trade it at POST /api/v1/auth/token/), or sign in on the site"
)
CSRF_HINT = (
    "a signed-in browser sends the csrftoken cookie's value in the X-CSRFToken header with "
    "every change; scripts authenticate with a bearer token instead"
)
# The same, said to a person on a page, where the endpoint takes the browser's session only.
PAGE_CSRF_HINT = "reload the page (its security token is out of date), then try again"
PAGE_SIGN_IN_HINT = "sign in on the site (your session may have ended), then try again"


def is_api(request: Any) -> bool:
    """Whether `request` is for the JSON API (under /api/), where every answer is JSON."""
    return request.path_info.startswith(API_PREFIX) or request.path_info == API_PREFIX[:-1]


# ---------------------------------------------------------------------------- the shape


class FailureOutputSerializer(serializers.Serializer):
    check = serializers.CharField(help_text="The rule, as the Hub names it.")
    message = serializers.CharField(help_text="Why it fails and what to do.")

    class Meta:
        ref_name = "Failure"


class ErrorOutputSerializer(serializers.Serializer):
    """Every refusal of the API, whatever its status."""

    error = serializers.CharField(help_text="What went wrong and what to do about it.")
    field = serializers.CharField(
        required=False, help_text="The parameter or body field at fault, when one is."
    )
    failures = FailureOutputSerializer(
        many=True,
        required=False,
        help_text="A purchase that cannot be matched: every rule it breaks, in the Hub's order.",
    )

    class Meta:
        ref_name = "Error"


def error_responses(**descriptions: str) -> dict[int, OpenApiResponse]:
    """Documented refusals for @extend_schema(responses=...): error_responses(_404="...")."""
    return {
        int(code.lstrip("_")): OpenApiResponse(ErrorOutputSerializer, description=description)
        for code, description in descriptions.items()
    }


# ---------------------------------------------------------------------------- addresses

# An address as the schema gives it, for parameters and fields that check it their own way.
ADDRESS_SCHEMA = {"type": "string", "pattern": f"^{ADDRESS_PATTERN}$"}


class AddressField(serializers.CharField):
    """A serializer's address field: 0x and 40 hexadecimal digits, as sent, or EIP-55
    checksummed with `checksummed=True`. The schema documents its pattern (drf-spectacular
    reads it from the validator)."""

    default_error_messages = {"invalid": f"Enter an address: {ADDRESS_HINT}."}

    def __init__(self, *, checksummed: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checksummed = checksummed
        self.validators.append(
            RegexValidator(f"^{ADDRESS_PATTERN}$", self.error_messages["invalid"])
        )

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)
        return normalize(value) if self.checksummed and value else value


# ---------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class QueryParameter:
    """A query parameter as the schema documents it and the server checks it: given at most
    once, never empty, and then a whole number in its range, one of its choices, or text
    matching its pattern. Anything else is a 400 naming the parameter."""

    name: str
    hint: str  # what to give, as the refusal says it: "a whole number from 1", "one of ..."
    description: str = ""
    integer: bool = False
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] = ()
    pattern: str = ""  # the whole value, in ASCII
    max_length: int | None = None
    required: bool = False

    @classmethod
    def whole_number(
        cls,
        name: str,
        *,
        minimum: int,
        maximum: int,
        choices: tuple[int, ...] = (),
        description: str = "",
    ) -> QueryParameter:
        hint = (
            f"one of {', '.join(map(str, choices))}"
            if choices
            else f"a whole number from {minimum} to {maximum}"
        )
        return cls(
            name,
            hint,
            description,
            integer=True,
            minimum=minimum,
            maximum=maximum,
            choices=tuple(map(str, choices)),
        )

    @classmethod
    def choice(
        cls, name: str, choices: list[str] | tuple[str, ...], *, description: str = "", **kw: Any
    ) -> QueryParameter:
        return cls(name, f"one of {', '.join(choices)}", description, choices=tuple(choices), **kw)

    @classmethod
    def text(
        cls, name: str, *, pattern: str, hint: str, max_length: int, description: str = ""
    ) -> QueryParameter:
        return cls(name, hint, description, pattern=pattern, max_length=max_length)

    @classmethod
    def address(cls, name: str, *, description: str = "") -> QueryParameter:
        return cls.text(
            name,
            pattern=ADDRESS_PATTERN,
            hint=f"an address, {ADDRESS_HINT}",
            max_length=ADDRESS_LENGTH,
            description=description,
        )

    def schema(self) -> dict[str, Any]:
        if self.integer:
            schema: dict[str, Any] = {"type": "integer"}
            if self.choices:
                schema["enum"] = [int(choice) for choice in self.choices]
            else:
                schema |= {"minimum": self.minimum, "maximum": self.maximum}
            return schema
        if self.choices:
            return {"type": "string", "enum": list(self.choices)}
        schema = {"type": "string", "minLength": 1, "maxLength": self.max_length}
        if self.pattern:
            schema["pattern"] = f"^{self.pattern}$"
        return schema

    def openapi(self) -> OpenApiParameter:
        return OpenApiParameter(
            self.name,
            self.schema(),
            OpenApiParameter.QUERY,
            required=self.required,
            description=self.description,
        )

    def openapi_dict(self) -> dict[str, Any]:
        """The same as `openapi()`, as a paginator's get_schema_operation_parameters gives it."""
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "description": self.description,
            "schema": self.schema(),
        }

    def check(self, values: list[str]) -> str:
        """The parameter's value, canonical ("007" is "7"); AppError saying what to give."""
        if len(values) > 1:
            raise AppError(
                f"{self.name} is given {len(values)} times: give it once, as {self.hint}.",
                field=self.name,
            )
        value = values[0]
        if value == "":
            raise AppError(
                f"{self.name} is empty: leave it out, or give {self.hint}.", field=self.name
            )
        if self.integer:
            return self._whole_number(value)
        if self.choices:
            if value not in self.choices:
                self._refuse(value)
            return value
        if "\x00" in value:  # no text takes one: say so rather than what to give
            raise AppError(
                f"{self.name} holds a NUL character (%00), which no parameter takes: give "
                f"{self.hint} without it.",
                field=self.name,
            )
        if len(value) > self.max_length or not re.fullmatch(self.pattern, value, re.ASCII):
            self._refuse(value)
        return value

    def _whole_number(self, value: str) -> str:
        # ASCII digits only (str.isdigit takes "²", int() takes other scripts' digits), and
        # few enough that int() stays cheap.
        if not re.fullmatch(r"[0-9]{1,30}", value, re.ASCII):
            self._refuse(value)
        number = int(value)
        if self.choices and str(number) not in self.choices:
            self._refuse(value)
        if not self.minimum <= number <= self.maximum:
            self._refuse(value)
        return str(number)

    def _refuse(self, value: str) -> None:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise AppError(f"{self.name} must be {self.hint}, not {shown!r}.", field=self.name)


def checked_query(request: Request, parameters: list[QueryParameter]) -> dict[str, str]:
    """The values of `parameters` in the request's query string, checked (QueryParameter.check);
    other parameters are ignored. AppError for the first one at fault."""
    query = request.query_params
    values = {}
    for parameter in parameters:
        given = query.getlist(parameter.name)
        if given:
            values[parameter.name] = parameter.check(given)
        elif parameter.required:
            raise AppError(
                f"{parameter.name} is required: give {parameter.hint}.", field=parameter.name
            )
    return values


# ---------------------------------------------------------------------------- refusals


def first_error(detail: Any, path: str = "") -> tuple[str, str, str]:
    """The first message of a ValidationError's detail, where it is (`a.b`, `files[0]` for
    an item of a list) and the field it is about (the same without the items' positions:
    `files`)."""
    if isinstance(detail, dict):
        if not detail:
            return "The request was refused.", path, _without_positions(path)
        name, inner = next(iter(detail.items()))
        if isinstance(name, int):  # a ListField's errors, by item position
            return first_error(inner, f"{path}[{name}]")
        name = "" if name == "non_field_errors" else str(name)
        return first_error(inner, f"{path}.{name}" if path and name else name or path)
    if isinstance(detail, list):
        if not detail:
            return "The request was refused.", path, _without_positions(path)
        return first_error(detail[0], path)
    return str(detail), path, _without_positions(path)


def _without_positions(path: str) -> str:
    return re.sub(r"\[[0-9]+\]", "", path)


def _is_default(exc: exceptions.APIException) -> bool:
    return str(exc.detail) == str(exc.default_detail)


def _for_scripts(view: Any, request: Any) -> bool:
    """Whether `view` takes scripts' credentials (an authenticator that answers 401 with a
    challenge: the bearer token), or only the session of a browser showing the site's pages."""
    if view is None:
        return True
    return any(a.authenticate_header(request) for a in view.get_authenticators())


def _media_types(view: Any) -> str:
    types = [parser.media_type for parser in view.get_parsers()] if view else []
    return " or ".join(types) or "application/json"


def _sentence(exc: exceptions.APIException, context: dict[str, Any]) -> tuple[str, str]:
    """What went wrong and what to do, and the field at fault: DRF's own messages say only
    the first half."""
    view, request = context.get("view"), context.get("request")
    detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else ""
    if isinstance(exc, exceptions.ValidationError):
        message, path, field = first_error(exc.detail)
        if path and path.split(".")[-1] not in message:
            message = f"{path}: {message}"
        return message, field
    if isinstance(exc, exceptions.MethodNotAllowed):
        allowed = [m for m in (view.allowed_methods if view else []) if m != "OPTIONS"]
        return (
            f"{exc.detail} This endpoint takes {', '.join(allowed)}; see the API's "
            f"documentation at {DOCS_URL}.",
            "",
        )
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(exc.wait) if exc.wait is not None else 60
        return f"Too many requests: wait {wait} s (Retry-After), then try again.", ""
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return f"{exc.detail} Send the body as {_media_types(view)}, saying so in Content-Type.", ""
    if isinstance(exc, exceptions.ParseError):
        return (
            f"The request body could not be read ({detail}): send it again as well-formed "
            f"{_media_types(view)}.",
            "",
        )
    if isinstance(exc, exceptions.NotAcceptable):
        return (
            "This API answers in JSON only: ask for application/json in the Accept header, "
            "or leave Accept out.",
            "",
        )
    if isinstance(exc, exceptions.PermissionDenied) and detail.startswith("CSRF Failed"):
        hint = CSRF_HINT if _for_scripts(view, request) else PAGE_CSRF_HINT
        return f"{detail.rstrip('.')}: {hint}.", ""
    if not _is_default(exc):
        return detail or first_error(exc.detail)[0], ""
    if isinstance(exc, exceptions.NotAuthenticated):
        hint = CREDENTIALS_HINT if _for_scripts(view, request) else PAGE_SIGN_IN_HINT
        return f"Authentication credentials were not provided: {hint}.", ""
    if isinstance(exc, exceptions.AuthenticationFailed):
        return f"Incorrect authentication credentials: {CREDENTIALS_HINT}.", ""
    if isinstance(exc, exceptions.PermissionDenied):
        return (
            "You may not do this with these credentials: sign in with the account this belongs to.",
            "",
        )
    if isinstance(exc, exceptions.NotFound):
        path = request.path if request is not None else "this URL"
        return f"Nothing found at {path}: check the ids in the URL.", ""
    return detail, ""


def app_error(exc: Exception, view: Any = None) -> AppError | None:
    """`exc` as the AppError it stands for, if any: an AppError itself (every domain error is
    one), or a failure of the chain layer: ChainUnavailable is a 503, any other ChainError a 400
    with the revert's (or the node's) sentence. A view that words the chain's failures its own
    way has a `chain_failure(exc) -> AppError | None` method (the escrow API does)."""
    if isinstance(exc, AppError):
        return exc
    explain = getattr(view, "chain_failure", None)
    if explain is not None and (error := explain(exc)) is not None:
        return error
    if isinstance(exc, ChainUnavailable):
        return Unavailable(str(exc))
    if isinstance(exc, ChainError):
        return AppError(str(exc))
    if isinstance(exc, RequestDataTooBig):
        return TooLarge(
            "The request's form data is over "
            f"{filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)} (files aside): send less."
        )
    if isinstance(exc, TooManyFieldsSent):
        return AppError(
            f"The request has over {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} form fields: send "
            "only the form's own."
        )
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The API's one exception handler (settings REST_FRAMEWORK["EXCEPTION_HANDLER"]): an
    AppError as its status and body; else DRF's answer (its status and headers:
    WWW-Authenticate, Retry-After, Allow) with the API's body: {"error": sentence, "field": the
    input at fault}. Anything else rises (a 500, which ApiErrorMiddleware words)."""
    error = app_error(exc, context.get("view"))
    if error is not None:
        set_rollback()
        return Response(error.body(), status=error.status)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if not isinstance(exc, exceptions.APIException):  # Django's Http404 or PermissionDenied
        exc = (
            exceptions.NotFound(*exc.args)
            if response.status_code == status.HTTP_404_NOT_FOUND
            else exceptions.PermissionDenied(*exc.args)
        )
    message, field = _sentence(exc, context)
    response.data = error_body(message, field=field)
    return response
