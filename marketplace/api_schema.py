"""The API's schema class: drf-spectacular's, plus the refusals every operation of its kind can
answer. Apart from marketplace.api because DRF imports it while it loads its generic views
(settings REST_FRAMEWORK), which drf-spectacular's AutoSchema imports in turn."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication

from marketplace.api import ErrorOutputSerializer

_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
_MALFORMED = "A parameter or the body is malformed or breaks a rule: the error says which."


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the refusals every operation of its kind can answer,
    each documented as an `Error`: 400 for a malformed query or body, 401 where credentials
    are required, 403 for a browser session's missing CSRF token, 404 past the last page of a
    list, 415 for a body of another media type, 429 where throttled. Views declare their own
    refusals (error_responses) on top."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code, description in self._generated_errors(operation):
            code = str(code)
            if code in responses:
                if description not in responses[code].get("description", ""):
                    joined = f"{responses[code].get('description', '')} {description}".strip()
                    responses[code]["description"] = joined
            else:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOutputSerializer, description=description), code
                )
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _generated_errors(self, operation: dict[str, Any]) -> list[tuple[int, str]]:
        query = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        body = "requestBody" in operation
        errors = []
        if query or body:
            errors.append((400, _MALFORMED))
        authenticators = self.view.get_authenticators()
        signed_in = {} not in operation.get("security", [{}])
        # DRF answers 401 when an authenticator sends a challenge (WWW-Authenticate: the
        # bearer token's), else 403: a browser's session alone has none.
        request = getattr(self.view, "request", None)
        challenges = any(a.authenticate_header(request) for a in authenticators)
        if signed_in and challenges:
            errors.append((401, "No credentials, or credentials that are not valid (any more)."))
        sessions = any(isinstance(a, SessionAuthentication) for a in authenticators)
        if signed_in and not challenges:
            errors.append((403, "Not signed in: the browser's session is needed."))
        if sessions and self.method in _UNSAFE:
            errors.append((403, "A signed-in browser session sent no valid CSRF token."))
        if any(p["name"] == "page" for p in query):
            errors.append((404, "Past the last page."))
        if body:
            errors.append((415, "The body is not of a media type this operation reads."))
        if self.view.get_throttles():
            errors.append((429, "Too many requests: wait as Retry-After says."))
        return errors
