"""allauth's own limits (sign-ups, logins per address, password resets) key on the client
address as every limit of the site finds it."""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django.test import RequestFactory


def test_allauth_ignores_a_forwarded_for_from_an_untrusted_peer(settings):
    settings.TRUSTED_PROXIES = []
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="1.1.1.1")

    assert get_adapter(request).get_client_ip(request) == "203.0.113.7"


def test_allauth_believes_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.1"
    )

    assert get_adapter(request).get_client_ip(request) == "198.51.100.1"
