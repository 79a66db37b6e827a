"""Site-wide middleware: JSON errors under /api/, an AppError a page raises shown as a page, a
page's form over Django's limits refused as a page too, and oversize uploads refused from their
Content-Length, before any of it is read or stored."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.defaultfilters import filesizeformat

from frontend.errors import app_error_page
from marketplace.api import CSRF_HINT, DOCS_URL, app_error, is_api
from marketplace.errors import AppError, TooLarge, error_body

# Room for the other fields of a submission form besides its file.
FORM_OVERHEAD_BYTES = 1024 * 1024


def _api_sentence(request: HttpRequest, response: HttpResponse) -> str:
    code = response.status_code
    if code == 404:
        return f"There is no API endpoint at {request.path}: see the endpoints at {DOCS_URL}."
    if code == 405:
        allowed = response.get("Allow", "")
        return f"{request.method} is not allowed on {request.path}: use {allowed or 'another'}."
    if code == 403:
        return f"Refused: {CSRF_HINT}."
    if code >= 500:
        return (
            "The server failed to answer this request: try again in a minute; if it fails "
            "again, tell the site's operators."
        )
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "Refused"
    return f"{phrase}: check the request against the API's documentation at {DOCS_URL}."


class ApiErrorMiddleware:
    """Under /api/ every error is JSON {"error": sentence}, also those Django answers with an
    HTML page (an unknown URL, a refused CSRF token, a server error: its traceback goes to the
    log, never to the client). DRF's own answers are JSON already and pass unchanged."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            json = JsonResponse(
                error_body(_api_sentence(request, response)), status=response.status_code
            )
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    json[header] = response[header]
            return json
        return response


def form_refusal(exception: Exception) -> AppError | None:
    """Django's refusal of a page's oversized form (RequestDataTooBig, TooManyFieldsSent) as the
    AppError its sender can act on; None for any other exception. The API words its own
    (marketplace.api.app_error)."""
    if isinstance(exception, RequestDataTooBig):
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return TooLarge(
            f"This form sends more than {limit} of text (files aside): shorten the longest of "
            "its fields (a description, a comment) and send it again."
        )
    if isinstance(exception, TooManyFieldsSent):
        return AppError(
            f"This form sends more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields, more "
            "than any form of the site has: reload the page and send its form again."
        )
    return None


class AppErrorPageMiddleware:
    """An AppError a page's view raises is answered as a page (frontend.errors.app_error_page):
    its status, its title, its sentence. The API (DRF's views, under /api/ or not) answers its
    own as JSON before this sees them."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        # Django's refusals of an oversized form are AppErrors too (marketplace.api.app_error).
        error = app_error(exception)
        if error is not None and not is_api(request):
            return app_error_page(request, form_refusal(exception) or error)
        if error is not None:
            return JsonResponse(error.body(), status=error.status)
        return None


class FormLimitsMiddleware:
    """A page's form over Django's limits (DATA_UPLOAD_MAX_MEMORY_SIZE of text,
    DATA_UPLOAD_MAX_NUMBER_FIELDS) is refused as the site's page (`form_refusal`). The form is
    read here, just before CsrfViewMiddleware reads it for its token: Django would answer that
    read's refusal itself, with its own 400 page (the technical one in development) and a
    traceback in the log. Views exempt from Django's CSRF check (the API's, which answer JSON)
    read their forms themselves."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if request.method != "POST" or is_api(request) or getattr(view_func, "csrf_exempt", False):
            return None
        try:
            request.POST  # noqa: B018 -- read now, as CsrfViewMiddleware would next
        except (RequestDataTooBig, TooManyFieldsSent) as exception:
            return app_error_page(request, form_refusal(exception))
        except OSError:
            return None  # a broken upload: CsrfViewMiddleware answers it as it always has
        return None


class UploadSizeLimitMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = max(settings.APP_WASM_MAX_BYTES, settings.DATASET_MAX_BYTES) + FORM_OVERHEAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = (
                f"This upload is {filesizeformat(length)}; the largest file we accept is "
                f"{filesizeformat(limit - FORM_OVERHEAD_BYTES)}."
            )
            if is_api(request):
                refusal = TooLarge(f"{message} Send a smaller file.")
                return JsonResponse(refusal.body(), status=refusal.status)
            return app_error_page(
                request, TooLarge(f"{message} Go back and choose a smaller file.")
            )
        return self.get_response(request)
