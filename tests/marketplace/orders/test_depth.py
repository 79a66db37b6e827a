"""Market depth from the book: the tasks offered at each price (open offers anyone may take, by
their remaining volume) and the tasks open requests ask for at the max price each accepts for
the part in question; a pool's and the market's of one category. Orders signed and published
on anvil, as their owners do."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from eth_account import Account

from marketplace.chain.orders import AppOrder, DatasetOrder, WorkerpoolOrder
from marketplace.orders.depth import Depth, DepthLevel, asset_depth, category_depth
from marketplace.orders.models import Order, OrderStatus
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.marketplace.orders.standing_helpers import stand
from tests.marketplace.orders.test_purchases import publish
from tests.pools.members import admit

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(market):
    """App offers at 2 ECT (50 tasks), 1 ECT (50 and 30), one taken off the book, one for one
    buyer only; a dataset offer; pool offers of XS at 3 ECT (50 tasks) and of S at 5 ECT."""
    admit(market.workerpool, market.workers)
    for price, volume in ((2, 50), (1, 50), (1, 30)):
        publish(
            market,
            AppOrder(app=market.app, appprice=price * ECT, volume=volume),
            market.app_owner.key,
        )
    withdrawn = publish(
        market, AppOrder(app=market.app, appprice=ECT // 2, volume=9), market.app_owner.key
    )
    Order.objects.filter(pk=withdrawn.pk).update(status=OrderStatus.CANCELLED, unpublished=True)
    private = AppOrder(
        app=market.app, appprice=ECT // 4, volume=7, requesterrestrict=Account.create().address
    )
    publish(market, private, market.app_owner.key)
    publish(
        market,
        DatasetOrder(dataset=market.dataset, datasetprice=ECT // 2, volume=20),
        market.dataset_owner.key,
    )
    for category, price in ((0, 3), (1, 5)):
        offer = WorkerpoolOrder(
            workerpool=market.workerpool,
            workerpoolprice=price * ECT,
            volume=50,
            category=category,
            trust=1,
        )
        publish(market, offer, market.scheduler.key)
    return market


def test_an_apps_depth_counts_the_offers_anyone_may_take_and_the_requests_for_it(book):
    # Given two standing requests of the app: 2 tasks at up to 1 ECT, 3 at up to 1.5 ECT
    requester = WalletFactory(address=book.requester.address).user
    stand(book, requester)
    stand(book, requester, appmaxprice=3 * ECT // 2, volume=3)

    depth = asset_depth(
        chain_id=settings.CHAIN_ID, kind="app", address=book.app, now=timezone.now()
    )

    # Then the withdrawn offer and the one for another buyer are not counted
    assert depth == Depth(
        offers=[
            DepthLevel(price=ECT, tasks=80, orders=2),
            DepthLevel(price=2 * ECT, tasks=50, orders=1),
        ],
        bids=[
            DepthLevel(price=3 * ECT // 2, tasks=3, orders=1),
            DepthLevel(price=ECT, tasks=2, orders=1),
        ],
    )


def test_a_dataset_is_asked_for_by_the_requests_naming_it_at_their_dataset_price(book):
    requester = WalletFactory(address=book.requester.address).user
    stand(book, requester)  # no dataset
    stand(book, requester, dataset=book.dataset, datasetmaxprice=ECT // 2, volume=4)

    depth = asset_depth(
        chain_id=settings.CHAIN_ID, kind="dataset", address=book.dataset, now=timezone.now()
    )

    assert depth == Depth(
        offers=[DepthLevel(price=ECT // 2, tasks=20, orders=1)],
        bids=[DepthLevel(price=ECT // 2, tasks=4, orders=1)],
    )


def test_a_pools_depth_and_the_markets_are_of_one_category(book):
    # Given a request of XS tasks at up to 3 ECT for a pool (any), one of S at up to 4 ECT, and
    # a second pool's XS offer at 2 ECT
    requester = WalletFactory(address=book.requester.address).user
    stand(book, requester)
    stand(book, requester, category=1, workerpoolmaxprice=4 * ECT, volume=1)
    second = book.add_workerpool(owner=book.other_scheduler, description="Pool B")
    offer = WorkerpoolOrder(workerpool=second, workerpoolprice=2 * ECT, volume=10, category=0)
    publish(book, offer, book.other_scheduler.key)
    now = timezone.now()

    xs = asset_depth(
        chain_id=settings.CHAIN_ID, kind="pool", address=book.workerpool, now=now, category=0
    )
    s = asset_depth(
        chain_id=settings.CHAIN_ID, kind="pool", address=book.workerpool, now=now, category=1
    )
    market = category_depth(chain_id=settings.CHAIN_ID, category=0, now=now)

    assert xs == Depth(
        offers=[DepthLevel(price=3 * ECT, tasks=50, orders=1)],
        bids=[DepthLevel(price=3 * ECT, tasks=2, orders=1)],
    )
    assert s == Depth(
        offers=[DepthLevel(price=5 * ECT, tasks=50, orders=1)],
        bids=[DepthLevel(price=4 * ECT, tasks=1, orders=1)],
    )
    assert market == Depth(
        offers=[
            DepthLevel(price=2 * ECT, tasks=10, orders=1),
            DepthLevel(price=3 * ECT, tasks=50, orders=1),
        ],
        bids=[DepthLevel(price=3 * ECT, tasks=2, orders=1)],
    )
    with pytest.raises(ValueError, match="one category"):
        asset_depth(chain_id=settings.CHAIN_ID, kind="pool", address=book.workerpool, now=now)


def test_requests_that_expired_or_left_the_book_ask_for_nothing(book):
    requester = WalletFactory(address=book.requester.address).user
    now = timezone.now()
    stand(book, requester, expires_at=now + datetime.timedelta(hours=1))
    cancelled = stand(book, requester, volume=5)
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)

    later = asset_depth(
        chain_id=settings.CHAIN_ID,
        kind="app",
        address=book.app,
        now=now + datetime.timedelta(hours=2),
    )

    assert later.bids == []
    assert asset_depth(chain_id=settings.CHAIN_ID, kind="app", address=book.app, now=now).bids == [
        DepthLevel(price=ECT, tasks=2, orders=1)
    ]


@pytest.mark.parametrize(
    ("kind", "category", "index"),
    [
        ("app", None, "order_open_bids_by_app"),
        ("dataset", None, "order_open_bids_by_dataset"),
        ("pool", 2, "order_open_bids_by_category"),
    ],
)
def test_the_bids_come_off_an_index_of_open_requests_in_price_order(kind, category, index):
    """However many requests the book holds, a listing's bids are read off the index of the
    open requests for its app, dataset or category, dearest first: no scan of the book's
    requests, no sort."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if connection.vendor != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    address = Account.create().address
    extra = {} if category is None else {"category": category}
    with CaptureQueriesContext(connection) as queries:
        asset_depth(
            chain_id=settings.CHAIN_ID, kind=kind, address=address, now=timezone.now(), **extra
        )
    (bids,) = [query["sql"] for query in queries if "_max_price" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {bids}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert f"USING COVERING INDEX {index}" in plan
    assert "TEMP B-TREE" not in plan
