"""The nudge a user's open pages get when a notification of theirs was made or read: the
bell's consumers (marketplace.notifications.consumers) join the user's group and re-read the
count when told.

The message is tiny and carries no state ({"type": "notifications.changed"}): each consumer
re-reads for its own user. The in-memory channel layer reaches only consumers of the process
that sends (the indexer and the loops of `make run` are other processes): consumers therefore
also re-read every NOTIFICATIONS_POLL_SECONDS.
"""

from __future__ import annotations

import logging

from channels.layers import get_channel_layer
from django.db import transaction

# The deal pages' sender, which also works from synchronous code inside an event loop's thread.
from marketplace.indexer.notify import group_send

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "notifications.changed"


def group_name(user_id: int) -> str:
    """The channel-layer group of the bells of user `user_id`."""
    return f"notifications.{user_id}"


def bell_changed(user_id: int) -> None:
    """Tell the user's bells to look again once the current transaction commits (at once
    outside one; never on rollback). Never raises for the channel layer's sake: bells also
    re-read by themselves."""
    transaction.on_commit(lambda: _tell(user_id))


def _tell(user_id: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        group_send(layer, group_name(user_id), {"type": MESSAGE_TYPE})
    except Exception:
        logger.warning(
            "The bells of user %s were not told (channel layer failing); they catch up on "
            "their next poll.",
            user_id,
            exc_info=True,
        )
