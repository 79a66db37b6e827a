"""The sender of the email outbox: each email of a notification sent once.

A round claims the due emails (pending, next attempt reached) in a short transaction: on
PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED`, so that senders in other processes take
other rows; on SQLite the database has one writer at a time. A claimed row is marked sending,
and only the process whose update moved it from pending sends it. It is then marked sent; or,
when the mail server refused or could not be reached, pending again after a backoff doubling
at each attempt (EMAIL_RETRY_SECONDS, then twice that, four times…), until EMAIL_MAX_ATTEMPTS,
then failed with the error.

Never twice: a sender that stops between claiming and recording (killed, the machine lost)
leaves its rows sending. Whether the server took the message then is unknown; resending could
duplicate it, so such a row is not sent again: after EMAIL_SENDING_LEASE_SECONDS it is marked
failed, saying so. The one duplicate left is the one SMTP itself allows: a server that took the
message but whose answer was lost is retried (a network error is not a refusal).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from marketplace.notifications.models import EmailOutbox, OutboxStatus

logger = logging.getLogger(__name__)

BATCH = 50
ERROR_MAX = 500
LOST_WHILE_SENDING = (
    "The sender stopped while sending it: the mail server may have taken it, so it is not sent "
    "again (never twice)."
)


@dataclasses.dataclass
class SendRound:
    """What one round did: emails sent, put back for a retry, given up, and lost by a sender
    that stopped while sending them."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0


def retry_delay(attempts: int) -> datetime.timedelta:
    """How long after its `attempts`-th failed attempt an email is tried again."""
    return datetime.timedelta(seconds=settings.EMAIL_RETRY_SECONDS * 2 ** (attempts - 1))


def emails_send(*, now: datetime.datetime | None = None, batch: int = BATCH) -> SendRound:
    """Send the due emails of the outbox, `batch` claimed at a time until none is left,
    recording each outcome."""
    now = now or timezone.now()
    done = SendRound(lost=_give_up_lost(now))
    while claimed := _claim(now, batch):
        mail = get_connection(fail_silently=False)
        try:
            for email in claimed:
                _send_one(email, mail, done, now=now)
        finally:
            try:
                mail.close()
            except Exception:  # closing a broken connection: nothing more to lose
                logger.debug("Closing the mail connection failed.", exc_info=True)
    return done


def _claim(now: datetime.datetime, limit: int) -> list[EmailOutbox]:
    with transaction.atomic():
        due = EmailOutbox.objects.filter(
            status=OutboxStatus.PENDING, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due[:limit])
        mine = []
        for row in rows:
            # Only the update that moves it from pending makes it this sender's.
            if EmailOutbox.objects.filter(pk=row.pk, status=OutboxStatus.PENDING).update(
                status=OutboxStatus.SENDING, claimed_at=now, attempts=row.attempts + 1
            ):
                row.status, row.claimed_at, row.attempts = (
                    OutboxStatus.SENDING,
                    now,
                    row.attempts + 1,
                )
                mine.append(row)
        return mine


def _send_one(email: EmailOutbox, mail, done: SendRound, *, now: datetime.datetime) -> None:
    message = EmailMessage(
        subject=email.subject,
        body=email.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.recipient],
        connection=mail,
    )
    try:
        message.send()
    except Exception as error:  # any backend's failure: SMTP refusals, network errors…
        _failed(email, error, done, now=now)
        return
    EmailOutbox.objects.filter(pk=email.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    done.sent += 1


def _failed(
    email: EmailOutbox, error: Exception, done: SendRound, *, now: datetime.datetime
) -> None:
    """Put `email` back for a retry after its backoff from the round's `now`, or, at its last
    attempt, mark it failed."""
    reason = f"{type(error).__name__}: {error}"[:ERROR_MAX]
    if email.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        EmailOutbox.objects.filter(pk=email.pk, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.FAILED, last_error=reason
        )
        logger.error(
            "Email %s to %s given up after %s attempts: %s",
            email.pk,
            email.recipient,
            email.attempts,
            reason,
        )
        done.failed += 1
        return
    EmailOutbox.objects.filter(pk=email.pk, status=OutboxStatus.SENDING).update(
        status=OutboxStatus.PENDING,
        last_error=reason,
        next_attempt_at=now + retry_delay(email.attempts),
    )
    logger.warning(
        "Email %s to %s not sent (attempt %s): %s",
        email.pk,
        email.recipient,
        email.attempts,
        reason,
    )
    done.retried += 1


def _give_up_lost(now: datetime.datetime) -> int:
    """Mark failed the emails a stopped sender left sending (see the module's docstring)."""
    stale = now - datetime.timedelta(seconds=settings.EMAIL_SENDING_LEASE_SECONDS)
    return EmailOutbox.objects.filter(status=OutboxStatus.SENDING, claimed_at__lt=stale).update(
        status=OutboxStatus.FAILED, last_error=LOST_WHILE_SENDING
    )
