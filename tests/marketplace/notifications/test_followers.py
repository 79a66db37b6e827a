"""Notifications follow the indexer: a batch's deals are looked at once it commits, never
inside it; a failure there never stops the indexer."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.db import DatabaseError

from marketplace.indexer.followers import IndexedBatch
from marketplace.notifications import followers
from marketplace.notifications.models import Notification, NotificationKind
from tests.chain_scaffold import ECT, Market, new_digest
from tests.factories.accounts import WalletFactory
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _finished_deal(market: Market) -> str:
    dealid = market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT)
    )
    taskid = market.initialize(dealid)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    return "0x" + dealid.hex()


def test_the_follower_is_registered_after_the_deal_pages():
    names = settings.INDEXER_FOLLOWERS
    assert names.index("marketplace.notifications.followers.NotificationsFollower") > (
        names.index("marketplace.deals.followers.DealPagesFollower")
    )
    assert followers.NotificationsFollower.in_transaction is False


def test_a_batchs_deals_are_told_once_the_batch_commits(
    market, hub_deployment, django_capture_on_commit_callbacks
):
    buyer = WalletFactory(address=market.requester.address).user
    dealid = _finished_deal(market)

    with django_capture_on_commit_callbacks() as after_commit:
        index_to_head(hub_deployment)
    assert not Notification.objects.exists()  # written, not committed: nobody told yet

    for callback in after_commit:
        callback()
    finished = Notification.objects.get()
    assert (finished.user, finished.kind, finished.key) == (
        buyer,
        NotificationKind.DEAL_FINISHED,
        f"deal-finished:{dealid}:31337",
    )


def test_a_batch_of_everything_tells_nothing_by_itself(market, hub_deployment):
    WalletFactory(address=market.requester.address)
    dealid = _finished_deal(market)
    index_to_head(hub_deployment)  # its callbacks never run here: nothing told

    followers.NotificationsFollower()(
        IndexedBatch(chain_id=31337, everything=True, dealids=frozenset({dealid}))
    )

    assert not Notification.objects.exists()


def test_a_failure_is_logged_and_never_reaches_the_indexer(monkeypatch, caplog):
    def failing(**_):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(followers, "deals_announce", failing)
    caplog.set_level(logging.ERROR, logger=followers.__name__)

    followers.NotificationsFollower()(
        IndexedBatch(chain_id=31337, dealids=frozenset({"0x" + "ab" * 32}))
    )

    assert caplog.messages == ["Notifications of 1 indexed deals were not made"]
