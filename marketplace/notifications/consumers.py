"""The header's bell, live: ws/notifications/ (marketplace.notifications.routing).

Server to client only: the bell (notifications/_bell.html) as an HTML fragment with
`hx-swap-oob`, which the htmx ws extension of base.html swaps in; sent when the socket opens,
then whenever the user's unread count changed. Browsers authenticate with their session; a
socket without a signed-in user gets {"type": "error", "error": …} and is closed with code
4401, before joining any group. Like every websocket of the site (marketplace.asgi), the
handshake needs an Origin of an allowed host.

The count is re-read when the user's group is told (marketplace.notifications.live) and every
NOTIFICATIONS_POLL_SECONDS, which covers notifications made by other processes (the indexer,
the loops) when the channel layer does not cross processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.template.loader import render_to_string

from marketplace.notifications import live
from marketplace.notifications.selectors import unread_count

logger = logging.getLogger(__name__)

BELL_TEMPLATE = "notifications/_bell.html"
CLOSE_UNAUTHORIZED = 4401


class NotificationBellConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None
    _last: int | None = None
    _changed: asyncio.Event | None = None
    _follower: asyncio.Task | None = None

    async def connect(self) -> None:
        # Accepted before refusing, so that the client gets the reason and the close code.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.send(
                text_data=json.dumps(
                    {"type": "error", "error": "Sign in to follow your notifications."}
                )
            )
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.user_id = user.pk
        # Joined before the first count is read, so that no notification falls between them.
        await self.channel_layer.group_add(live.group_name(self.user_id), self.channel_name)
        self._changed = asyncio.Event()
        await self._refresh()
        self._follower = asyncio.create_task(self._follow())

    async def disconnect(self, code: int) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        if self.user_id is not None:
            await self.channel_layer.group_discard(live.group_name(self.user_id), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Nothing is asked of the bell: what a client sends is ignored."""

    async def notifications_changed(self, event: dict) -> None:
        """live.MESSAGE_TYPE: the user's notifications changed."""
        if self._changed is not None:
            self._changed.set()

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait(), timeout=settings.NOTIFICATIONS_POLL_SECONDS
                )
            self._changed.clear()
            try:
                await self._refresh()
            except Exception:  # a failed read (a locked or lost database) is retried next time
                logger.exception("The bell of user %s: reading it failed", self.user_id)

    async def _refresh(self) -> None:
        """Send the bell if its count is not the one last sent."""
        count = await database_sync_to_async(self._count)()
        if count == self._last:
            return
        self._last = count
        await self.send(text_data=render_to_string(BELL_TEMPLATE, {"unread": count, "oob": True}))

    def _count(self) -> int:
        return unread_count(user=self.scope["user"])
