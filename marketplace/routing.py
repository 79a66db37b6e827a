"""Websocket routes. Live task progress joins here with the worker pools issue."""

websocket_urlpatterns: list = []
