"""The market as a request sees it: every pool with an open offer as a ClassAd (its listing's
attributes, its track record, its offer that fits), the symmetric match, why the others do
not fit, and the purchase taking the pool the buyer's requirements and weights choose."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.chain.orders import AppOrder, WorkerpoolOrder
from marketplace.indexer.models import Asset, TaskStatus
from marketplace.matchmaking.requirements import Requirements
from marketplace.orders import matching, purchases, selectors
from marketplace.orders.models import DemandSample
from pools.records import pool_records_refresh
from tests.chain_scaffold import ECT
from tests.factories.catalogue import AppFactory, WorkerpoolFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.marketplace.orders.test_purchases import publish
from tests.pools.members import admit

pytestmark = pytest.mark.django_db


def deal_with_task(*, pool: str, seconds: float, status: str) -> None:
    """A deal of `pool` started `seconds` ago, its task ended now with `status`, on the pool's
    record (as the indexer's follower would have it)."""
    now = timezone.now()
    deal = DealFactory(workerpool=pool, start_time=now - datetime.timedelta(seconds=seconds))
    TaskFactory(
        deal=deal, status=status, finished_at=now if status == TaskStatus.COMPLETED else None
    )
    pool_records_refresh(chain_id=deal.chain_id, workerpools=[pool])


@pytest.fixture
def two_pools(market, index):
    """Lyon (the market's pool: eu-west, 4 cores, class C, four members) sells XS at 3 ECT;
    Ohio (a second pool: us-east, 16 cores, class A, two members) at 4 ECT. Both listed here."""
    admit(market.workerpool, market.workers)
    ohio = market.add_workerpool(owner=market.other_scheduler, description="Ohio")
    admit(ohio, market.workers[:2])
    index()
    for address, name, attributes in (
        (market.workerpool, "Lyon", {"location": "eu-west", "cpu_cores": 4, "energy_class": "C"}),
        (ohio, "Ohio", {"location": "us-east", "cpu_cores": 16, "energy_class": "A"}),
    ):
        pool = WorkerpoolFactory(
            listing__name=name, listing__chain_address=address, memory_mb=8192, **attributes
        )
        Asset.objects.filter(address=address).update(listing=pool.listing)
    publish(market, AppOrder(app=market.app, appprice=ECT, volume=50), market.app_owner.key)
    for pool, price, key in ((market.workerpool, 3, market.scheduler.key), (ohio, 4, None)):
        offer = WorkerpoolOrder(
            workerpool=pool, workerpoolprice=price * ECT, volume=50, category=0, trust=1
        )
        publish(market, offer, key or market.other_scheduler.key)
    market.ohio = ohio
    return market


def wanted(market, **fields) -> selectors.Wanted:
    return selectors.Wanted(
        app=market.app, category=0, requester=market.requester.address, volume=1, **fields
    )


def quote(market, requirements=None, preset="cheapest", **fields) -> purchases.Quote:
    return purchases.purchase_quote(
        wanted=wanted(market, **fields),
        params=purchases.default_params(args="x", input_files=[]),
        requirements=requirements,
        preset=preset,
    )


def test_the_cheapest_fitting_pool_is_bought_by_default(two_pools):
    answer = quote(two_pools)
    assert answer.failures == []
    assert answer.workerpool_order.asset == two_pools.workerpool
    assert answer.market.explanation.sentence == "Of 2 pools, 2 can run it: Lyon and Ohio."


def test_requirements_choose_the_pool_that_has_what_is_asked(two_pools):
    answer = quote(two_pools, Requirements(region="us-east", energy_class="A"))
    assert answer.failures == []
    assert answer.workerpool_order.asset == two_pools.ohio
    assert answer.request.workerpoolmaxprice == 4 * ECT  # what that pool asks
    assert answer.market.explanation.sentence == (
        "Of 2 pools, 1 is outside North America East; 1 can run it: Ohio."
    )


def test_a_request_nothing_fits_says_why_and_what_would_fit_before_any_signature(two_pools):
    answer = quote(two_pools, Requirements(cores=8, max_price=Decimal("3.5")))
    assert answer.request is None and answer.request_typed_data is None
    assert [failure.check for failure in answer.failures] == ["NothingMatches"]
    assert answer.failures[0].message == (
        "Of 2 pools, 1 has fewer than 8 cores, 1 costs more than 3.5 ECT per task; none can run "
        "it. To get a match: ask for 4 cores: 1 more pool; or raise max price to 4 ECT: 1 more "
        "pool."
    )


def test_a_pools_own_requirements_refuse_requesters_it_does_not_know(two_pools):
    WorkerpoolFactory._meta.model.objects.filter(listing__name="Ohio").update(
        requirements="TARGET.RequesterDeals >= 1"
    )
    answer = quote(two_pools, Requirements(region="us-east"))
    assert [failure.check for failure in answer.failures] == ["NothingMatches"]
    explanation = answer.market.explanation
    assert [(r.name, r.condition) for r in explanation.refusals] == [
        ("Ohio", "TARGET.RequesterDeals >= 1")
    ]
    assert explanation.sentence == (
        "Of 2 pools, 1 is outside North America East, 1 refuses this request by its own "
        "requirements; none can run it."
    )


def test_an_apps_requirement_is_carried_into_every_request_for_it(two_pools):
    AppFactory(
        listing__name="Big", listing__chain_address=two_pools.app, requirements="TARGET.Cores >= 8"
    )
    answer = quote(two_pools)
    assert answer.workerpool_order.asset == two_pools.ohio
    assert answer.market.explanation.ruled_out[0].words == (
        "1 does not meet what Big requires (TARGET.Cores >= 8)"
    )


def test_a_faster_pool_wins_when_the_buyer_weights_speed(two_pools):
    for pool, seconds in ((two_pools.workerpool, 600), (two_pools.ohio, 30)):
        for _ in range(3):
            deal_with_task(pool=pool, seconds=seconds, status=TaskStatus.COMPLETED)
    cheapest = quote(two_pools)
    fastest = quote(two_pools, preset="fastest")
    assert cheapest.workerpool_order.asset == two_pools.workerpool
    assert fastest.workerpool_order.asset == two_pools.ohio
    ranked = fastest.market.ranking.ranked
    assert [(r.option.name, r.option.seconds) for r in ranked] == [("Ohio", 30.0), ("Lyon", 600.0)]
    assert fastest.market.ranking.reason.startswith("Ohio is first:")


def test_demand_is_kept_for_pools_to_see(two_pools):
    answer = quote(two_pools, Requirements(region="us-east"))
    matching.demand_record(answer.market)
    sample = DemandSample.objects.get()
    assert sample.requirements == {"region": "us-east", "trust": 1}
    assert sample.request["Requester"] == two_pools.requester.address
    assert sample.request["RequesterDeals"] == 0


def test_the_summary_is_what_the_api_tells(two_pools):
    answer = quote(two_pools, Requirements(max_price=Decimal("3.5")), preset="balanced")
    summary = matching.market_summary(answer.market)
    assert summary["sentence"] == (
        "Of 2 pools, 1 costs more than 3.5 ECT per task; 1 can run it: Lyon."
    )
    assert summary["ruled_out"] == [
        {
            "condition": "max_price",
            "words": "1 costs more than 3.5 ECT per task",
            "count": 1,
            "first": 1,
        }
    ]
    assert summary["suggestions"][0]["value"] == "4"
    assert [line["name"] for line in summary["ranking"]] == ["Lyon"]
    assert summary["ranking"][0]["offer"] == answer.workerpool_order.digest
    # No pool has finished a task: speed and reliability are left out, the rest share it all.
    third = 1 / 3
    assert summary["weights"] == {
        "price": third,
        "speed": 0.0,
        "trust": third,
        "reliability": 0.0,
        "energy": third,
    }
    assert summary["without_data"] == ["speed", "reliability"]


def test_a_buyers_asks_within_a_minute_are_one_request_the_latest(two_pools):
    first = quote(two_pools, Requirements(region="us-east")).market
    again = quote(two_pools, Requirements(region="eu-west")).market
    matching.demand_record(first)
    matching.demand_record(again)
    sample = DemandSample.objects.get()
    assert sample.requirements == {"region": "eu-west", "trust": 1}
    DemandSample.objects.update(created_at=sample.created_at - datetime.timedelta(minutes=2))
    matching.demand_record(first)
    assert DemandSample.objects.count() == 2
