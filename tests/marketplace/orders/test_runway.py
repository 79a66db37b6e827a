"""The runway of a wallet's escrow at the rate it spends, and the stake its open pool offers
need, hand-checked."""

from __future__ import annotations

import datetime
from fractions import Fraction

import pytest

from marketplace.indexer.models import OrderKind
from marketplace.notifications.models import Notification
from marketplace.orders import runway
from marketplace.orders.models import OrderStatus
from tests.factories.accounts import WalletFactory
from tests.factories.deals import DealFactory
from tests.factories.funds import BookOrderFactory, EscrowAccountFactory, PoolAssetFactory

pytestmark = pytest.mark.django_db

ECT = 10**9
NOW = datetime.datetime(2026, 1, 10, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)
BUYER = "0x" + "b0" * 20
OPERATOR = "0x" + "0a" * 20


def _deal(*, payer: str = BUYER, days_ago: float, price: tuple[int, int, int], volume: int):
    app, dataset, pool = price
    return DealFactory(
        payer=payer,
        requester=payer,
        start_time=NOW - datetime.timedelta(days=days_ago),
        app_price=app,
        dataset_price=dataset,
        workerpool_price=pool,
        volume=volume,
    )


def _standing(*, price: int, volume: int, remaining: int, expires_in, **fields):
    return BookOrderFactory(
        kind=OrderKind.REQUEST,
        signer=BUYER,
        price=price,
        volume=volume,
        consumed=volume - remaining,
        expires_at=NOW + expires_in,
        **fields,
    )


def _runway() -> runway.Runway:
    return runway.wallet_runway(chain_id=31337, address=BUYER, now=NOW)


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (None, "no recent spending"),
        (Fraction(99, 100), "less than a day"),
        (Fraction(1), "~1 day"),
        (Fraction(39, 10), "~3 days"),  # counted down: never more than there is
        (Fraction(599, 10), "~59 days"),
        (Fraction(60), "~2 months"),
        (Fraction(364), "~12 months"),
        (Fraction(365), "more than a year"),
    ],
)
def test_the_runway_is_said_in_words(days, words):
    assert runway.runway_words(days) == words


def test_the_rate_is_what_the_deals_paid_in_the_last_7_days_cost_a_day():
    EscrowAccountFactory(address=BUYER, stake=3 * ECT // 2, locked=2 * ECT)
    # 0.7 ECT a task, 5 tasks, two days ago: 3.5 ECT in 7 days, 0.5 ECT a day.
    _deal(days_ago=2, price=(ECT // 2, ECT // 10, ECT // 10), volume=5)
    _deal(days_ago=8, price=(10 * ECT, 0, 0), volume=1)  # before the 7 days
    _deal(payer=OPERATOR, days_ago=1, price=(10 * ECT, 0, 0), volume=1)  # another payer's

    found = _runway()

    assert (found.free, found.locked, found.spent, found.committed) == (
        3 * ECT // 2,
        2 * ECT,
        7 * ECT // 2,
        0,
    )
    assert found.daily_rate == Fraction(ECT, 2)
    assert found.days == 3  # 1.5 ECT free / 0.5 ECT a day
    assert found.sentence == (
        "You spend about 0.5 ECT a day (3.5 ECT on deals in the last 7 days). At this rate "
        "your escrow lasts ~3 days."
    )
    assert found.offers_need is None and found.offers_sentence == ""


def test_standing_requests_spend_what_they_may_until_they_expire():
    EscrowAccountFactory(address=BUYER, stake=3 * ECT // 2)
    _deal(days_ago=2, price=(ECT // 2, ECT // 10, ECT // 10), volume=5)  # 0.5 ECT a day
    # 2 ECT a task at most, 3 tasks left, 10 days to go: 6 ECT, 0.6 ECT a day.
    _standing(price=2 * ECT, volume=5, remaining=3, expires_in=10 * DAY)
    # 1 ECT left, expiring in 6 hours: it may match all at once, 1 ECT within the day.
    _standing(price=ECT, volume=1, remaining=1, expires_in=datetime.timedelta(hours=6))
    # None of these may spend any more.
    _standing(price=50 * ECT, volume=1, remaining=1, expires_in=-DAY)
    _standing(
        price=50 * ECT,
        volume=1,
        remaining=1,
        expires_in=DAY,
        status=OrderStatus.CANCELLED,
        unpublished=True,
    )
    _standing(price=50 * ECT, volume=1, remaining=0, expires_in=DAY, status=OrderStatus.FILLED)

    found = _runway()

    assert found.committed == 7 * ECT
    assert found.daily_rate == Fraction(21 * ECT, 10)  # 0.5 + 0.6 + 1
    assert found.days == Fraction(5, 7)  # 1.5 / 2.1
    assert found.sentence == (
        "You spend about 2.1 ECT a day (3.5 ECT on deals in the last 7 days, and your standing "
        "requests may spend 7 ECT more before they expire). At this rate your escrow lasts less "
        "than a day."
    )


def test_a_standing_request_waiting_for_a_deposit_still_counts():
    EscrowAccountFactory(address=BUYER, stake=10 * ECT)
    _standing(
        price=4 * ECT, volume=5, remaining=5, expires_in=4 * DAY, status=OrderStatus.DEAD
    )  # 20 ECT over 4 days

    found = _runway()

    assert (found.committed, found.daily_rate, found.lasts) == (20 * ECT, 5 * ECT, "~2 days")


def test_a_wallet_that_spends_nothing_keeps_its_escrow():
    EscrowAccountFactory(address=BUYER, stake=ECT)

    found = _runway()

    assert (found.daily_rate, found.days, found.lasts) == (0, None, "no recent spending")
    assert found.sentence == (
        "No recent spending: no deal paid in the last 7 days and no standing request waiting, "
        "so your free escrow stays as it is."
    )


def test_a_wallet_the_index_has_not_seen_has_nothing():
    found = _runway()

    assert (found.free, found.locked, found.spent, found.daily_rate) == (0, 0, 0, 0)


def test_open_offers_need_the_stake_the_hub_locks_for_them():
    EscrowAccountFactory(address=OPERATOR, stake=2_000 * ECT)
    pool = PoolAssetFactory(owner=OPERATOR, worker_stake_ratio=30)
    # 10 ECT a task x 30 % x 100 tasks left: 300 ECT each; dead for want of stake counts too.
    BookOrderFactory(asset=pool.address, signer=OPERATOR, price=10 * ECT, volume=100)
    BookOrderFactory(
        asset=pool.address,
        signer=OPERATOR,
        price=20 * ECT,
        volume=80,
        consumed=30,
        status=OrderStatus.DEAD,
    )  # 20 x 30 % x 50 = 300 ECT
    # Nothing more to stake for these.
    BookOrderFactory(
        asset=pool.address,
        signer=OPERATOR,
        price=10 * ECT,
        volume=5,
        consumed=5,
        status=OrderStatus.FILLED,
    )
    BookOrderFactory(
        asset=pool.address,
        signer=OPERATOR,
        price=10 * ECT,
        volume=5,
        status=OrderStatus.CANCELLED,
        unpublished=True,
    )
    sold = PoolAssetFactory(owner=BUYER)  # sold since its former owner signed an offer
    BookOrderFactory(asset=sold.address, signer=OPERATOR, price=ECT, volume=9, status="dead")
    BookOrderFactory(signer=OPERATOR, price=ECT, volume=9)  # a pool the index has not seen

    found = runway.wallet_runway(chain_id=31337, address=OPERATOR, now=NOW)

    assert found.offers_need == 600 * ECT
    assert found.offers_sentence == (
        "Your open offers need 600 ECT of stake; you have 2,000 ECT free: enough for all."
    )


def test_open_offers_the_escrow_does_not_cover_say_what_is_short():
    EscrowAccountFactory(address=OPERATOR, stake=500 * ECT)
    pool = PoolAssetFactory(owner=OPERATOR, worker_stake_ratio=30)
    BookOrderFactory(asset=pool.address, signer=OPERATOR, price=20 * ECT, volume=100)

    found = runway.wallet_runway(chain_id=31337, address=OPERATOR, now=NOW)

    assert found.offers_sentence == (
        "Your open offers need 600 ECT of stake; you have 500 ECT free: 100 ECT short. Deposit "
        "100 ECT, or lower your offers' volumes: buyers cannot take the offers your escrow does "
        "not cover."
    )


def test_several_wallets_are_read_in_their_order():
    EscrowAccountFactory(address=BUYER, stake=ECT)
    EscrowAccountFactory(address=OPERATOR, stake=2 * ECT)

    found = runway.wallets_runway(chain_id=31337, addresses=[OPERATOR, BUYER], now=NOW)

    assert [(w.address, w.free) for w in found] == [(OPERATOR, 2 * ECT), (BUYER, ECT)]


def test_the_owner_of_a_wallet_under_the_warning_days_is_told_once_a_day(settings):
    settings.RUNWAY_WARNING_DAYS = 3
    wallet = WalletFactory(address=BUYER)
    EscrowAccountFactory(address=BUYER, stake=3 * ECT // 2)
    _deal(days_ago=2, price=(ECT // 2, ECT // 10, ECT // 10), volume=5)  # 3 days left

    assert runway.runway_warnings(chain_id=31337, addresses=[BUYER], now=NOW) == 0
    settings.RUNWAY_WARNING_DAYS = 3.5
    assert runway.runway_warnings(chain_id=31337, addresses=[BUYER, OPERATOR], now=NOW) == 1
    # Still short an hour later: the same day, told already; the next day, told again.
    assert runway.runway_warnings(chain_id=31337, addresses=[BUYER], now=NOW + HOUR) == 0
    assert runway.runway_warnings(chain_id=31337, addresses=[BUYER], now=NOW + DAY) == 1

    told = Notification.objects.filter(user=wallet.user).order_by("id")
    assert [n.title for n in told] == ["Your escrow runs out in about 3 days"] * 2
    assert told[0].url == "/accounts/wallets/"


def test_a_wallet_spending_nothing_or_linked_to_nobody_is_never_told(settings):
    settings.RUNWAY_WARNING_DAYS = 3
    WalletFactory(address=BUYER)
    EscrowAccountFactory(address=OPERATOR, stake=ECT // 2)
    _deal(payer=OPERATOR, days_ago=2, price=(ECT, 0, 0), volume=5)  # short, but nobody's

    assert runway.runway_warnings(chain_id=31337, addresses=[BUYER, OPERATOR], now=NOW) == 0
    assert not Notification.objects.exists()


def test_a_days_spending_counts_deals_and_standing_requests_published_in_it():
    _deal(days_ago=0.5, price=(ECT, 0, 0), volume=2)  # 2 ECT
    _deal(days_ago=1.5, price=(ECT, 0, 0), volume=7)  # the day before
    today = _standing(price=ECT, volume=4, remaining=3, expires_in=DAY)  # 3 ECT may be spent
    yesterday = _standing(price=ECT, volume=4, remaining=4, expires_in=DAY)
    type(today).objects.filter(pk=today.pk).update(created_at=NOW - datetime.timedelta(hours=2))
    type(yesterday).objects.filter(pk=yesterday.pk).update(created_at=NOW - 2 * DAY)

    spent = runway.recent_spending(chain_id=31337, address=BUYER, since=NOW - DAY, now=NOW)

    assert spent == 5 * ECT


def test_the_demo_buyer_and_pool_operators_see_their_runway(chain, hub_deployment, client):
    """What `make run` shows: the demo's buyer has paid its first deal and waits with a standing
    request; the demo's pool operators stake for their offers."""
    from django.core.management import call_command

    from marketplace.accounts.models import Wallet
    from marketplace.chain.keys import DEV_ADDRESSES
    from marketplace.demo.onchain import DEMO_POOL_STAKE
    from marketplace.indexer.models import Deal
    from marketplace.orders.models import Order
    from tests.marketplace.demo.deployments import record_deployment
    from tests.marketplace.indexer.helpers import index_to_head

    record_deployment(hub_deployment)
    call_command("seed_demo")
    index_to_head(hub_deployment)

    buyer, operator = runway.wallets_runway(
        chain_id=31337, addresses=[DEV_ADDRESSES[5], DEV_ADDRESSES[1]]
    )
    (deal,) = Deal.objects.filter(payer=DEV_ADDRESSES[5])
    (request,) = Order.objects.filter(kind=OrderKind.REQUEST)
    assert buyer.spent == deal.task_price * deal.volume > 0
    assert buyer.committed == int(request.price) * request.remaining > 0
    assert buyer.lasts == "more than a year"
    assert operator.free >= DEMO_POOL_STAKE  # its stake, and what the demo's tasks earned it
    assert operator.offers_need > 0
    assert operator.offers_sentence.endswith("ECT free: enough for all.")
    client.force_login(Wallet.objects.get(address=DEV_ADDRESSES[5]).user)
    page = client.get("/accounts/wallets/").content.decode()
    assert f"<p data-runway>{buyer.sentence}</p>" in page


def test_a_rate_is_said_to_three_significant_digits():
    EscrowAccountFactory(address=BUYER, stake=ECT)
    _deal(days_ago=1, price=(465 * ECT // 1000, 0, 0), volume=1)  # 0.066428571... ECT a day

    assert _runway().sentence == (
        "You spend about 0.0664 ECT a day (0.465 ECT on deals in the last 7 days). At this rate "
        "your escrow lasts ~15 days."
    )
