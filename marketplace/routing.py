"""Websocket routes: the live progress of deals (pools.consumers; any text as the deal id, which
the consumer checks, so that a malformed one gets a close code that says so); any other path is
answered by NoSuchSocket (a close with code 4404), never a server error."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path

from pools.consumers import DealProgressConsumer

CLOSE_NOT_FOUND = 4404


class NoSuchSocket(AsyncWebsocketConsumer):
    """A websocket path the site does not serve: said, then closed."""

    async def connect(self) -> None:
        await self.accept()
        await self.send(
            text_data=json.dumps(
                {
                    "type": "error",
                    "error": "No websocket here: a deal's live progress is at /ws/deals/<dealid>/.",
                }
            )
        )
        await self.close(code=CLOSE_NOT_FOUND)


websocket_urlpatterns: list = [
    path("ws/deals/<str:dealid>/", DealProgressConsumer.as_asgi(), name="deal_progress"),
    re_path(r"", NoSuchSocket.as_asgi()),
]
