"""`manage.py send_notifications` as real processes sharing one database (PostgreSQL when the
suite runs on it, else an SQLite file): two started together on the same events make exactly
one notification and send exactly one email per event and user."""

from __future__ import annotations

import datetime
import email
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import serializers
from django.utils import timezone

from marketplace.indexer.models import IndexerState, TaskStatus
from marketplace.notifications.models import DealWatch, Notification
from tests.factories.accounts import WalletFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.factories.notifications import VerifiedEmailFactory
from tests.marketplace.indexer.test_processes import ROOT, Databases

pytestmark = pytest.mark.django_db

FINISHED, CLAIMABLE = 40, 10  # deals of each kind, each told to two users


def _events_as_fixture(path: Path) -> None:
    """Deals finished in confirmed blocks (watched: told by the round) and deals past their
    final deadline, of a requester and a beneficiary who both have a verified address; saved
    for loaddata."""
    buyer, beneficiary = WalletFactory(), WalletFactory()
    addresses = [
        VerifiedEmailFactory(user=w.user, email=f"{w.user.username}@example.com")
        for w in (buyer, beneficiary)
    ]
    now = timezone.now()
    IndexerState.objects.create(
        chain_id=31337,
        hub="0x" + "1" * 40,
        first_block=1,
        deployment_marker="m",
        checkpoint=9,
        confirmed_height=9,
    )
    deals, tasks = [], []
    for n in range(FINISHED + CLAIMABLE):
        deal = DealFactory(
            requester=buyer.address,
            beneficiary=beneficiary.address,
            tasks_completed=int(n < FINISHED),
        )
        if n < FINISHED:
            tasks.append(TaskFactory(deal=deal, finished_at=now))
            DealWatch.objects.create(chain_id=31337, dealid=deal.dealid, block_number=5)
        else:
            tasks.append(
                TaskFactory(
                    deal=deal,
                    status=TaskStatus.ACTIVE,
                    final_deadline=now - datetime.timedelta(minutes=1),
                )
            )
        deals.append(deal)
    objects = [
        *(w.user for w in (buyer, beneficiary)),
        buyer,
        beneficiary,
        *addresses,
        IndexerState.objects.get(),
        *deals,
        *tasks,
        *DealWatch.objects.all(),
    ]
    path.write_text(serializers.serialize("json", objects))


def test_two_notifiers_make_one_notification_and_one_email_per_event(tmp_path):
    databases = Databases(tmp_path)
    try:
        fixture = tmp_path / "events.json"
        _events_as_fixture(fixture)
        shared = databases.new("notify")
        databases._run(shared, "loaddata", str(fixture))
        mails = tmp_path / "mails"
        environment = databases.env(shared, EMAIL_URL=f"filemail:///{mails}")  # an absolute path

        processes = [
            subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, "manage.py", "send_notifications"],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=240) for process in processes]
        for process, (_, errors) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, errors[-3000:]

        told = json.loads(databases._run(shared, "dumpdata", "notifications.Notification"))
        outbox = json.loads(databases._run(shared, "dumpdata", "notifications.EmailOutbox"))
    finally:
        databases.drop()

    events = 2 * (FINISHED + CLAIMABLE)
    keys = [(row["fields"]["user"], row["fields"]["key"]) for row in told]
    assert len(keys) == len(set(keys)) == events
    assert {row["fields"]["status"] for row in outbox} == {"sent"}
    assert len(outbox) == events
    sent = [
        (message["To"], message["Subject"])
        for path in sorted(mails.iterdir())
        for text in path.read_text().split("-" * 79)
        if text.strip()
        for message in [email.message_from_string(text.strip())]
    ]
    assert len(sent) == len(set(sent)) == events
    assert not Notification.objects.exists()  # all of it happened in the processes' database
