"""Writes of notifications: `notify` (an event told to a user once, in the site and by email as
they prefer), reading them, preferences; and one ready-made notification per kind of event the
site's parts tell (a listing curated, a standing request matched, a review or a reply, escrow
running low). The chain's own events are told by marketplace.notifications.chainfacts.

Events are told once per user through the notification's unique (user, key): a second `notify`
of the same event (another process, a restart, the indexer telling a batch again) finds it and
does nothing, even when both run at the same time (the loser's insert fails on the constraint).
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.matchmaking.choice import duration
from marketplace.notifications import live
from marketplace.notifications.models import (
    EmailOutbox,
    Notification,
    NotificationKind,
    Preference,
)
from marketplace.notifications.selectors import email_address_of, preference_of, users_of_wallets

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

SEND_TASK = "marketplace.notifications.tasks.send_emails"
KEY_MAX, TITLE_MAX, URL_MAX, SUBJECT_MAX = 200, 200, 500, 250
EXCERPT_MAX = 300


class NotificationError(Exception):
    """A request about notifications the site refuses; the message says what to do."""


@transaction.atomic
def notify(
    *,
    user: AbstractBaseUser,
    kind: NotificationKind | str,
    key: str,
    title: str,
    body: str = "",
    url: str = "",
) -> Notification | None:
    """Tell `user` of the event `key` (unique per user, e.g. "deal-finished:31337:0x…"), unless
    told already: the new notification, None when it existed. Texts and link are stored as
    given (`url`: a path of the site), so that the notification reads the same whatever happens
    later to what it speaks of. As `user` prefers `kind`: shown in the site (their bells are
    told once this commits), and an email queued in the outbox when they have a verified
    address (sent after the commit, by the sender: never by this call)."""
    kind = NotificationKind(kind)
    in_site, by_email = preference_of(user=user, kind=kind)
    try:
        with transaction.atomic():  # a savepoint: the event told already leaves the rest intact
            notification = Notification.objects.create(
                user=user,
                kind=kind,
                key=key[:KEY_MAX],
                title=_cut(title, TITLE_MAX),
                body=body,
                url=url if len(url) <= URL_MAX else "",
                shown=in_site,
            )
    except IntegrityError:
        return None
    recipient = email_address_of(user=user) if by_email else ""
    if recipient:
        EmailOutbox.objects.create(
            notification=notification,
            recipient=recipient,
            subject=_cut(f"[SuperEdge] {notification.title}", SUBJECT_MAX),
            body=email_body(notification),
            next_attempt_at=timezone.now(),
        )
        transaction.on_commit(_kick_sender)
    if in_site:
        live.bell_changed(user.pk)
    return notification


def email_body(notification: Notification) -> str:
    """The plain text of a notification's email: its title and body, its link as an absolute
    URL (SITE_URL), and where to change what is sent."""
    site = settings.SITE_URL.rstrip("/")
    parts = [notification.title]
    if notification.body:
        parts.append(notification.body)
    if notification.url:
        parts.append(f"See it on SuperEdge: {site}{notification.url}")
    parts.append(
        "--\nYou receive this email because of your notification preferences on SuperEdge; "
        f"change them at {site}/notifications/preferences/"
    )
    return "\n\n".join(parts) + "\n"


def _kick_sender() -> None:
    """With a broker, have a Celery worker send the new email now rather than at the next beat.
    Without one (tasks run in the calling process), never: the request would wait for the mail
    server; the sender's loop sends it."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    try:
        current_app.send_task(SEND_TASK)
    except Exception:  # the broker down: the beat's next round sends it
        logger.warning("The email sender was not woken; its next round sends.", exc_info=True)


def _cut(text: str, limit: int) -> str:
    """`text` whole, or cut at a word with "…" to fit `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;") + "…"


# ---------------------------------------------------------------------- reading, preferences


def notification_mark_read(*, user: AbstractBaseUser, pk: int) -> bool:
    """Mark `user`'s notification `pk` read; whether it was theirs and unread."""
    marked = Notification.objects.filter(user=user, pk=pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        live.bell_changed(user.pk)
    return bool(marked)


def notifications_mark_all_read(*, user: AbstractBaseUser) -> int:
    """Mark every unread notification of `user` read; how many."""
    marked = Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        live.bell_changed(user.pk)
    return marked


@transaction.atomic
def preferences_set(
    *, user: AbstractBaseUser, in_site: Iterable[str], by_email: Iterable[str]
) -> None:
    """Set how `user` is told of each kind: in the site for the kinds of `in_site`, by email for
    those of `by_email` (every other kind: not that way). Unknown kinds are refused."""
    in_site, by_email = set(in_site), set(by_email)
    unknown = sorted((in_site | by_email) - set(NotificationKind.values))
    if unknown:
        raise NotificationError(
            f"Unknown kind of notification: {', '.join(unknown)}. Choose among "
            f"{', '.join(NotificationKind.values)}."
        )
    for kind in NotificationKind:
        Preference.objects.update_or_create(
            user=user,
            kind=kind,
            defaults={"in_site": kind in in_site, "by_email": kind in by_email},
        )


# ---------------------------------------------------------------------- what the site tells


def notify_listing_curated(
    *,
    decision_id: int,
    user: AbstractBaseUser,
    listing_name: str,
    listing_url: str,
    approved: bool,
    reason: str = "",
) -> Notification | None:
    """Tell a listing's provider of a curator's decision `decision_id`: approved (now public),
    or changes requested (with the curator's `reason`)."""
    if approved:
        return notify(
            user=user,
            kind=NotificationKind.LISTING_APPROVED,
            key=f"listing-approved:{decision_id}",
            title=f"{listing_name} was approved: it is public now",
            body=f"A curator approved {listing_name}; buyers find it in the catalogue."
            + (f" The curator says: “{reason}”" if reason else ""),
            url=listing_url,
        )
    return notify(
        user=user,
        kind=NotificationKind.CHANGES_REQUESTED,
        key=f"changes-requested:{decision_id}",
        title=f"Changes requested to {listing_name}",
        body=f"A curator asks for changes before {listing_name} can be public: “{reason}” "
        "Edit the listing, then it is reviewed again.",
        url=listing_url,
    )


def notify_standing_matched(
    *, chain_id: int, dealid: str, request_digest: str, requester: str, publisher=None
) -> list[Notification]:
    """Tell the requester (the users of wallet `requester`, and `publisher`, who published it)
    that their standing request `request_digest` was matched into deal `dealid`."""
    users = users_of_wallets([requester])
    if publisher is not None and all(user.pk != publisher.pk for user in users):
        users.append(publisher)
    made = []
    for user in users:
        notification = notify(
            user=user,
            kind=NotificationKind.STANDING_MATCHED,
            key=f"standing-matched:{chain_id}:{dealid.lower()}",
            title=f"Your standing request {request_digest[:10]}… was matched",
            body=f"An offer fitted your standing request: deal {dealid} was made, paid from "
            "your escrow. Its tasks start when the pool's scheduler takes them.",
            url=f"/deals/{dealid.lower()}/",
        )
        if notification is not None:
            made.append(notification)
    return made


def notify_review(
    *,
    review_id: int,
    user: AbstractBaseUser,
    listing_name: str,
    listing_url: str,
    author_name: str,
    excerpt: str,
    stars: int | None = None,
) -> Notification | None:
    """Tell a listing's provider (`user`) of review `review_id` of their listing."""
    rated = f" ({stars} of 5 stars)" if stars else ""
    return notify(
        user=user,
        kind=NotificationKind.REVIEW,
        key=f"review:{review_id}",
        title=f"{author_name} reviewed {listing_name}{rated}",
        body=f"“{_cut(excerpt, EXCERPT_MAX)}”",
        url=listing_url,
    )


def notify_review_reply(
    *,
    reply_id: int,
    user: AbstractBaseUser,
    listing_name: str,
    listing_url: str,
    author_name: str,
    excerpt: str,
) -> Notification | None:
    """Tell a review's author (`user`) of reply `reply_id` to their review of a listing."""
    return notify(
        user=user,
        kind=NotificationKind.REVIEW_REPLY,
        key=f"review-reply:{reply_id}",
        title=f"{author_name} replied to your review of {listing_name}",
        body=f"“{_cut(excerpt, EXCERPT_MAX)}”",
        url=listing_url,
    )


def _span(span: datetime.timedelta) -> str:
    """A runway in words: hours under two days, else whole days (rounded down: never more
    than there is)."""
    if span < datetime.timedelta(days=2):
        return duration(span.total_seconds())
    return f"{span.days} days"


def notify_runway_low(
    *,
    user: AbstractBaseUser,
    chain_id: int,
    address: str,
    runway: datetime.timedelta,
    threshold: datetime.timedelta,
    since: datetime.datetime,
    url: str = "",
) -> Notification | None:
    """Tell `user` that the escrow of wallet `address` pays for only `runway` more of their
    spending, under the site's warning `threshold`, as of `since`: once per `since` (the
    order book passes the day, so a wallet that stays short is told once a day)."""
    return notify(
        user=user,
        kind=NotificationKind.RUNWAY_LOW,
        key=f"runway-low:{chain_id}:{address.lower()}:{int(since.timestamp())}",
        title=f"Your escrow runs out in about {_span(runway)}",
        body=f"At its current spending, the escrow of {address} pays for about "
        f"{_span(runway)} more, under the warning threshold of "
        f"{_span(threshold)}. Deposit ECT on the wallets page to keep your "
        "tasks and standing requests running.",
        url=url,
    )
