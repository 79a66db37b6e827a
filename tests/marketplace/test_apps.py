"""Every DRF throttle, whoever imports it, names anonymous clients by marketplace.clientip."""

from __future__ import annotations

from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle


def test_drf_throttles_ignore_a_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = []
    request = Request(
        RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.1")
    )

    assert BaseThrottle().get_ident(request) == "203.0.113.7"
    assert ScopedRateThrottle().get_ident(request) == "203.0.113.7"


def test_drf_throttles_believe_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    request = Request(
        RequestFactory().get(
            "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.1"
        )
    )

    assert BaseThrottle().get_ident(request) == "198.51.100.1"
