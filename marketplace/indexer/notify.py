"""The nudge a service gives a deal's live pages after it changed the deal (`progress_changed`).

Services of any layer that change a deal's or a task's state (the scheduler, the worker API, the
indexer's followers) call it; it knows nothing of them nor of the pages, only the group the
pages' consumers (marketplace.deals.consumers) join and the channel layer. So that a market may
tell the deal pages without importing them, this module imports Django and Channels only.

Notifications are tiny ({"type": "deal.progress", "dealid"}) and carry no state: each consumer
re-reads the snapshot for its own viewer (marketplace.deals.progress). The in-memory channel
layer reaches only consumers of the process that sends; consumers therefore also re-read every
PROGRESS_POLL_SECONDS, which covers changes made by other processes (the indexer, the scheduler)
when there is no Redis.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

NOTIFICATION_TYPE = "deal.progress"
_SEND_TIMEOUT_SECONDS = 5


def group_name(dealid: str) -> str:
    """The channel-layer group of a deal's consumers (`dealid` as bytes32_key gives it)."""
    return f"deal.{dealid}"


def progress_changed(dealid: str) -> None:
    """Tell the consumers of deal `dealid` to look again, once the current transaction commits
    (at once outside one; never on rollback). Call it from services that changed a deal's or a
    task's state. Never raises for the channel layer's sake: live pages also re-read by
    themselves."""
    key = dealid.lower()
    transaction.on_commit(lambda: _notify(key))


def _notify(dealid: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": NOTIFICATION_TYPE, "dealid": dealid}
    try:
        group_send(layer, group_name(dealid), message)
    except Exception:
        logger.warning(
            "Progress of deal %s not broadcast (channel layer failing); pages will catch up"
            " on their next poll.",
            dealid,
            exc_info=True,
        )


def group_send(layer, group: str, message: dict[str, Any]) -> None:
    """Send `message` to `group` of the channel layer from synchronous code, in or out of an
    event loop's thread (the deal pages' nudges and the bell's use it)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, message)
        return
    # Synchronous code running inside an event loop's thread (AsyncToSync refuses to run
    # there): the send gets a thread of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(async_to_sync(layer.group_send), group, message).result(
            timeout=_SEND_TIMEOUT_SECONDS
        )
