"""The outbox's sender: each email sent once; a failing mail server retried with a backoff
that doubles, then given up with its error; an email a stopped sender left sending never sent
again."""

from __future__ import annotations

import datetime
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from marketplace.notifications import outbox
from marketplace.notifications.models import EmailOutbox, NotificationKind, OutboxStatus
from marketplace.notifications.services import notify
from tests.factories.notifications import VerifiedEmailFactory

pytestmark = pytest.mark.django_db

REFUSING_BACKEND = f"{__name__}.RefusingBackend"


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message, as an SMTP server answering 451 does."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"x@example.com": (451, b"try again later")})


def _queued(n: int = 1) -> list[EmailOutbox]:
    user = VerifiedEmailFactory(email="buyer@example.com").user
    for i in range(n):
        notify(user=user, kind=NotificationKind.DEAL_FINISHED, key=f"e:{i}", title=f"Deal {i}")
    return list(EmailOutbox.objects.order_by("id"))


def test_due_emails_are_sent_once_and_marked_sent():
    _queued(3)

    done = outbox.emails_send()
    again = outbox.emails_send()

    assert (done.sent, again.sent) == (3, 0)
    assert [message.subject for message in mail.outbox] == [
        "[SuperEdge] Deal 0",
        "[SuperEdge] Deal 1",
        "[SuperEdge] Deal 2",
    ]
    assert mail.outbox[0].to == ["buyer@example.com"]
    assert mail.outbox[0].from_email == "SuperEdge <noreply@localhost>"
    assert set(EmailOutbox.objects.values_list("status", "attempts")) == {(OutboxStatus.SENT, 1)}


def test_a_round_sends_every_due_email_a_batch_at_a_time():
    _queued(5)

    assert outbox.emails_send(batch=2).sent == 5
    assert not EmailOutbox.objects.exclude(status=OutboxStatus.SENT).exists()
    assert len(mail.outbox) == 5


def test_a_refused_email_is_retried_with_a_doubling_backoff_then_given_up(settings):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    settings.EMAIL_RETRY_SECONDS = 30
    settings.EMAIL_MAX_ATTEMPTS = 3
    (email,) = _queued()
    now = timezone.now()

    # First attempt: back in 30 s
    assert outbox.emails_send(now=now).retried == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboxStatus.PENDING, 1)
    assert "SMTPRecipientsRefused" in email.last_error and "451" in email.last_error
    first_retry = email.next_attempt_at
    assert first_retry == now + datetime.timedelta(seconds=30)
    assert outbox.emails_send(now=first_retry - datetime.timedelta(seconds=1)).retried == 0

    # Second attempt: back in 60 s
    assert outbox.emails_send(now=first_retry).retried == 1
    email.refresh_from_db()
    assert email.attempts == 2
    assert email.next_attempt_at == first_retry + datetime.timedelta(seconds=60)

    # Third and last: failed, with its error, and never tried again
    assert outbox.emails_send(now=email.next_attempt_at).failed == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.sent_at) == (OutboxStatus.FAILED, 3, None)
    assert "451" in email.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert outbox.emails_send(now=email.next_attempt_at + datetime.timedelta(days=1)).sent == 0
    assert mail.outbox == []


def test_a_server_back_after_a_failure_gets_the_email_once(settings):
    settings.EMAIL_BACKEND = REFUSING_BACKEND
    (email,) = _queued()
    outbox.emails_send()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    email.refresh_from_db()

    assert outbox.emails_send(now=email.next_attempt_at).sent == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (OutboxStatus.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_backoff_doubles_at_each_attempt(settings):
    settings.EMAIL_RETRY_SECONDS = 30

    assert [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_an_email_left_sending_by_a_stopped_sender_is_never_sent_again(settings):
    settings.EMAIL_SENDING_LEASE_SECONDS = 600
    (email,) = _queued()
    claimed = timezone.now() - datetime.timedelta(seconds=601)
    # A sender claimed it, then was killed before recording what the server said.
    EmailOutbox.objects.filter(pk=email.pk).update(
        status=OutboxStatus.SENDING, claimed_at=claimed, attempts=1
    )

    done = outbox.emails_send()

    assert (done.lost, done.sent) == (1, 0)
    email.refresh_from_db()
    assert (email.status, email.last_error) == (OutboxStatus.FAILED, outbox.LOST_WHILE_SENDING)
    assert mail.outbox == []


def test_an_email_being_sent_by_another_sender_is_left_to_it(settings):
    (email,) = _queued()
    EmailOutbox.objects.filter(pk=email.pk).update(
        status=OutboxStatus.SENDING, claimed_at=timezone.now(), attempts=1
    )

    done = outbox.emails_send()

    assert (done.lost, done.sent) == (0, 0)
    email.refresh_from_db()
    assert email.status == OutboxStatus.SENDING
