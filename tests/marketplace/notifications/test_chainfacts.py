"""What the chain tells buyers, on anvil: a deal finished, a task given up or failed past its
deadline (refund claimed), tasks whose refund is claimable; told once, from confirmed blocks
only, to the users of the deal's wallets."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from marketplace.chain import client
from marketplace.indexer.models import Task
from marketplace.notifications import chainfacts
from marketplace.notifications.models import DealWatch, EmailOutbox, Notification, NotificationKind
from tests.chain_scaffold import ECT, Market, new_digest
from tests.factories.accounts import WalletFactory
from tests.factories.notifications import VerifiedEmailFactory
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


@pytest.fixture
def buyer(market):
    """The user of the market's requester wallet, with a verified email address."""
    wallet = WalletFactory(address=market.requester.address)
    VerifiedEmailFactory(user=wallet.user)
    return wallet.user


def _deal(market: Market, *, volume: int) -> bytes:
    orders = market.sign_orders(
        app_price=2 * ECT, dataset_price=None, workerpool_price=3 * ECT, volume=volume
    )
    return market.match(orders)


def _complete(market: Market, dealid: bytes, idx: int) -> bytes:
    taskid = market.initialize(dealid, idx)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    return taskid


@pytest.fixture
def index(hub_deployment, django_capture_on_commit_callbacks):
    """Index to the head, its followers told after each batch's commit as in production."""

    def index(**options):
        with django_capture_on_commit_callbacks(execute=True):
            index_to_head(hub_deployment, **options)

    return index


def _told() -> list[tuple[str, str, str]]:
    return list(Notification.objects.order_by("id").values_list("kind", "key", "title"))


def test_a_deal_is_told_finished_once_when_its_last_task_ends(market, index, buyer):
    dealid = _deal(market, volume=2)
    key = "0x" + dealid.hex()
    _complete(market, dealid, 0)
    index()
    assert _told() == []  # one task still to run

    _complete(market, dealid, 1)
    index()
    index()
    chainfacts.deals_announce(chain_id=31337, dealids=[key])  # told again: nothing new

    assert _told() == [
        (
            NotificationKind.DEAL_FINISHED,
            f"deal-finished:{key}:31337",
            "Your deal of Word count finished: 2 of 2 tasks completed",
        )
    ]
    notification = Notification.objects.get()
    assert (notification.user, notification.url) == (buyer, f"/deals/{key}/")
    assert EmailOutbox.objects.get().notification == notification


def test_a_task_given_up_is_told_with_its_reason_and_its_deal_finished(market, index, buyer):
    dealid = _deal(market, volume=1)
    key = "0x" + dealid.hex()
    taskid = market.initialize(dealid)
    market.hub.give_up(sender=market.sender(market.scheduler), taskid=taskid)

    index()

    assert _told() == [
        (
            NotificationKind.TASK_FAILED,
            f"task-given-up:0x{taskid.hex()}:31337",
            "Task #0 of your deal of Word count was given up",
        ),
        (
            NotificationKind.DEAL_FINISHED,
            f"deal-finished:{key}:31337",
            "Your deal of Word count finished: 0 of 1 task completed, 1 failed and refunded "
            "(5 ECT)",
        ),
    ]
    given_up = Notification.objects.get(kind=NotificationKind.TASK_FAILED)
    assert given_up.body == (
        "Why: its pool's scheduler gave it up before its final deadline, as its workers could "
        "not complete it. The payer was refunded 5 ECT at once."
    )
    assert given_up.url == f"/deals/{key}/tasks/0/"


def test_a_task_claimed_past_its_deadline_is_told_as_a_refund_claimed(market, index, buyer):
    dealid = _deal(market, volume=2)
    taskid = market.initialize(dealid, 0)
    deadline = market.hub.task(taskid).final_deadline
    market.advance(deadline - market.now())
    market.hub.claim(sender=market.sender(market.funder), taskid=taskid)

    index()

    claimed = Notification.objects.get()
    assert (claimed.kind, claimed.key, claimed.title) == (
        NotificationKind.REFUND_CLAIMED,
        f"refund-claimed:0x{taskid.hex()}:31337",
        "Task #0 of your deal of Word count failed: refund claimed",
    )
    final = datetime.datetime.fromtimestamp(deadline, tz=datetime.UTC)
    assert claimed.body == (
        f"Why: it had no result by its final deadline ({final:%Y-%m-%d %H:%M} UTC). Its refund "
        "was claimed: 5 ECT back to the payer's escrow."
    )


def test_tasks_past_their_deadline_are_told_claimable_once_per_deal(market, index, buyer):
    dealid = _deal(market, volume=3)
    key = "0x" + dealid.hex()
    market.initialize(dealid, 0)
    market.initialize(dealid, 1)
    index()
    deadline = Task.objects.filter(dealid=key).order_by("final_deadline").first().final_deadline

    assert (
        chainfacts.claimable_announce(chain_id=31337, now=deadline - datetime.timedelta(seconds=1))
        == 0
    )
    assert chainfacts.claimable_announce(chain_id=31337, now=deadline) == 1
    assert (
        chainfacts.claimable_announce(chain_id=31337, now=deadline + datetime.timedelta(hours=1))
        == 0
    )

    claimable = Notification.objects.get()
    assert (claimable.kind, claimable.key, claimable.title) == (
        NotificationKind.REFUND_CLAIMABLE,
        f"refund-claimable:{key}:31337",
        "2 tasks of your deal of Word count can be refunded",
    )
    assert claimable.body == (
        f"2 tasks passed their final deadline ({deadline:%Y-%m-%d %H:%M} UTC) without a "
        "result: anyone may claim their refund, 10 ECT, which goes back to the payer's escrow."
    )


def test_facts_older_than_the_max_age_are_not_told(market, index, buyer, settings):
    settings.NOTIFICATIONS_MAX_AGE_DAYS = 1
    dealid = _deal(market, volume=1)
    _complete(market, dealid, 0)
    index()
    Notification.objects.all().delete()

    later = timezone.now() + datetime.timedelta(days=2)
    assert chainfacts.deals_announce(chain_id=31337, dealids=["0x" + dealid.hex()], now=later) == 0
    assert not Notification.objects.exists()


def test_a_deal_without_a_user_behind_its_wallets_tells_nobody(market, index):
    dealid = _deal(market, volume=1)
    _complete(market, dealid, 0)

    index()

    assert not Notification.objects.exists()


def test_a_fact_in_an_unconfirmed_block_waits_for_its_confirmation(market, index, buyer):
    dealid = _deal(market, volume=1)
    key = "0x" + dealid.hex()
    _complete(market, dealid, 0)

    index(confirmations=6)
    assert _told() == []
    watch = DealWatch.objects.get()
    assert watch.dealid == key
    assert chainfacts.watched_announce(chain_id=31337) == 0  # still unconfirmed

    for _ in range(6):
        client.rpc("evm_mine", w3=market.w3)
    index(confirmations=6)
    assert chainfacts.watched_announce(chain_id=31337) == 1

    assert [kind for kind, _, _ in _told()] == [NotificationKind.DEAL_FINISHED]
    assert not DealWatch.objects.exists()


def test_a_fact_a_reorganization_took_back_is_never_told(market, index, buyer):
    dealid = _deal(market, volume=1)
    taskid = market.initialize(dealid)
    index(confirmations=6)
    fork_point = client.rpc("evm_snapshot", w3=market.w3)
    market.hub.give_up(sender=market.sender(market.scheduler), taskid=taskid)
    index(confirmations=6)
    assert DealWatch.objects.filter(dealid="0x" + dealid.hex()).exists()

    client.rpc("evm_revert", [fork_point], w3=market.w3)
    for _ in range(8):
        client.rpc("evm_mine", w3=market.w3)
    index(confirmations=6)
    chainfacts.watched_announce(chain_id=31337)

    assert _told() == []
    assert Task.objects.get(taskid="0x" + taskid.hex()).status == "active"
    assert not DealWatch.objects.exists()
