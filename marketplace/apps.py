from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

from marketplace.clientip import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest


def _throttle_ident(throttle: object, request: HttpRequest) -> str:
    return client_ip(request)


class MarketplaceConfig(AppConfig):
    """What the whole site shares: its system checks, and how it tells clients apart."""

    name = "marketplace"
    verbose_name = "SuperEdge"

    def ready(self) -> None:
        from rest_framework.throttling import BaseThrottle

        # Registers the system checks, where Django asks: once every app is loaded.
        from marketplace import checks  # noqa: F401

        # DRF names an anonymous client by X-Forwarded-For as the client sent it, or by a count
        # of proxies (NUM_PROXIES), and has no setting for which proxies to trust: so that every
        # throttle, whoever imports it, names clients as the site's other limits do, its
        # get_ident is ours.
        BaseThrottle.get_ident = _throttle_ident
