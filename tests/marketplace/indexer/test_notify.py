"""Notifications of a deal's change: to the deal's group, only after commit and never on
rollback, and a failing channel layer logged, not raised."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from marketplace.indexer import notify

DEALID = "0x" + "ab" * 32


@pytest.fixture
async def listener():
    """A channel of the layer in the group of deal DEALID; yields a receive-with-timeout."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(notify.group_name(DEALID), channel)

    async def receive(timeout: float = 0.3) -> dict | None:
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout)
        except TimeoutError:
            return None

    yield receive
    await layer.group_discard(notify.group_name(DEALID), channel)


class Rollback(Exception):
    pass


@database_sync_to_async
def _change(listener, *, commit: bool) -> dict | None:
    """Notify inside a transaction, committed or rolled back; what the group got meanwhile."""
    try:
        with transaction.atomic():
            notify.progress_changed(DEALID)
            meanwhile = async_to_sync(listener)()
            if not commit:
                raise Rollback
    except Rollback:
        pass
    return meanwhile


@pytest.mark.django_db(transaction=True)
async def test_the_notification_leaves_after_commit_and_never_on_rollback(listener):
    assert await _change(listener, commit=False) is None
    assert await listener() is None

    assert await _change(listener, commit=True) is None
    assert await listener() == {"type": "deal.progress", "dealid": DEALID}
    assert await listener() is None  # once


@pytest.mark.django_db(transaction=True)
async def test_a_failing_channel_layer_is_logged_not_raised(monkeypatch, caplog):
    layer = get_channel_layer()

    async def down(group, message):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(layer, "group_send", down)
    await database_sync_to_async(notify.progress_changed)(DEALID)

    assert "not broadcast" in caplog.text and "Redis is down" in caplog.text
