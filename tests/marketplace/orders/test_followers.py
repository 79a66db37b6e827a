"""The order book's followers of the indexer: the runway warnings after a batch."""

from __future__ import annotations

import pytest
from django.db import transaction

from marketplace.indexer.followers import IndexedBatch, tell_followers
from marketplace.notifications.models import Notification
from marketplace.orders.followers import RunwayFollower
from tests.factories.accounts import WalletFactory
from tests.factories.deals import DealFactory
from tests.factories.funds import EscrowAccountFactory

pytestmark = pytest.mark.django_db(transaction=True)

ECT = 10**9


def _short_wallet():
    """A linked wallet with 1 ECT free that spent 7 ECT today: it lasts a day."""
    wallet = WalletFactory()
    EscrowAccountFactory(address=wallet.address, stake=ECT)
    DealFactory(payer=wallet.address, requester=wallet.address, app_price=ECT, volume=7)
    return wallet


def test_a_batch_touching_a_short_wallet_warns_its_owner_once_it_commits(settings):
    settings.RUNWAY_WARNING_DAYS = 3
    wallet = _short_wallet()
    batch = IndexedBatch(chain_id=settings.CHAIN_ID, addresses=frozenset({wallet.address}))

    with transaction.atomic():
        tell_followers(batch)
        assert not Notification.objects.exists()  # told after the commit, never on rollback

    assert Notification.objects.get().user == wallet.user


def test_a_reindexed_chain_warns_nobody(settings):
    settings.RUNWAY_WARNING_DAYS = 3
    _short_wallet()

    RunwayFollower()(IndexedBatch(chain_id=settings.CHAIN_ID, everything=True))

    assert not Notification.objects.exists()
