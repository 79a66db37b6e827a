"""Websocket routes of the deal pages: a deal's live progress (marketplace.deals.consumers).

Any text is taken as the deal id, which the consumer checks, so that a malformed one gets a
close code that says so. marketplace.routing includes these routes before its catch-all."""

from __future__ import annotations

from django.urls import path

from marketplace.deals.consumers import DealProgressConsumer

websocket_urlpatterns: list = [
    path("ws/deals/<str:dealid>/", DealProgressConsumer.as_asgi(), name="deal_progress"),
]
