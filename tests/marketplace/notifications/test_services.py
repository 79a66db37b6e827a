"""notify: each event once per user, in the site and by email as the user prefers, the bells
told after the commit only; reading; preferences; and the notifications the site's parts make."""

from __future__ import annotations

import asyncio
import datetime

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from marketplace.catalogue.services import listing_curate
from marketplace.notifications import live, services
from marketplace.notifications.models import (
    EmailOutbox,
    Notification,
    NotificationKind,
    OutboxStatus,
    Preference,
)
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import ListingFactory
from tests.factories.notifications import NotificationFactory, VerifiedEmailFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.marketplace.orders.conftest import record_deployment
from tests.marketplace.orders.standing_helpers import match_round, open_book, pool_offer, stand

pytestmark = pytest.mark.django_db

EVENT = {
    "kind": NotificationKind.DEAL_FINISHED,
    "key": "deal-finished:0xabc:31337",
    "title": "Your deal finished",
    "body": "All 3 tasks completed.",
    "url": "/deals/0xabc/",
}


@pytest.fixture
def user():
    return VerifiedEmailFactory(email="buyer@example.com").user


def test_an_event_is_notified_once_with_one_email(user, settings):
    settings.SITE_URL = "https://market.example.com/"

    first = services.notify(user=user, **EVENT)
    again = services.notify(user=user, **{**EVENT, "title": "Told again"})

    assert again is None
    notification = Notification.objects.get()
    assert notification == first
    assert (notification.title, notification.body, notification.url, notification.shown) == (
        "Your deal finished",
        "All 3 tasks completed.",
        "/deals/0xabc/",
        True,
    )
    email = EmailOutbox.objects.get()
    assert (email.notification, email.recipient, email.status, email.attempts) == (
        notification,
        "buyer@example.com",
        OutboxStatus.PENDING,
        0,
    )
    assert email.subject == "[SuperEdge] Your deal finished"
    assert email.body == (
        "Your deal finished\n\nAll 3 tasks completed.\n\n"
        "See it on SuperEdge: https://market.example.com/deals/0xabc/\n\n"
        "--\nYou receive this email because of your notification preferences on SuperEdge; "
        "change them at https://market.example.com/notifications/preferences/\n"
    )


def test_the_same_event_is_told_to_each_of_its_users():
    one, other = UserFactory(), UserFactory()

    assert services.notify(user=one, **EVENT) is not None
    assert services.notify(user=other, **EVENT) is not None

    assert sorted(Notification.objects.values_list("user", flat=True)) == sorted([one.pk, other.pk])


def test_a_notification_told_inside_a_failing_transaction_leaves_nothing(user):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.notify(user=user, **EVENT)
        raise RuntimeError("the caller's write failed")

    assert not Notification.objects.exists()
    assert not EmailOutbox.objects.exists()
    assert services.notify(user=user, **EVENT) is not None  # told when it happens for real


def test_no_email_without_a_verified_address():
    user = UserFactory(email="unverified@example.com")
    VerifiedEmailFactory(user=user, email="unverified@example.com", verified=False)

    assert services.notify(user=user, **EVENT) is not None
    assert not EmailOutbox.objects.exists()


def test_preferences_turn_the_site_and_the_email_off_per_kind(user):
    services.preferences_set(
        user=user,
        in_site=[NotificationKind.REVIEW],
        by_email=[NotificationKind.DEAL_FINISHED],
    )

    finished = services.notify(user=user, **EVENT)
    review = services.notify(
        user=user, kind=NotificationKind.REVIEW, key="review:1", title="A review"
    )

    # Not shown in the site, but recorded (the event is told once) and emailed
    assert finished.shown is False
    assert review.shown is True
    assert list(EmailOutbox.objects.values_list("notification", flat=True)) == [finished.pk]
    assert Preference.objects.filter(user=user).count() == len(NotificationKind)


def test_by_default_reviews_are_shown_but_not_emailed(user):
    review = services.notify(user=user, kind=NotificationKind.REVIEW, key="r:1", title="A review")

    assert review.shown is True
    assert not EmailOutbox.objects.exists()


def test_an_unknown_kind_of_preference_is_refused_naming_the_kinds(user):
    with pytest.raises(services.NotificationError, match="Unknown kind of notification: bogus"):
        services.preferences_set(user=user, in_site=["bogus"], by_email=[])

    assert not Preference.objects.exists()


def test_long_texts_are_cut_at_a_word():
    user = UserFactory()
    notification = services.notify(
        user=user, kind=NotificationKind.REVIEW, key="r:2", title="word " * 100
    )

    assert len(notification.title) <= 200
    assert notification.title.endswith("word…")


@pytest.fixture
async def bell():
    """Listen to a new user's bell group (in the test's event loop, as consumers do); yields
    the user and a receive-with-timeout."""
    layer = get_channel_layer()
    user = await database_sync_to_async(UserFactory)()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(user.pk), channel)

    async def receive() -> dict | None:
        try:
            return await asyncio.wait_for(layer.receive(channel), 0.5)
        except TimeoutError:
            return None

    yield user, receive
    await layer.group_discard(live.group_name(user.pk), channel)


class Rollback(Exception):
    pass


@database_sync_to_async
def _notify_in_transaction(user, receive, *, key: str, commit: bool) -> dict | None:
    """Notify inside a transaction, committed or rolled back; what the bell got meanwhile."""
    try:
        with transaction.atomic():
            services.notify(user=user, **{**EVENT, "key": key})
            meanwhile = async_to_sync(receive)()
            if not commit:
                raise Rollback
    except Rollback:
        pass
    return meanwhile


@pytest.mark.django_db(transaction=True)
async def test_the_bells_are_told_after_the_commit_and_never_on_rollback(bell):
    user, receive = bell

    assert await _notify_in_transaction(user, receive, key="one", commit=True) is None
    assert await receive() == {"type": live.MESSAGE_TYPE}

    assert await _notify_in_transaction(user, receive, key="other", commit=False) is None
    assert await receive() is None


@pytest.mark.django_db(transaction=True)
async def test_a_kind_not_shown_in_the_site_tells_no_bell(bell):
    user, receive = bell
    await database_sync_to_async(services.preferences_set)(
        user=user, in_site=[], by_email=[NotificationKind.DEAL_FINISHED]
    )

    await database_sync_to_async(services.notify)(user=user, **EVENT)

    assert await receive() is None


def test_reading_one_or_all():
    user = UserFactory()
    first, *_ = NotificationFactory.create_batch(3, user=user)
    someone_elses = NotificationFactory()

    assert services.notification_mark_read(user=user, pk=first.pk) is True
    assert services.notification_mark_read(user=user, pk=first.pk) is False  # read already
    assert services.notification_mark_read(user=user, pk=someone_elses.pk) is False
    assert services.notifications_mark_all_read(user=user) == 2

    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 0
    someone_elses.refresh_from_db()
    assert someone_elses.read_at is None


# ---------------------------------------------------------------------- what the site tells


@pytest.mark.parametrize(
    ("status", "action", "kind", "title"),
    [
        (
            "pending",
            "approve",
            NotificationKind.LISTING_APPROVED,
            "Resizer was approved: it is public now",
        ),
        (
            "pending",
            "feature",
            NotificationKind.LISTING_APPROVED,
            "Resizer was approved: it is public now",
        ),
        (
            "approved",
            "request_changes",
            NotificationKind.CHANGES_REQUESTED,
            "Changes requested to Resizer",
        ),
    ],
)
def test_a_curators_decision_is_told_to_the_provider(status, action, kind, title):
    listing = ListingFactory(name="Resizer", status=status)
    curator = UserFactory(is_staff=True)

    listing_curate(listing=listing, actor=curator, action=action, reason="Add an icon.")

    notification = Notification.objects.get()
    assert (notification.user, notification.kind, notification.title) == (
        listing.owner,
        kind,
        title,
    )
    assert notification.url == listing.get_absolute_url()
    assert "“Add an icon.”" in notification.body


@pytest.mark.parametrize(("status", "action"), [("featured", "unfeature"), ("approved", "delist")])
def test_curation_moves_that_neither_publish_nor_ask_tell_nobody(status, action):
    listing = ListingFactory(status=status)

    listing_curate(listing=listing, actor=UserFactory(is_staff=True), action=action, reason="Spam.")

    assert not Notification.objects.exists()


def test_approving_again_after_changes_is_told_again():
    listing = ListingFactory(name="Resizer", status="pending")
    curator = UserFactory(is_staff=True)

    listing_curate(listing=listing, actor=curator, action="approve")
    listing_curate(listing=listing, actor=curator, action="request_changes", reason="Icon.")
    listing_curate(listing=listing, actor=curator, action="approve")

    assert list(Notification.objects.order_by("id").values_list("kind", flat=True)) == [
        NotificationKind.LISTING_APPROVED,
        NotificationKind.CHANGES_REQUESTED,
        NotificationKind.LISTING_APPROVED,
    ]


def test_a_matched_standing_request_is_told_to_the_requesters_users_once():
    requester = WalletFactory()
    publisher = UserFactory()
    dealid = "0x" + "ab" * 32

    for _ in range(2):
        services.notify_standing_matched(
            chain_id=31337,
            dealid=dealid.upper().replace("0X", "0x"),
            request_digest="0x" + "cd" * 32,
            requester=requester.address.lower(),
            publisher=publisher,
        )

    told = Notification.objects.order_by("id")
    assert [n.user for n in told] == [requester.user, publisher]
    assert {n.key for n in told} == {f"standing-matched:31337:{dealid}"}
    assert {n.url for n in told} == {f"/deals/{dealid}/"}
    assert told[0].title == "Your standing request 0xcdcdcdcd… was matched"


def test_a_review_and_a_reply_are_told_to_the_provider_and_the_reviewer():
    provider, reviewer = UserFactory(), UserFactory()

    services.notify_review(
        review_id=7,
        user=provider,
        listing_name="Resizer",
        listing_url="/apps/resizer/",
        author_name="alice",
        stars=4,
        excerpt="Fast and  exact.",
    )
    services.notify_review_reply(
        reply_id=8,
        user=reviewer,
        listing_name="Resizer",
        listing_url="/apps/resizer/",
        author_name="bob",
        excerpt="Thanks!",
    )

    review, reply = Notification.objects.order_by("id")
    assert (review.user, review.key, review.title, review.body) == (
        provider,
        "review:7",
        "alice reviewed Resizer (4 of 5 stars)",
        "“Fast and exact.”",
    )
    assert (reply.user, reply.key, reply.title) == (
        reviewer,
        "review-reply:8",
        "bob replied to your review of Resizer",
    )


def test_escrow_running_low_is_told_once_per_time_it_goes_under():
    user = UserFactory()
    since = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    arguments = {
        "user": user,
        "chain_id": 31337,
        "address": "0x" + "Ab" * 20,
        "runway": datetime.timedelta(hours=3),
        "threshold": datetime.timedelta(hours=24),
        "url": "/escrow/",
    }

    first = services.notify_runway_low(since=since, **arguments)
    assert services.notify_runway_low(since=since, **arguments) is None
    later = services.notify_runway_low(since=since + datetime.timedelta(days=2), **arguments)

    assert first.title == "Your escrow runs out in about 3 h"
    assert first.body == (
        f"At its current spending, the escrow of {arguments['address']} pays for about 3 h "
        "more, under the warning threshold of 24 h. Deposit ECT on the wallets page to keep "
        "your tasks and standing requests running."
    )
    assert later is not None and later.key != first.key


def test_the_matcher_tells_the_requester_once_when_their_standing_request_becomes_a_deal(
    chain, hub_deployment, opened_market
):
    record_deployment(hub_deployment)
    market = open_book(opened_market.copy())
    index_to_head(hub_deployment)
    requester = WalletFactory(address=market.requester.address).user
    order = stand(market, requester)
    assert match_round(market).matched == []
    assert not Notification.objects.exists()  # waiting: nothing to tell

    pool_offer(market, price=3)
    (dealid,) = match_round(market).matched
    match_round(market)

    matched = Notification.objects.get()
    assert (matched.user, matched.kind, matched.key, matched.url) == (
        requester,
        NotificationKind.STANDING_MATCHED,
        f"standing-matched:31337:{dealid}",
        f"/deals/{dealid}/",
    )
    assert matched.title == f"Your standing request {order.digest[:10]}… was matched"
