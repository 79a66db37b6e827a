"""Demand as a pool operator sees it: what a pool's Requirements match of the latest requests
asked of the market, and which open standing requests in the book it could serve, and why not
the others."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from eth_account import Account

from dappstore.models import App
from marketplace.chain.orders import RequestOrder, WorkerpoolOrder, sign_order, typed_data
from marketplace.matchmaking.classads import ExpressionRefused
from marketplace.orders.demand import demand_check, pool_demand
from marketplace.orders.models import DemandSample, Order
from marketplace.orders.services import order_publish
from pools.models import Workerpool
from tests.chain_scaffold import ECT
from tests.pools.members import admit

pytestmark = pytest.mark.django_db

POOL = {"cpu_cores": 4, "memory_mb": 8192, "location": "eu-west", "energy_class": "B"}


def sample(requirements: dict, *, volume: int = 1, app_requirement: str = "", **request):
    """A request as a quote keeps it (the market always asks trust 1 or more)."""
    return DemandSample.objects.create(
        chain_id=request.pop("chain_id", settings.CHAIN_ID),
        request={
            "Requester": "0x" + "44" * 20,
            "App": "0x" + "a1" * 20,
            "AppName": "Renderer",
            "AppTags": ["image"],
            "Dataset": "",
            "Category": 0,
            "Volume": volume,
            "Trust": 1,
            "RequesterDeals": 0,
            **request,
        },
        requirements={"trust": 1, **requirements},
        app_requirement=app_requirement,
    )


@pytest.fixture
def samples():
    """Seven readable recent requests against a 4-core, 8 GiB, eu-west, class B pool: three
    it has what they ask for (volumes 20, 2 and 50), four it has not; one of another chain and
    one whose requirements no longer read."""
    sample({"region": "eu-west"}, volume=20)
    sample({"region": "us-east"}, volume=30)
    sample({"cores": 16}, volume=40)
    sample({}, volume=2)
    sample({"memory_mb": 1024, "energy_class": "C"}, volume=50)
    sample({}, volume=100, app_requirement="TARGET.Memory >= 16384")
    sample({"region": "us-east"}, volume=1)
    sample({}, chain_id=1)
    sample({"region": "mars"})


def test_a_pool_without_requirements_matches_every_request_it_has_what_they_ask_for(samples):
    check = demand_check(
        chain_id=settings.CHAIN_ID, workerpool=None, attributes=POOL, requirements_text=""
    )

    assert (check.matched, check.total, check.refused_by_pool, check.ruled_out_by_requests) == (
        3,
        7,
        0,
        4,
    )
    assert dict(check.asks_for) == {
        "another region": 2,
        "more cores": 1,
        "what their app requires": 1,
    }
    assert check.unpriced == 3  # no offer of its own: their price and trust were not judged


def test_the_pools_requirements_refuse_only_requests_that_would_have_fit(samples):
    check = demand_check(
        chain_id=settings.CHAIN_ID,
        workerpool=None,
        attributes=POOL,
        requirements_text=' TARGET.Volume >= 10 && member("image", TARGET.AppTags) ',
    )

    # The volume-2 request is refused; the volume-1 one asks for another region anyway.
    assert (check.matched, check.total, check.refused_by_pool, check.ruled_out_by_requests) == (
        2,
        7,
        1,
        4,
    )


def test_attributes_the_form_does_not_give_yet_read_as_undefined(samples):
    check = demand_check(
        chain_id=settings.CHAIN_ID,
        workerpool=None,
        attributes={**POOL, "memory_mb": None},
        requirements_text="",
    )

    # The 1 GiB request and the app that needs 16 GiB cannot tell the pool has enough.
    assert (check.matched, check.ruled_out_by_requests) == (2, 5)
    assert dict(check.asks_for)["more memory"] == 1


def test_only_the_latest_requests_count(samples):
    check = demand_check(
        chain_id=settings.CHAIN_ID, workerpool=None, attributes=POOL, requirements_text="", limit=4
    )

    # The newest four of this chain: the one that no longer reads (left out), us-east, the app
    # that needs 16 GiB, and the 1 GiB class C request (the only one that fits).
    assert (check.matched, check.total, check.ruled_out_by_requests) == (1, 3, 2)


def test_no_request_yet_is_an_empty_check():
    check = demand_check(
        chain_id=settings.CHAIN_ID, workerpool=None, attributes=POOL, requirements_text=""
    )

    assert (check.matched, check.total, check.refused_by_pool, check.ruled_out_by_requests) == (
        0,
        0,
        0,
        0,
    )


def test_requirements_that_do_not_read_are_refused_with_the_parsers_words(samples):
    with pytest.raises(ExpressionRefused, match="the request's ad has no Colour"):
        demand_check(
            chain_id=settings.CHAIN_ID,
            workerpool=None,
            attributes=POOL,
            requirements_text='TARGET.Colour == "red"',
        )


# ---------------------------------------------------------------------- on chain


def _publish(market, order, key) -> Order:
    kind = "workerpool" if isinstance(order, WorkerpoolOrder) else "request"
    return order_publish(
        kind=kind,
        order=typed_data(order, market.domain)["message"],
        signature="0x" + sign_order(order, market.domain, key).hex(),
    )


@pytest.fixture
def pool(market):
    """The market's pool listed here (4 cores, 8 GiB, eu-west, class B; it takes requests of
    10 tasks or more), its four workers members, one offer of XS tasks at 3 ECT, trust 1."""
    admit(market.workerpool, market.workers)
    # Indexed, the pool got a listing that its owner describes now.
    Workerpool.objects.filter(listing__chain_address=market.workerpool).update(
        requirements="TARGET.Volume >= 10", **POOL
    )
    offer = WorkerpoolOrder(
        workerpool=market.workerpool, workerpoolprice=3 * ECT, volume=50, category=0, trust=1
    )
    market.offer = _publish(market, offer, market.scheduler.key)
    return market


def standing(market, requirements: dict, *, expires_in: int | None = 60, **fields) -> Order:
    """A request order in the book with the buyer's requirements, leaving it in `expires_in`
    minutes (None: never)."""
    request = RequestOrder(
        **{
            "app": market.app,
            "appmaxprice": ECT,
            "workerpoolmaxprice": 3 * ECT,
            "requester": market.requester.address,
            "volume": 10,
            "category": 0,
            "beneficiary": market.requester.address,
            **fields,
        }
    )
    order = _publish(market, request, market.requester.key)
    expires = (
        None if expires_in is None else timezone.now() + datetime.timedelta(minutes=expires_in)
    )
    Order.objects.filter(pk=order.pk).update(requirements=requirements, expires_at=expires)
    order.refresh_from_db()
    return order


def test_a_standing_request_the_pool_fits_both_ways_is_one_it_could_serve(pool):
    order = standing(pool, {"region": "eu-west", "cores": 4}, expires_in=None)

    (line,) = pool_demand(chain_id=settings.CHAIN_ID, workerpool=pool.workerpool)

    assert (line.order, line.servable, line.offer, line.reasons) == (order, True, pool.offer, ())


def test_each_request_the_pool_cannot_serve_says_why(pool):
    app = App.objects.select_related("listing").get(listing__chain_address=pool.app)
    App.objects.filter(pk=app.pk).update(requirements="TARGET.Memory >= 16384")
    region = standing(pool, {"region": "us-east"})
    small = standing(pool, {}, volume=2)
    other_pool = Account.create().address
    elsewhere = standing(pool, {}, workerpool=other_pool)
    category = standing(pool, {}, category=1)
    standing(pool, {}, expires_in=-1)  # expired: no longer standing

    lines = pool_demand(chain_id=settings.CHAIN_ID, workerpool=pool.workerpool)

    app_needs = (
        f"This pool does not meet what {app.listing.name} requires (TARGET.Memory >= 16384)."
    )
    assert [(line.order, line.servable, line.reasons) for line in lines] == [
        (category, False, ("This pool has no open offer for S tasks.",)),
        (elsewhere, False, (f"It asks for another pool ({other_pool}).",)),
        (
            small,
            False,
            (app_needs, "Your requirements refuse it: TARGET.Volume >= 10 does not hold."),
        ),
        (region, False, ("This pool is outside North America East.", app_needs)),
    ]


def test_a_registered_pools_offers_price_the_requests_of_their_category(pool):
    sample({"max_price": "2.5"}, volume=10)  # its XS offer asks 3 ECT
    sample({"max_price": "5"}, volume=10)
    sample({"max_price": "0.1"}, volume=10, Category=1)  # no S offer: price not judged
    sample({}, volume=2)

    check = demand_check(
        chain_id=settings.CHAIN_ID,
        workerpool=pool.workerpool,
        attributes=POOL,
        requirements_text="TARGET.Volume >= 10",
    )

    assert (check.matched, check.total, check.refused_by_pool, check.ruled_out_by_requests) == (
        2,
        4,
        1,
        1,
    )
    assert (check.unpriced, check.asks_for) == (1, (("a lower price", 1),))


def test_the_pools_rank_orders_the_requests_it_would_take_first(pool):
    Workerpool.objects.filter(listing__chain_address=pool.workerpool).update(
        rank="TARGET.Volume * 2"
    )
    ten = standing(pool, {}, volume=10)
    twenty = standing(pool, {}, volume=20)
    small = standing(pool, {}, volume=2)  # refused by its Requirements, ranked all the same

    lines = pool_demand(chain_id=settings.CHAIN_ID, workerpool=pool.workerpool)

    assert [(line.order, line.servable, line.rank) for line in lines] == [
        (twenty, True, 40.0),
        (ten, True, 20.0),
        (small, False, 4.0),
    ]


def test_without_a_rank_the_newest_request_comes_first(pool):
    first, second = standing(pool, {}), standing(pool, {}, volume=11)
    lines = pool_demand(chain_id=settings.CHAIN_ID, workerpool=pool.workerpool)
    assert [(line.order, line.rank) for line in lines] == [(second, None), (first, None)]
