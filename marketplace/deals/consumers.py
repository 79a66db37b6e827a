"""The live progress of a deal over a websocket: ws/deals/<dealid>/ (marketplace.deals.routing).

Protocol (server to client, JSON unless `?format=html`):

- {"type": "snapshot", "seq": n, "snapshot": {...}}: the deal as this viewer may see it
  (marketplace.deals.progress.snapshot_of), times in ISO 8601. The first message after
  connecting is always the current snapshot (seq 1); after that one is sent whenever it changed,
  seq increasing by 1.
- {"type": "pong"}: the answer to {"type": "ping"}, the only message a client may send.
- {"type": "error", "error": "..."}: what was wrong with a client's message (the socket stays
  open; a message over MAX_MESSAGE_CHARS is not read), or, before closing with code 4400 (bad
  deal id, query string, format or task) or 4401 (bad API token), why the socket closes.

With `?format=html` the snapshots are HTML fragments instead, `<div id="deal-live"
hx-swap-oob="true" data-seq="n">…</div>`, for the deal page's htmx ws extension to swap in.
With `?task=N` they are about the deal's task N only (marketplace.deals.progress.task_snapshot),
as the task's page shows it.

Who sees worker messages and failures: marketplace.deals.progress.can_see_logs. Browsers
authenticate with their session; scripts may send their API token (`Authorization: Bearer
se_...`). Like every websocket of the site (marketplace.asgi), the handshake needs an Origin of
an allowed host.

Updates follow notifications (marketplace.indexer.notify.progress_changed) at once, and a re-read
every PROGRESS_POLL_SECONDS catches changes whose notification could not reach this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.serializers.json import DjangoJSONEncoder
from django.template.loader import render_to_string

from marketplace.accounts import services as accounts
from marketplace.deals import progress
from marketplace.deals.selectors import bytes32_key
from marketplace.indexer import notify

logger = logging.getLogger(__name__)

FORMATS = ("json", "html")
LIVE_TEMPLATE = "deals/deal_detail.html#live"
TASK_LIVE_TEMPLATE = "deals/task_detail.html#live"
MAX_TASK_INDEX = 2**64 - 1
# Bounds checked before anything is parsed: a query string holds format and task; a client's
# message is {"type": "ping"}, so a small frame caps both its size and how deep it can nest.
MAX_QUERY_STRING_BYTES = 256
MAX_TASK_DIGITS = len(str(MAX_TASK_INDEX))
MAX_MESSAGE_CHARS = 1024
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401


class DealProgressConsumer(AsyncWebsocketConsumer):
    dealid: str = ""
    format: str = "json"
    task: int | None = None
    seq: int = 0
    _last: dict[str, Any] | None = None
    _changed: asyncio.Event | None = None
    _follower: asyncio.Task | None = None

    async def connect(self) -> None:
        # Accepted before refusing, so that the client gets the reason and the close code
        # (a refused handshake shows as a bare 403).
        await self.accept()
        dealid = bytes32_key(self.scope["url_route"]["kwargs"]["dealid"])
        if dealid is None:
            await self._refuse(
                CLOSE_BAD_REQUEST,
                "Not a deal id: a deal id is 0x followed by 64 hexadecimal digits.",
            )
            return
        query_string = self.scope.get("query_string", b"")
        if len(query_string) > MAX_QUERY_STRING_BYTES:
            await self._refuse(
                CLOSE_BAD_REQUEST,
                f"The query string is over {MAX_QUERY_STRING_BYTES} bytes: ask with format=json "
                "or html and task=N only.",
            )
            return
        query = parse_qs(query_string.decode("latin-1"), keep_blank_values=True)
        repeated = sorted(name for name, values in query.items() if len(values) > 1)
        if repeated:
            await self._refuse(
                CLOSE_BAD_REQUEST, f"Give {', '.join(repeated)} once: it is one value."
            )
            return
        self.format = query.get("format", ["json"])[-1]
        if self.format not in FORMATS:
            await self._refuse(CLOSE_BAD_REQUEST, "Unknown format: ask for format=json or html.")
            return
        if "task" in query:
            task = query["task"][-1]
            if not (
                len(task) <= MAX_TASK_DIGITS
                and task.isascii()
                and task.isdigit()
                and int(task) <= MAX_TASK_INDEX
            ):
                await self._refuse(
                    CLOSE_BAD_REQUEST, "task must be a task's index in the deal: 0, 1, 2…"
                )
                return
            self.task = int(task)
        problem = await self._authenticate_token()
        if problem:
            await self._refuse(CLOSE_UNAUTHORIZED, problem)
            return
        self.dealid = dealid
        # Joined before the first snapshot is read, so that no change falls between them: a
        # notification arriving meanwhile waits for connect() and finds nothing new.
        await self.channel_layer.group_add(notify.group_name(dealid), self.channel_name)
        self._changed = asyncio.Event()
        await self._refresh()
        self._follower = asyncio.create_task(self._follow())

    async def disconnect(self, code: int) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        if self.dealid:
            await self.channel_layer.group_discard(
                notify.group_name(self.dealid), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is not None and len(text_data) > MAX_MESSAGE_CHARS:
            await self._send_json(
                {
                    "type": "error",
                    "error": f"Message over {MAX_MESSAGE_CHARS} characters, not read: the only "
                    'message is {"type": "ping"}.',
                }
            )
            return
        try:
            message = json.loads(text_data) if text_data is not None else None
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
            message = None
        if isinstance(message, dict) and message.get("type") == "ping":
            await self._send_json({"type": "pong"})
        else:
            await self._send_json(
                {"type": "error", "error": 'Unknown message: the only one is {"type": "ping"}.'}
            )

    async def deal_progress(self, event: dict[str, Any]) -> None:
        """A notification (marketplace.indexer.notify.NOTIFICATION_TYPE): the deal changed."""
        if self._changed is not None:
            self._changed.set()

    # ------------------------------------------------------------------ internals

    async def _follow(self) -> None:
        """Re-read when told, or every poll interval; notifications that come while a snapshot
        is being read make one more read, not one each."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=progress.poll_seconds())
            self._changed.clear()
            try:
                await self._refresh()
            except Exception:  # a failed read (a locked or lost database) is retried next time
                logger.exception("Live progress of deal %s: reading it failed", self.dealid)

    async def _refresh(self) -> None:
        """Send the viewer's snapshot if it is not the one last sent."""
        snapshot = await self._snapshot()
        if snapshot == self._last:
            return
        self._last = snapshot
        self.seq += 1
        if self.format == "html":
            await self.send(text_data=await self._render(snapshot, self.seq))
        else:
            await self._send_json({"type": "snapshot", "seq": self.seq, "snapshot": snapshot})

    @database_sync_to_async
    def _snapshot(self) -> dict[str, Any]:
        snapshot = progress.deal_snapshot(self.dealid, viewer=self.scope.get("user"))
        if self.task is not None and snapshot.get("indexed"):
            snapshot = progress.task_snapshot(snapshot, self.task)
        return snapshot

    @database_sync_to_async
    def _render(self, snapshot: dict[str, Any], seq: int) -> str:
        template = LIVE_TEMPLATE if self.task is None else TASK_LIVE_TEMPLATE
        return render_to_string(template, {"live": snapshot, "seq": seq, "oob": True})

    @database_sync_to_async
    def _authenticate_token(self) -> str:
        """Take the user of an `Authorization: Bearer` API token, when the session gave none;
        what is wrong with the token, else ""."""
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            return ""
        header = dict(self.scope.get("headers", [])).get(b"authorization", b"")
        words = header.decode("latin-1").split()
        if not words or words[0].lower() != "bearer":
            return ""
        if len(words) != 2:
            return "Invalid Authorization header: send 'Authorization: Bearer <token>'."
        try:
            token = accounts.api_token_authenticate(secret=words[1])
        except accounts.ApiTokenError as error:
            return str(error)
        self.scope["user"] = token.user
        return ""

    async def _refuse(self, code: int, reason: str) -> None:
        await self._send_json({"type": "error", "error": reason})
        await self.close(code=code)

    async def _send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, cls=DjangoJSONEncoder))
