"""Websocket routes: the live progress of deals (pools.consumers; any text as the deal id, which
the consumer checks, so that a malformed one gets a close code that says so)."""

from django.urls import path

from pools.consumers import DealProgressConsumer

websocket_urlpatterns: list = [
    path("ws/deals/<str:dealid>/", DealProgressConsumer.as_asgi(), name="deal_progress"),
]
