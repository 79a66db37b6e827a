"""Websocket route of the header's bell (marketplace.notifications.consumers); marketplace.routing
includes it before its catch-all."""

from __future__ import annotations

from django.urls import path

from marketplace.notifications.consumers import NotificationBellConsumer

websocket_urlpatterns: list = [
    path("ws/notifications/", NotificationBellConsumer.as_asgi(), name="notification_bell"),
]
