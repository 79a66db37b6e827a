"""Notifications, each user's preferences of them, and the outbox of their emails.

A notification's texts and link are stored when it is made, so that it still reads the same
once what it speaks of changed or was deleted. Its `key` names the event ("deal-finished:
31337:0x…"): unique per user, it is what makes an event notified once, however many processes
see it and however often they are told of it again (after a restart, a re-indexing).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationKind(models.TextChoices):
    DEAL_FINISHED = "deal_finished", "A deal of mine finished"
    TASK_FAILED = "task_failed", "A task of mine failed or was given up"
    REFUND_CLAIMABLE = "refund_claimable", "A refund can be claimed"
    REFUND_CLAIMED = "refund_claimed", "A refund was claimed"
    RUNWAY_LOW = "runway_low", "My escrow is running low"
    LISTING_APPROVED = "listing_approved", "A listing of mine was approved"
    CHANGES_REQUESTED = "changes_requested", "Changes to a listing of mine were requested"
    REVIEW = "review", "A new review of a listing of mine"
    REVIEW_REPLY = "review_reply", "A reply to a review of mine"
    STANDING_MATCHED = "standing_matched", "A standing request of mine was matched"


# Where a user has set nothing: every kind in the site; by email, those that ask for an action
# or close what the user waits for (a review or a reply is read on the site).
DEFAULT_BY_EMAIL = frozenset(
    {
        NotificationKind.DEAL_FINISHED,
        NotificationKind.TASK_FAILED,
        NotificationKind.REFUND_CLAIMABLE,
        NotificationKind.REFUND_CLAIMED,
        NotificationKind.RUNWAY_LOW,
        NotificationKind.LISTING_APPROVED,
        NotificationKind.CHANGES_REQUESTED,
        NotificationKind.STANDING_MATCHED,
    }
)


class Notification(models.Model):
    """One event told to one user. `shown` False: the user turned this kind off in the site
    (the row stays: it is the record that the event was notified, and the email's)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    key = models.CharField(max_length=200, help_text="The event, unique per user.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="A path of the site, or empty.")
    shown = models.BooleanField(default=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_event_once"),
        ]
        indexes = [
            models.Index(
                fields=["user", "-created_at", "-id"],
                name="notification_shown",
                condition=Q(shown=True),
            ),
            # The bell's count: the unread ones of a user, straight off a small partial index.
            models.Index(
                fields=["user"],
                name="notification_unread",
                condition=Q(shown=True, read_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.user_id})"


class Preference(models.Model):
    """How a user wants one kind of notification; a kind without a row has the defaults (in
    the site, and by email for DEFAULT_BY_EMAIL)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    in_site = models.BooleanField(default=True)
    by_email = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: site {self.in_site}, email {self.by_email}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class EmailOutbox(models.Model):
    """The email of one notification (one at most: the notification is unique), written in the
    transaction that made the notification and sent afterwards by the sender
    (marketplace.notifications.outbox), never by the request that caused it."""

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email"
    )
    recipient = models.EmailField()
    subject = models.CharField(max_length=250)
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["next_attempt_at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at", "id"],
                name="outbox_due",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_at"], name="outbox_sending", condition=Q(status="sending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.recipient} ({self.status})"


class DealWatch(models.Model):
    """A deal whose last indexed change is in a block not yet confirmed: its facts are
    announced once that block is (a reorganization may still take them back), by the periodic
    round (marketplace.notifications.chainfacts)."""

    chain_id = models.PositiveBigIntegerField()
    dealid = models.CharField(max_length=66)
    block_number = models.BigIntegerField(help_text="The last unconfirmed block that changed it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain_id", "dealid"], name="deal_watch_unique")
        ]
        indexes = [models.Index(fields=["chain_id", "block_number"], name="deal_watch_block")]

    def __str__(self) -> str:
        return f"deal {self.dealid[:10]} at #{self.block_number}"
