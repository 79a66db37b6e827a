"""The bell's websocket (ws/notifications/) through the whole ASGI stack (origin check, sessions,
routing): refused without a signed-in user (closed, code 4401); the bell first, then again when
a notification is made or read, only the signed-in user's; and re-read without being told."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator

from marketplace.asgi import application
from marketplace.notifications import services
from marketplace.notifications.models import Notification, NotificationKind
from tests.factories.accounts import UserFactory
from tests.marketplace.deals.test_consumers import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

QUIET = 0.3  # seconds without a message that count as "nothing was sent"


@pytest.fixture(autouse=True)
async def _fresh_layer():
    """Groups of earlier tests' consumers must not linger in the (process-wide) layer. A layer
    of this test's own event loop flushes them: one that earlier sync code used from other
    loops (async_to_sync) holds Redis connections it cannot close from this one."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    await get_channel_layer().flush()
    yield


@pytest.fixture(autouse=True)
def _notifications_only(settings):
    """No polling unless a test asks: updates must come from the group."""
    settings.NOTIFICATIONS_POLL_SECONDS = 60


async def connect(user=None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if user is not None:
        headers.append((b"cookie", await database_sync_to_async(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@database_sync_to_async
def _notify(user, key: str) -> Notification | None:
    return services.notify(
        user=user, kind=NotificationKind.DEAL_FINISHED, key=key, title="Your deal finished"
    )


def _bell(count: int) -> str:
    lit = " bell-lit" if count else ""
    label = f": {count} unread" if count else ""
    badge = f'<span class="bell-count">{count}</span>' if count else ""
    return (
        f'<a id="notification-bell" class="bell{lit}" href="/notifications/" '
        f'data-unread="{count}" aria-label="Notifications{label}" hx-swap-oob="true">'
        '<svg aria-hidden="true" width="18" height="18" viewBox="0 0 24 24" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
        '<path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 '
        f'3.4 0"/></svg>{badge}</a>\n'
    )


async def test_a_socket_without_a_signed_in_user_is_refused_before_joining_anything():
    client = await connect()

    assert json.loads(await client.receive_from()) == {
        "type": "error",
        "error": "Sign in to follow your notifications.",
    }
    assert (await client.receive_output())["code"] == 4401


async def test_the_bell_comes_first_then_follows_new_and_read_notifications():
    user = await database_sync_to_async(UserFactory)()
    await _notify(user, "earlier")
    client = await connect(user)
    assert await client.receive_from() == _bell(1)

    notification = await _notify(user, "new")
    assert await client.receive_from() == _bell(2)
    await _notify(user, "new")  # the same event again: no new notification, no new bell
    assert await client.receive_nothing(timeout=QUIET)

    await database_sync_to_async(services.notification_mark_read)(user=user, pk=notification.pk)
    assert await client.receive_from() == _bell(1)
    await database_sync_to_async(services.notifications_mark_all_read)(user=user)
    assert await client.receive_from() == _bell(0)
    await client.disconnect()


async def test_a_user_hears_only_of_their_own_notifications():
    user, other = await database_sync_to_async(UserFactory.create_batch)(2)
    client = await connect(user)
    assert await client.receive_from() == _bell(0)

    await _notify(other, "theirs")

    assert await client.receive_nothing(timeout=QUIET)
    await client.disconnect()


async def test_the_bell_re_reads_its_count_without_being_told(settings):
    settings.NOTIFICATIONS_POLL_SECONDS = 0.1
    user = await database_sync_to_async(UserFactory)()
    client = await connect(user)
    assert await client.receive_from() == _bell(0)

    # Made by another process: its channel layer does not reach this one
    await database_sync_to_async(Notification.objects.create)(
        user=user, kind=NotificationKind.REVIEW, key="elsewhere", title="A review"
    )

    assert await client.receive_from() == _bell(1)
    await client.disconnect()


async def test_a_message_from_the_client_is_ignored():
    user = await database_sync_to_async(UserFactory)()
    client = await connect(user)
    assert await client.receive_from() == _bell(0)

    await client.send_to(text_data='{"type": "ping"}')

    assert await client.receive_nothing(timeout=QUIET)
    await _notify(user, "after")  # still following
    assert await client.receive_from() == _bell(1)
    await client.disconnect()
