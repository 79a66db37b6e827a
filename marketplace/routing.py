"""Websocket routes: those of the deal pages (marketplace.deals.routing: a deal's live progress)
and the header's bell (marketplace.notifications.routing); any other path is answered by
NoSuchSocket (a close with code 4404), never a server error."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from marketplace.deals import routing as deals_routing
from marketplace.notifications import routing as notifications_routing

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
    *deals_routing.websocket_urlpatterns,
    *notifications_routing.websocket_urlpatterns,
    re_path(r"", NoSuchSocket.as_asgi()),
]
