"""A pool's reliability record, derived from the index of a real chain (anvil): tasks
finalized in and out of their category's time, given up, claimed after the deadline, and a
worker's stake seized for a wrong result; the figures checked by hand."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command

from marketplace.catalogue.models import Listing
from marketplace.chain import client
from marketplace.indexer import engine
from marketplace.indexer.models import reputation
from pools.models import PoolRecord
from pools.records import (
    RECORD_TASKS,
    TIMES,
    pool_records_refresh,
    pool_reliability,
    reliability,
)
from tests.chain_scaffold import ECT, XS_SECONDS, Market, new_digest
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _finalized(market: Market, dealid: bytes, idx: int) -> tuple[bytes, int]:
    """Task `idx` of `dealid` run by the first worker alone and finalized; (taskid, the
    finalize block's time)."""
    taskid = market.initialize(dealid, idx)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    receipt = market.finalize(taskid)
    return taskid, market.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


def _finalized_with_a_faulty_worker(market: Market, dealid: bytes) -> int:
    """Workers 0, 2 and 3 agree and worker 1 does not (trust 3, weights 2 each: consensus at
    the fourth contribution); the finalize block's time."""
    taskid = market.initialize(dealid)
    agreed, wrong = new_digest(), new_digest()
    first, liar, *others = market.workers
    market.contribute(first, taskid, agreed)
    market.contribute(liar, taskid, wrong)
    for worker in others:
        market.contribute(worker, taskid, agreed)
    for worker in (first, *others):
        market.reveal(worker, taskid, agreed)
    receipt = market.finalize(taskid)
    return market.w3.eth.get_block(receipt["blockNumber"])["timestamp"]


def test_a_pools_record_of_finalized_failed_and_claimed_tasks_checked_by_hand(
    market, hub_deployment
):
    # Given a deal of 4 tasks at 3 ECT for the pool (its workers stake 30 %: 0.9 ECT a task)
    # and a deal of 1 task at 1 ECT (0.3 ECT) asking trust 3.
    deal = market.match(
        market.sign_orders(
            app_price=2 * ECT, dataset_price=None, workerpool_price=3 * ECT, volume=4
        )
    )
    trusted = market.match(
        market.sign_orders(app_price=2 * ECT, dataset_price=None, workerpool_price=ECT, trust=3)
    )
    start, trusted_start = market.hub.deal(deal).start_time, market.hub.deal(trusted).start_time
    # Task 0 finalized at once; task 1 given up by the scheduler; the trusted deal's task
    # finalized with worker 1 wrong; task 2 finalized after the category's 300 s; task 3
    # claimed by the buyer after the final deadline.
    _, done_at = _finalized(market, deal, 0)
    given_up = market.initialize(deal, 1)
    market.hub.give_up(sender=market.sender(market.scheduler), taskid=given_up)
    trusted_done_at = _finalized_with_a_faulty_worker(market, trusted)
    market.advance(XS_SECONDS + 100)
    _, late_at = _finalized(market, deal, 2)
    claimed = market.initialize(deal, 3)
    market.advance(10 * XS_SECONDS)
    market.hub.claim(sender=market.sender(market.requester), taskid=claimed)
    chain_now = datetime.datetime.fromtimestamp(market.now(), tz=datetime.UTC)

    index_to_head(hub_deployment)

    record = pool_reliability(chain_id=31337, workerpool=market.workerpool, now=chain_now)
    # 3 finalized, 2 failed (1 given up, 1 claimed), all within the last 7 days.
    assert [(w.days, w.finalized, w.given_up, w.claimed, w.failed) for w in record.windows] == [
        (7, 3, 1, 1, 2),
        (30, 3, 1, 1, 2),
        (None, 3, 1, 1, 2),
    ]
    # W: the 95 % Wilson lower bound of 3 of 5, by hand: p = 0.6, z = 1.959964,
    # (0.6 + z²/10 - z·sqrt((0.24 + z²/20) / 5)) / (1 + z²/5) = 0.2307: 231 thousandths.
    assert reputation(3, 2) == 231
    # T: 2 of the 3 finalized within 300 s (the late one took over 400 s).
    assert (record.recent_ended, record.recent_finalized, record.recent_in_time) == (5, 3, 2)
    assert record.figure == round(231 * 2 / 3) == 154
    x = TIMES
    assert record.formula.startswith(f"1000 {x} W {x} T = 1000 {x} 0.231 {x} 0.667 = 154, over")
    # Times from each deal's start to the finalize block, per category (all XS here).
    durations = sorted([done_at - start, trusted_done_at - trusted_start, late_at - start])
    assert durations[2] > XS_SECONDS >= durations[1]
    [xs] = record.categories
    assert (xs.name, xs.time_ref, xs.finalized, xs.in_time) == ("XS", XS_SECONDS, 3, 2)
    assert (xs.median, xs.p95) == (durations[1], durations[2])
    # Workers: the first contributed thrice (accurate once: single contributions earn no
    # verdict), the liar once, faulty.
    first, liar, third, fourth = (w.address for w in market.workers)
    assert record.workers_seen == 4
    seen = {w.address: (w.score, w.contributions, w.accurate, w.faulty) for w in record.workers}
    assert seen == {
        first: (1, 3, 1, 0),
        liar: (0, 1, 0, 1),
        third: (1, 1, 1, 0),
        fourth: (1, 1, 1, 0),
    }
    assert [w.address for w in record.workers][-1] == liar  # best scored first
    # Stake seized: the pool's 0.9 ECT on each of its 2 failed tasks, the liar's 0.3 ECT.
    assert record.pool_stake_seized == 2 * 9 * ECT // 10
    assert record.workers_stake_seized == 3 * ECT // 10
    assert record.bonds_seized == 0
    # The pool's listing (made pending for its owner by the index) ranks by the figure.
    assert Listing.objects.get(chain_address=market.workerpool).reputation == 154

    # The windows age with the clock, without any new event.
    week_later = pool_reliability(
        chain_id=31337, workerpool=market.workerpool, now=chain_now + datetime.timedelta(days=8)
    )
    assert [(w.days, w.ended) for w in week_later.windows] == [(7, 0), (30, 5), (None, 5)]
    assert week_later.figure == 154


def test_a_bond_seized_is_on_the_pools_record_and_a_reorg_takes_it_back(market, hub_deployment):
    hub, worker, pool = market.hub, market.workers[0], market.workerpool
    hub.bond_call(workerpool=pool, amount=10 * ECT).send(market.sender(worker))
    deal = market.match(
        market.sign_orders(app_price=0, dataset_price=None, workerpool_price=ECT, volume=1)
    )
    _finalized(market, deal, 0)
    index_to_head(hub_deployment, confirmations=6)
    fork_point = client.rpc("evm_snapshot", w3=market.w3)

    hub.seize_bond_call(workerpool=pool, worker=worker.address, amount=4 * ECT).send(
        market.sender(market.scheduler)
    )
    index_to_head(hub_deployment, confirmations=6)
    assert pool_reliability(chain_id=31337, workerpool=pool).bonds_seized == 4 * ECT

    client.rpc("evm_revert", [fork_point], w3=market.w3)
    for _ in range(3):
        client.rpc("evm_mine", w3=market.w3)
    index_to_head(hub_deployment, confirmations=6)
    assert pool_reliability(chain_id=31337, workerpool=pool).bonds_seized == 0


def test_a_reorg_takes_a_failed_task_back_from_the_record(market, hub_deployment):
    deal = market.match(
        market.sign_orders(app_price=0, dataset_price=None, workerpool_price=ECT, volume=2)
    )
    _finalized(market, deal, 0)
    index_to_head(hub_deployment, confirmations=6)
    before = PoolRecord.objects.values().get(workerpool=market.workerpool)
    assert (before["finalized"], before["given_up"], before["reliability"]) == (
        1,
        0,
        reputation(1, 0),
    )
    fork_point = client.rpc("evm_snapshot", w3=market.w3)

    given_up = market.initialize(deal, 1)
    market.hub.give_up(sender=market.sender(market.scheduler), taskid=given_up)
    index_to_head(hub_deployment, confirmations=6)
    assert PoolRecord.objects.get(workerpool=market.workerpool).given_up == 1

    client.rpc("evm_revert", [fork_point], w3=market.w3)
    for _ in range(3):
        client.rpc("evm_mine", w3=market.w3)
    index_to_head(hub_deployment, confirmations=6)
    after = PoolRecord.objects.values().get(workerpool=market.workerpool)
    assert {k: v for k, v in after.items() if k not in ("id", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("id", "updated_at")
    }

    # And the record of a fresh index of the same chain is the same.
    engine.reindex(chain_id=31337)
    assert not PoolRecord.objects.exists()
    index_to_head(hub_deployment, confirmations=6)
    again = PoolRecord.objects.values().get(workerpool=market.workerpool)
    assert {k: v for k, v in again.items() if k not in ("id", "updated_at")} == {
        k: v for k, v in before.items() if k not in ("id", "updated_at")
    }


def test_the_reliability_figure_by_hand():
    assert reliability(ended=0, finalized=0, in_time=0) is None  # no record, not a zero
    assert reliability(ended=4, finalized=0, in_time=0) == 0
    assert reputation(3, 0) == 439  # 3 of 3: (1 + z²/6 - z·sqrt(z²/12 / 3)) / (1 + z²/3)
    assert reliability(ended=3, finalized=3, in_time=3) == 439
    assert reliability(ended=3, finalized=3, in_time=1) == round(439 / 3) == 146
    assert RECORD_TASKS == 500


def test_a_pool_the_index_has_nothing_of_has_no_record():
    assert pool_records_refresh(chain_id=31337, workerpools=["0x" + "ab" * 20]) == set()
    assert not PoolRecord.objects.exists()
    assert pool_reliability(chain_id=31337, workerpool="0x" + "ab" * 20) is None


def test_the_records_windows_are_read_from_its_days():
    record = PoolRecord.objects.create(
        chain_id=31337,
        workerpool="0x" + "cd" * 20,
        finalized=9,
        given_up=2,
        claimed=1,
        days={"2025-05-01": [5, 1, 1], "2025-05-25": [3, 1, 0], "2025-05-31": [1, 0, 0]},
        recent_ended=12,
        recent_finalized=9,
        recent_in_time=9,
        reliability=reliability(ended=12, finalized=9, in_time=9),
    )
    noon = datetime.datetime(2025, 5, 31, 12, tzinfo=datetime.UTC)
    read = pool_reliability(chain_id=31337, workerpool=record.workerpool, now=noon)
    # 7 days: May 25 to 31; 30 days: May 2 to 31; May 1 only in all time.
    assert [(w.days, w.finalized, w.given_up, w.claimed) for w in read.windows] == [
        (7, 4, 1, 0),
        (30, 4, 1, 0),
        (None, 9, 2, 1),
    ]
    assert read.categories == [] and read.workers == []


def test_refresh_records_derives_the_records_an_older_index_lacks(market, hub_deployment):
    deal = market.match(
        market.sign_orders(app_price=0, dataset_price=None, workerpool_price=ECT, volume=1)
    )
    _finalized(market, deal, 0)
    index_to_head(hub_deployment)
    PoolRecord.objects.all().delete()  # an index built before the records existed
    Listing.objects.update(reputation=0)
    out = io.StringIO()

    call_command("refresh_records", stdout=out)

    record = PoolRecord.objects.get(workerpool=market.workerpool)
    assert (record.finalized, record.reliability) == (1, reputation(1, 0))
    listing = Listing.objects.get(chain_address=market.workerpool)
    assert listing.reputation == reputation(1, 0)
    assert out.getvalue() == (
        "1 pool record on chain 31337, 1 with a new reliability figure; listings ranked again.\n"
    )
