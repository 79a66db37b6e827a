"""The input clean-up runs on its own: as a Celery beat task with Redis, as `manage.py
clean_inputs` (once, or looping under `make run` without Redis); and the matcher of standing
requests, as a beat task."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from marketplace.chain.selectors import current_hub
from marketplace.orders import services
from marketplace.orders.models import InputFile
from marketplace.orders.tasks import clean_inputs, match_standing_requests
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.orders.standing_helpers import open_book, pool_offer, stand

pytestmark = pytest.mark.django_db


def old_input() -> InputFile:
    stored = services.input_store(owner=UserFactory(), file=ContentFile(b"x"), name="old.txt")
    InputFile.objects.filter(pk=stored.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=settings.INPUT_RETENTION_DAYS + 1)
    )
    return stored


def test_beat_runs_the_clean_up_task():
    entry = settings.CELERY_BEAT_SCHEDULE["clean-inputs"]
    assert entry["task"] == clean_inputs.name == "marketplace.orders.tasks.clean_inputs"
    assert entry["schedule"] == settings.INPUT_CLEAN_SECONDS
    old_input()

    clean_inputs.apply()  # run here, as a worker runs it (with Redis, .delay() only queues)

    assert not InputFile.objects.exists()


def test_the_command_cleans_once(capsys):
    old_input()

    call_command("clean_inputs")

    assert capsys.readouterr().out == "Deleted 1 unused input files.\n"
    assert not InputFile.objects.exists()


def test_beat_runs_the_matcher_of_standing_requests(market):
    entry = settings.CELERY_BEAT_SCHEDULE["match-standing-requests"]
    assert entry["task"] == match_standing_requests.name
    assert entry["schedule"] == settings.STANDING_MATCH_SECONDS
    book = open_book(market)
    order = stand(book, WalletFactory(address=book.requester.address).user)
    pool_offer(book, price=3)

    match_standing_requests.apply()

    assert current_hub().consumed(order.digest) == 2


def test_the_command_matches_once_what_make_run_loops_on(market):
    book = open_book(market)
    order = stand(book, WalletFactory(address=book.requester.address).user)
    call_command("match_standing")
    assert current_hub().consumed(order.digest) == 0  # no offer fits yet
    pool_offer(book, price=3)

    call_command("match_standing")

    assert current_hub().consumed(order.digest) == 2
