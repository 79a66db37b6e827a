"""The site's one error type: a request refused for a reason its sender can act on.

An `AppError` carries one sentence that says what went wrong and what to do (str(error)), the
input at fault (`field`, empty when no one input is), the HTTP status that fits and a short
`code` naming the kind of refusal. Domain errors are AppErrors of their own (OrderError,
SiweError, WorkRefused, ...), so a view lets them rise: one DRF exception handler answers them
as JSON (marketplace.api.exception_handler) and one page as HTML, or as an htmx fragment
(frontend.errors.app_error_page).

Pure Python: the chain layer and the worker agent may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class Failure(Protocol):
    """One broken rule of many (marketplace.orders.purchases.Failure): its name and words."""

    check: str
    message: str


def error_body(message: str, *, field: str = "") -> dict[str, Any]:
    """The JSON body of every refusal: {"error": sentence, "field": the input at fault}."""
    return {"error": message, "field": field} if field else {"error": message}


class AppError(Exception):
    """A refusal: 400 unless a subclass or `status` says otherwise."""

    status: int = 400
    code: str = "invalid"
    # Every rule a request breaks, when there are several to tell (a purchase that cannot match).
    failures: Sequence[Failure] = ()

    def __init__(
        self, message: str, *, field: str = "", status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def body(self) -> dict[str, Any]:
        body = error_body(str(self), field=self.field)
        if self.failures:
            body["failures"] = [{"check": f.check, "message": f.message} for f in self.failures]
        return body


class Forbidden(AppError):
    """The caller may not do this (not the owner, not their wallet)."""

    status = 403
    code = "forbidden"


class NotFound(AppError):
    """What the request names does not exist, or not for this caller."""

    status = 404
    code = "not_found"


class Conflict(AppError):
    """The request does not fit the current state of what it acts on."""

    status = 409
    code = "conflict"


class TooLarge(AppError):
    """An upload over a limit."""

    status = 413
    code = "too_large"


class TooManyRequests(AppError):
    """A rate limit reached: wait, then try again."""

    status = 429
    code = "throttled"


class Unavailable(AppError):
    """A service the request needs (the chain's node, our contracts) is not there now."""

    status = 503
    code = "unavailable"


def form_error(form: Any, *, by_label: bool = True) -> AppError:
    """The first error of a bound, invalid Django form, as an AppError: "<field>: <problem>"
    naming the field by its label (`by_label=False`: by its name, as an API's parameters are
    named), or the problem alone when it is about the whole form."""
    name, problems = next(iter(form.errors.items()))
    if name not in form.fields:  # the form's own (NON_FIELD_ERRORS)
        return AppError(problems[0])
    shown = (form.fields[name].label if by_label else "") or name
    return AppError(f"{shown}: {problems[0]}", field=name)


# The title of a page that shows a refusal, by its kind.
TITLES = {
    "invalid": "Refused",
    "forbidden": "Not allowed",
    "not_found": "Not found",
    "conflict": "Not now",
    "too_large": "Upload too large",
    "throttled": "Too many requests",
    "unavailable": "Unavailable",
    "gone": "Gone",
}


def title_of(error: AppError) -> str:
    return TITLES.get(error.code, "Refused")
