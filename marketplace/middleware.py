"""Refuse an oversize upload from its Content-Length, before any of it is read or stored."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat

# Room for the other fields of a submission form besides its file.
FORM_OVERHEAD_BYTES = 1024 * 1024


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
            return render(
                request,
                "frontend/error.html",
                {
                    "title": "Upload too large",
                    "message": f"This upload is {filesizeformat(length)}; the largest file we "
                    f"accept is {filesizeformat(limit - FORM_OVERHEAD_BYTES)}. "
                    "Go back and choose a smaller file.",
                },
                status=413,
            )
        return self.get_response(request)
