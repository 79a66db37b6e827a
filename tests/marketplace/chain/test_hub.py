"""Whole task lifecycles on the Hub, through marketplace.chain.hub, on anvil: who is paid what,
scores, slashing, deadlines, and how deals consume order volume. Every test ends by checking
that the Hub's ECT balance equals the escrow it owes (stakes + locked + kitty).

Prices: 1 ECT = 10**9 units. The pools keep their default policy (workers stake 30 % of the
workerpool price, the scheduler keeps 1 % of the workers' reward) unless a test changes it.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from web3.logs import DISCARD

from marketplace.chain.errors import ChainRevert
from marketplace.chain.hub import (
    MAX_CONTRIBUTORS,
    Account,
    AppRegistration,
    ContributionStatus,
    DatasetRegistration,
    OrderKind,
    TaskStatus,
    WorkerpoolRegistration,
    registered_asset,
    result_hash,
    result_seal,
    workerpool_contract,
)
from marketplace.chain.hub_errors import hub_abis
from marketplace.chain.ids import deal_id, task_id
from marketplace.chain.orders import ZERO_ADDRESS, new_salt, order_digest, sign_order
from marketplace.chain.signing import scheduler_authorization
from tests.chain_scaffold import (
    ECT,
    XS_SECONDS,
    Market,
    escrow_changes,
    new_digest,
)

ZERO32 = bytes(32)
BLOCK_GAS_LIMIT = 30_000_000


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _refused(call, name: str) -> ChainRevert:
    """Run `call`, which must revert with the custom error `name`; the ChainRevert."""
    with pytest.raises(ChainRevert) as refused:
        call()
    assert refused.value.name == name, refused.value.message
    return refused.value


def _send(market: Market, account, function: str, *args):
    """A Hub function the Hub client has no method for, sent by `account`."""
    data = market.hub.contract.encode_abi(function, args=list(args))
    return market.sender(account).send(to=market.hub.address, data=data, abis=hub_abis())


def _events(contract, name: str, receipt) -> list[dict]:
    """The arguments of `contract`'s `name` events in `receipt`, in log order."""
    found = getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)
    return [dict(event["args"]) for event in found]


# ------------------------------------------------------------------------------ trust 1


def test_trust_1_task_with_dataset_pays_each_party_exactly_and_keeps_scores(market):
    hub, worker, digest = market.hub, market.workers[0], new_digest()
    orders = market.sign_orders(app_price=3 * ECT, dataset_price=2 * ECT, workerpool_price=10 * ECT)
    start = market.escrow()

    dealid = market.match(orders)

    assert escrow_changes(start, market.escrow()) == {
        market.requester.address: (-15 * ECT, 15 * ECT),
        market.scheduler.address: (-3 * ECT, 3 * ECT),  # pool stake: 30 % of the pool price
    }
    deal = hub.deal(dealid)
    assert (deal.payer, deal.app_owner, deal.dataset_owner, deal.workerpool_owner) == (
        market.requester.address,
        market.app_owner.address,
        market.dataset_owner.address,
        market.scheduler.address,
    )
    assert (deal.app_price, deal.dataset_price, deal.workerpool_price) == (
        3 * ECT,
        2 * ECT,
        10 * ECT,
    )
    assert (deal.worker_stake, deal.scheduler_reward_ratio, deal.trust) == (3 * ECT, 1, 1)
    assert (deal.volume, deal.bot_first, deal.time_ref) == (1, 0, XS_SECONDS)

    taskid = market.initialize(dealid)
    task = hub.task(taskid)
    assert (task.status, task.dealid, task.total_weight) == (TaskStatus.ACTIVE, dealid, 1)
    assert task.contribution_deadline == deal.start_time + 7 * XS_SECONDS
    assert task.final_deadline == deal.start_time + 10 * XS_SECONDS

    before_contribution = market.escrow()
    market.contribute(worker, taskid, digest)
    assert escrow_changes(before_contribution, market.escrow()) == {
        worker.address: (-3 * ECT, 3 * ECT)
    }
    task = hub.task(taskid)
    assert task.status == TaskStatus.REVEALING  # trust 1: one contribution is a consensus
    assert task.consensus_value == result_hash(taskid, digest)
    assert (task.winner_counter, task.contributors) == (1, (worker.address,))
    assert task.reveal_deadline == market.now() + 2 * XS_SECONDS

    market.reveal(worker, taskid, digest)
    assert hub.task(taskid).result_digest == digest
    contribution = hub.contribution(taskid, worker.address)
    assert contribution.status == ContributionStatus.PROVED
    assert contribution.result_hash == result_hash(taskid, digest)
    assert contribution.result_seal == result_seal(worker.address, taskid, digest)
    assert contribution.weight == 1  # floor(log2 2): a new worker

    before_finalize, kitty = market.escrow(), hub.kitty()
    market.finalize(taskid)

    assert escrow_changes(before_finalize, market.escrow()) == {
        market.requester.address: (0, -15 * ECT),  # locked down by exactly the task price
        market.app_owner.address: (3 * ECT, 0),
        market.dataset_owner.address: (2 * ECT, 0),
        worker.address: (3 * ECT + 9_900_000_000, -3 * ECT),  # stake back + 99 % of 10 ECT
        market.scheduler.address: (3 * ECT + 100_000_000, -3 * ECT),  # pool stake + 1 %
    }
    assert hub.task(taskid).status == TaskStatus.COMPLETED
    assert hub.score(worker.address) == 0  # a lone contributor earns no score
    assert hub.kitty() == kitty
    market.assert_escrow_conserved()


def test_rounding_dust_of_the_workers_reward_goes_to_the_scheduler(market):
    hub, worker, digest = market.hub, market.workers[0], new_digest()
    hub.change_policy(
        sender=market.sender(market.scheduler),
        workerpool=market.workerpool,
        worker_stake_ratio=30,
        scheduler_reward_ratio=7,
    )
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=1_000_000_001)
    dealid = market.match(orders)
    assert (hub.deal(dealid).scheduler_reward_ratio, hub.deal(dealid).worker_stake) == (
        7,
        300_000_000,  # floor(1_000_000_001 * 30 / 100)
    )
    taskid = market.initialize(dealid)
    market.contribute(worker, taskid, digest)
    market.reveal(worker, taskid, digest)
    before = market.escrow()

    market.finalize(taskid)

    # Workers get floor(1_000_000_001 * 93 / 100) = 930_000_000; the 0.93 unit of dust and the
    # 7 % go to the scheduler: 1_000_000_001 - 930_000_000 = 70_000_001.
    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (0, -1_000_000_001 - ECT),
        market.app_owner.address: (ECT, 0),
        worker.address: (300_000_000 + 930_000_000, -300_000_000),
        market.scheduler.address: (300_000_000 + 70_000_001, -300_000_000),
    }
    market.assert_escrow_conserved()


# ------------------------------------------------------------------------------ consensus


def test_trust_5_liar_among_three_is_slashed_and_the_winners_share_by_log_weight(market):
    hub = market.hub
    honest, other_honest, liar = market.workers[:3]
    market.earn_scores([honest, other_honest, liar], tasks=9)
    market.earn_scores([honest, other_honest], tasks=6)
    assert [hub.score(w.address) for w in (honest, other_honest, liar)] == [15, 15, 9]
    # Weights: honest workers max(15 / 3, 3) - 1 = 4, the liar 2. With trust 5 the two honest
    # ones together outweigh the liar: 16 * 5 > (1 + 16 + 2) * 4, one alone does not.
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=10 * ECT, trust=5
    )
    taskid = market.initialize(market.match(orders))
    digest, lie = new_digest(), new_digest()

    market.contribute(honest, taskid, digest)
    market.contribute(liar, taskid, lie)
    assert hub.task(taskid).status == TaskStatus.ACTIVE
    market.contribute(other_honest, taskid, digest)

    task = hub.task(taskid)
    assert task.status == TaskStatus.REVEALING
    assert (task.consensus_value, task.winner_counter, task.total_weight) == (
        result_hash(taskid, digest),
        2,
        19,
    )
    assert task.contributors == (honest.address, liar.address, other_honest.address)
    assert [hub.contribution(taskid, w.address).weight for w in (honest, other_honest, liar)] == [
        2,  # floor(log2 4)
        2,
        1,  # floor(log2 2)
    ]
    # The liar can neither reveal its own result nor pass the honest digest off as its own.
    refused = _refused(lambda: market.reveal(liar, taskid, lie), "RevealMismatch")
    assert refused.arguments == {
        "taskid": taskid,
        "expected": result_hash(taskid, digest),
        "actual": result_hash(taskid, lie),
    }
    refused = _refused(lambda: market.reveal(liar, taskid, digest), "NotInConsensus")
    assert refused.arguments["resultHash"] == result_hash(taskid, lie)
    market.reveal(honest, taskid, digest)
    market.reveal(other_honest, taskid, digest)
    before = market.escrow()

    market.finalize(taskid)

    # Workers' reward: (10 ECT price + 3 ECT seized from the liar) * 99 % = 12.87 ECT, shared
    # in proportion to floor(log2 w) = 2 and 2; the scheduler keeps 0.13 ECT.
    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (0, -11 * ECT),
        market.app_owner.address: (ECT, 0),
        honest.address: (3 * ECT + 6_435_000_000, -3 * ECT),
        other_honest.address: (3 * ECT + 6_435_000_000, -3 * ECT),
        liar.address: (0, -3 * ECT),  # stake seized, nothing back
        market.scheduler.address: (3 * ECT + 130_000_000, -3 * ECT),
    }
    assert [hub.score(w.address) for w in (honest, other_honest, liar)] == [16, 16, 6]
    assert hub.task(taskid).status == TaskStatus.COMPLETED
    market.assert_escrow_conserved()


def test_reveal_timeout_then_reopen_rejects_the_group_and_a_new_consensus_finalizes(market):
    hub, silent, diligent = market.hub, market.workers[0], market.workers[1]
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    taskid = market.initialize(market.match(orders))
    scheduler = market.sender(market.scheduler)
    first, second = new_digest(), new_digest()

    market.contribute(silent, taskid, first)
    reveal_deadline = hub.task(taskid).reveal_deadline
    refused = _refused(lambda: hub.reopen(sender=scheduler, taskid=taskid), "ReopenNotAllowed")
    assert refused.arguments == {
        "taskid": taskid,
        "revealCounter": 0,
        "revealDeadline": reveal_deadline,
    }
    market.advance(reveal_deadline - market.now())
    _refused(lambda: market.reveal(silent, taskid, first), "DeadlineReached")
    _refused(lambda: hub.reopen(sender=market.sender(silent), taskid=taskid), "NotScheduler")

    hub.reopen(sender=scheduler, taskid=taskid)

    task = hub.task(taskid)
    assert (task.status, task.consensus_value, task.reveal_deadline, task.total_weight) == (
        TaskStatus.ACTIVE,
        ZERO32,
        0,
        1,
    )
    assert hub.contribution(taskid, silent.address).status == ContributionStatus.REJECTED
    _refused(lambda: market.contribute(silent, taskid, first), "AlreadyContributed")

    market.contribute(diligent, taskid, second)
    assert hub.task(taskid).status == TaskStatus.REVEALING
    assert hub.task(taskid).consensus_value == result_hash(taskid, second)
    market.reveal(diligent, taskid, second)
    before = market.escrow()
    market.finalize(taskid)

    # The rejected worker forfeits its stake to the reward: (10 + 3) ECT * 99 % = 12.87 ECT.
    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (0, -11 * ECT),
        market.app_owner.address: (ECT, 0),
        silent.address: (0, -3 * ECT),
        diligent.address: (3 * ECT + 12_870_000_000, -3 * ECT),
        market.scheduler.address: (3 * ECT + 130_000_000, -3 * ECT),
    }
    assert hub.task(taskid).status == TaskStatus.COMPLETED
    assert hub.task(taskid).result_digest == second
    assert (hub.score(silent.address), hub.score(diligent.address)) == (0, 1)
    market.assert_escrow_conserved()


# ------------------------------------------------------------------------------ claim


def _task_without_consensus(market: Market) -> bytes:
    """A trust-5 task (11 ECT, pool stake 3 ECT) with one new worker's contribution: weight 2
    alone is no consensus (2 * 5 > 3 * 4 is false), so the task stays ACTIVE."""
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=10 * ECT, trust=5
    )
    taskid = market.initialize(market.match(orders))
    market.contribute(market.workers[0], taskid, new_digest())
    assert market.hub.task(taskid).status == TaskStatus.ACTIVE
    return taskid


def test_claim_before_the_final_deadline_is_refused_and_moves_nothing(market):
    taskid = _task_without_consensus(market)
    before, kitty = market.escrow(), market.hub.kitty()

    refused = _refused(
        lambda: market.hub.claim(sender=market.sender(market.requester), taskid=taskid),
        "DeadlineNotReached",
    )

    assert refused.arguments == {
        "taskid": taskid,
        "deadline": market.hub.task(taskid).final_deadline,
    }
    assert market.escrow() == before
    assert market.hub.kitty() == kitty
    assert market.hub.task(taskid).status == TaskStatus.ACTIVE


def test_claim_after_the_final_deadline_refunds_the_payer_and_seizes_the_pool_stake(market):
    hub, worker = market.hub, market.workers[0]
    taskid = _task_without_consensus(market)
    market.advance(hub.task(taskid).final_deadline - market.now())
    _refused(lambda: market.contribute(market.workers[1], taskid, new_digest()), "DeadlineReached")
    before, kitty = market.escrow(), hub.kitty()

    hub.claim(sender=market.sender(market.funder), taskid=taskid)  # anyone may claim

    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (11 * ECT, -11 * ECT),  # refunded to the free stake
        market.scheduler.address: (0, -3 * ECT),  # pool stake seized
        worker.address: (3 * ECT, -3 * ECT),  # worker stake unlocked
    }
    assert hub.kitty() == kitty + 3 * ECT
    assert hub.task(taskid).status == TaskStatus.FAILED
    assert hub.score(worker.address) == 0
    _refused(
        lambda: hub.claim(sender=market.sender(market.funder), taskid=taskid), "WrongTaskStatus"
    )
    market.assert_escrow_conserved()


def test_a_scheduler_refunds_a_whole_unserved_deal_with_batch_initialize_and_claim(market):
    hub, scheduler = market.hub, market.sender(market.scheduler)
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=10 * ECT, volume=5, trust=5
    )
    dealid = market.match(orders)
    taskids = [task_id(dealid, idx) for idx in range(5)]

    receipt = hub.initialize_array(sender=scheduler, tasks=[(dealid, idx) for idx in range(5)])

    assert _events(hub.contract, "TaskCreated", receipt) == [
        {"taskid": taskid, "dealid": dealid, "idx": idx} for idx, taskid in enumerate(taskids)
    ]
    assert _events(hub.contract, "TaskInitialize", receipt) == [
        {"taskid": taskid, "workerpool": market.workerpool} for taskid in taskids
    ]
    assert {hub.task(taskid).status for taskid in taskids} == {TaskStatus.ACTIVE}
    # One worker started a task (no consensus at trust 5), then the scheduler gave up.
    market.contribute(market.workers[0], taskids[2], new_digest())
    market.advance(hub.task(taskids[0]).final_deadline - market.now())
    before, kitty = market.escrow(), hub.kitty()

    hub.claim_array(sender=scheduler, taskids=taskids)

    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (5 * 11 * ECT, -5 * 11 * ECT),  # the whole deal, refunded
        market.scheduler.address: (0, -5 * 3 * ECT),  # five pool stakes seized
        market.workers[0].address: (3 * ECT, -3 * ECT),
    }
    assert hub.kitty() == kitty + 5 * 3 * ECT
    assert {hub.task(taskid).status for taskid in taskids} == {TaskStatus.FAILED}
    market.assert_escrow_conserved()


def test_batch_calls_are_all_or_nothing(market):
    hub, scheduler = market.hub, market.sender(market.scheduler)
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=10 * ECT, volume=2, trust=5
    )
    dealid = market.match(orders)
    first, second = task_id(dealid, 0), task_id(dealid, 1)
    market.initialize(dealid, 1)

    refused = _refused(
        lambda: hub.initialize_array(sender=scheduler, tasks=[(dealid, 0), (dealid, 1)]),
        "WrongTaskStatus",
    )
    assert refused.arguments == {"taskid": second, "status": TaskStatus.ACTIVE.code}
    assert hub.task(first).status == TaskStatus.UNSET
    refused = _refused(
        lambda: _send(market, market.scheduler, "initializeArray", [dealid, dealid], [0]),
        "ArrayLengthMismatch",
    )
    assert refused.arguments == {"dealids": 2, "idxs": 1}
    assert hub.task(first).status == TaskStatus.UNSET

    market.initialize(dealid, 0)
    market.advance(hub.task(first).final_deadline - market.now())
    hub.claim(sender=scheduler, taskid=first)
    before, kitty = market.escrow(), hub.kitty()
    refused = _refused(
        lambda: hub.claim_array(sender=scheduler, taskids=[second, first]), "WrongTaskStatus"
    )

    assert refused.arguments == {"taskid": first, "status": TaskStatus.FAILED.code}
    assert (market.escrow(), hub.kitty()) == (before, kitty)
    assert hub.task(second).status == TaskStatus.ACTIVE


# ------------------------------------------------------------------------------ early give-up


def test_the_pool_gives_a_task_up_early_refunding_the_payer_at_once_as_a_claim_would(market):
    hub, worker = market.hub, market.workers[0]
    taskid = _task_without_consensus(market)
    final_deadline = hub.task(taskid).final_deadline
    assert market.now() < final_deadline
    before, kitty = market.escrow(), hub.kitty()

    receipt = hub.give_up(sender=market.sender(market.scheduler), taskid=taskid)

    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (11 * ECT, -11 * ECT),  # refunded to the free stake
        market.scheduler.address: (0, -3 * ECT),  # pool stake seized
        worker.address: (3 * ECT, -3 * ECT),  # worker stake unlocked
    }
    assert hub.kitty() == kitty + 3 * ECT
    assert _events(hub.contract, "KittyCredit", receipt) == [
        {"amount": 3 * ECT, "kitty": kitty + 3 * ECT, "ref": taskid}
    ]
    assert _events(hub.contract, "TaskClaimed", receipt) == [{"taskid": taskid}]
    assert _events(hub.contract, "TaskGivenUp", receipt) == [{"taskid": taskid}]
    assert hub.task(taskid).status == TaskStatus.FAILED
    assert hub.score(worker.address) == 0
    # Never twice, nor claimed after: the task is refunded already.
    refused = _refused(
        lambda: hub.give_up(sender=market.sender(market.scheduler), taskid=taskid),
        "WrongTaskStatus",
    )
    assert refused.arguments == {"taskid": taskid, "status": TaskStatus.FAILED.code}
    market.advance(final_deadline - market.now())
    _refused(
        lambda: hub.claim(sender=market.sender(market.funder), taskid=taskid), "WrongTaskStatus"
    )
    market.assert_escrow_conserved()


@pytest.mark.parametrize("who", ["requester", "funder", "other_scheduler", "worker"])
def test_only_the_pool_owner_may_give_a_task_up(market, who):
    hub = market.hub
    caller = market.workers[0] if who == "worker" else getattr(market, who)
    taskid = _task_without_consensus(market)
    before, kitty = market.escrow(), hub.kitty()

    refused = _refused(
        lambda: hub.give_up(sender=market.sender(caller), taskid=taskid), "NotScheduler"
    )

    assert refused.arguments == {
        "taskid": taskid,
        "caller": caller.address,
        "scheduler": market.scheduler.address,
    }
    assert (market.escrow(), hub.kitty()) == (before, kitty)
    assert hub.task(taskid).status == TaskStatus.ACTIVE


def test_a_task_with_a_consensus_cannot_be_given_up(market):
    hub, worker, digest = market.hub, market.workers[0], new_digest()
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    taskid = market.initialize(market.match(orders))
    market.contribute(worker, taskid, digest)  # trust 1: a consensus at once
    assert hub.task(taskid).status == TaskStatus.REVEALING
    before, kitty = market.escrow(), hub.kitty()
    scheduler = market.sender(market.scheduler)

    refused = _refused(lambda: hub.give_up(sender=scheduler, taskid=taskid), "GiveUpAfterConsensus")

    assert refused.arguments == {"taskid": taskid, "status": TaskStatus.REVEALING.code}
    assert "can no longer be given up" in str(refused)
    assert (market.escrow(), hub.kitty()) == (before, kitty)
    assert hub.task(taskid).status == TaskStatus.REVEALING

    market.reveal(worker, taskid, digest)
    market.finalize(taskid)
    refused = _refused(lambda: hub.give_up(sender=scheduler, taskid=taskid), "GiveUpAfterConsensus")
    assert refused.arguments == {"taskid": taskid, "status": TaskStatus.COMPLETED.code}
    market.assert_escrow_conserved()


def test_a_task_past_its_final_deadline_is_claimed_not_given_up(market):
    hub = market.hub
    taskid = _task_without_consensus(market)
    final_deadline = hub.task(taskid).final_deadline
    market.advance(final_deadline - market.now())
    before, kitty = market.escrow(), hub.kitty()

    refused = _refused(
        lambda: hub.give_up(sender=market.sender(market.scheduler), taskid=taskid),
        "GiveUpPastFinalDeadline",
    )

    assert refused.arguments == {"taskid": taskid, "finalDeadline": final_deadline}
    assert "claim it instead" in str(refused)
    assert (market.escrow(), hub.kitty()) == (before, kitty)
    hub.claim(sender=market.sender(market.scheduler), taskid=taskid)
    assert hub.task(taskid).status == TaskStatus.FAILED
    market.assert_escrow_conserved()


def test_a_task_never_started_cannot_be_given_up(market):
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    taskid = task_id(market.match(orders), 0)

    refused = _refused(
        lambda: market.hub.give_up(sender=market.sender(market.scheduler), taskid=taskid),
        "WrongTaskStatus",
    )

    assert refused.arguments == {"taskid": taskid, "status": TaskStatus.UNSET.code}


# ------------------------------------------------------------------------------ contributor cap

CAP_PRICE = 32 * ECT  # the workerpool price of the cap tests
CAP_STAKE = 9_600_000_000  # 30 % of it: each worker's stake, and the pool's


def _task_at_the_cap(market: Market, *, trust: int) -> tuple[bytes, bytes, list]:
    """A task (app 1 ECT, pool 32 ECT) with MAX_CONTRIBUTORS contributions of one result by new
    workers with 10 ECT of stake each: (taskid, digest, workers in contribution order)."""
    workers = market.extra_workers(MAX_CONTRIBUTORS, deposit=10 * ECT)
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=CAP_PRICE, trust=trust
    )
    taskid = market.initialize(market.match(orders))
    digest = new_digest()
    for worker in workers:
        market.contribute(worker, taskid, digest)
    return taskid, digest, workers


def test_a_task_takes_32_contributions_and_refuses_the_next_one(market):
    hub, latecomer = market.hub, market.workers[0]
    # New workers weigh 2: 32 agreeing ones make a group of 2**32 in a total of 2**32 + 1,
    # short of consensus at trust 2**32 + 1 (2**32 * trust > (2**32 + 1) * (trust - 1) fails).
    taskid, _, workers = _task_at_the_cap(market, trust=2**32 + 1)
    assert MAX_CONTRIBUTORS == 32
    assert hub.task(taskid).status == TaskStatus.ACTIVE
    before = market.escrow()

    refused = _refused(
        lambda: market.contribute(latecomer, taskid, new_digest()), "TooManyContributors"
    )

    assert refused.arguments == {"taskid": taskid, "max": MAX_CONTRIBUTORS}
    assert str(refused) == (
        f"Task 0x{taskid.hex()[:8]}…{taskid.hex()[-4:]} has its 32 contributions already, the "
        "most a task takes: wait for its consensus, or work on another task."
    )
    assert market.escrow() == before
    assert hub.task(taskid).contributors == tuple(worker.address for worker in workers)
    assert hub.contribution(taskid, latecomer.address).status == ContributionStatus.UNSET


def test_claim_of_a_task_with_32_contributors_unlocks_every_stake_in_one_transaction(market):
    hub = market.hub
    taskid, _, workers = _task_at_the_cap(market, trust=2**32 + 1)  # no consensus (see above)
    market.advance(hub.task(taskid).final_deadline - market.now())
    before, kitty = market.escrow(), hub.kitty()

    receipt = hub.claim(sender=market.sender(market.funder), taskid=taskid)

    assert receipt["gasUsed"] < BLOCK_GAS_LIMIT // 10
    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (ECT + CAP_PRICE, -ECT - CAP_PRICE),
        market.scheduler.address: (0, -CAP_STAKE),
        **{worker.address: (CAP_STAKE, -CAP_STAKE) for worker in workers},
    }
    assert hub.kitty() == kitty + CAP_STAKE
    assert hub.task(taskid).status == TaskStatus.FAILED
    market.assert_escrow_conserved()


def test_finalize_with_32_contributors_pays_and_scores_every_winner_in_one_transaction(market):
    hub = market.hub
    # Trust 2**31 + 1: the 32nd agreeing new worker brings consensus (2**32 > 2**31), no earlier.
    taskid, digest, workers = _task_at_the_cap(market, trust=2**31 + 1)
    task = hub.task(taskid)
    assert (task.status, task.winner_counter) == (TaskStatus.REVEALING, MAX_CONTRIBUTORS)
    for worker in workers:
        market.reveal(worker, taskid, digest)
    before = market.escrow()

    receipt = market.finalize(taskid)

    # First scores of 32 workers (32 storage slots written from zero): the most finalize costs.
    assert receipt["gasUsed"] < BLOCK_GAS_LIMIT // 10
    # Workers' reward: 99 % of 32 ECT = 31.68 ECT, 0.99 ECT each; the scheduler keeps 0.32 ECT.
    assert escrow_changes(before, market.escrow()) == {
        market.requester.address: (0, -ECT - CAP_PRICE),
        market.app_owner.address: (ECT, 0),
        market.scheduler.address: (CAP_STAKE + 320_000_000, -CAP_STAKE),
        **{worker.address: (CAP_STAKE + 990_000_000, -CAP_STAKE) for worker in workers},
    }
    scores = _events(hub.contract, "WorkerScore", receipt)
    assert sorted((event["worker"], event["taskid"], event["score"]) for event in scores) == sorted(
        (worker.address, taskid, 1) for worker in workers
    )
    assert {hub.score(worker.address) for worker in workers} == {1}
    market.assert_escrow_conserved()


# ------------------------------------------------------------------------------ scores


def test_finalize_emits_each_score_it_changes_and_no_other(market):
    hub, workers = market.hub, market.workers
    liar, veteran, newcomer, other_newcomer = workers
    market.earn_scores([liar, veteran], tasks=3)
    assert [hub.score(worker.address) for worker in workers] == [3, 3, 0, 0]
    # Every worker weighs 2 (score below 9). Trust 3: the lie alone (2 * 3 > 3 * 2), then one or
    # two honest workers fall short; the third honest one brings consensus (8 * 3 > 11 * 2).
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=10 * ECT, trust=3
    )
    taskid = market.initialize(market.match(orders))
    digest = new_digest()
    market.contribute(liar, taskid, new_digest())
    for worker in (veteran, newcomer, other_newcomer):
        market.contribute(worker, taskid, digest)
    assert hub.task(taskid).status == TaskStatus.REVEALING
    for worker in (veteran, newcomer, other_newcomer):
        market.reveal(worker, taskid, digest)

    receipt = market.finalize(taskid)

    assert _events(hub.contract, "WorkerScore", receipt) == [
        {"worker": other_newcomer.address, "taskid": taskid, "score": 1},
        {"worker": newcomer.address, "taskid": taskid, "score": 1},
        {"worker": veteran.address, "taskid": taskid, "score": 4},
        {"worker": liar.address, "taskid": taskid, "score": 2},  # 3 * 2 // 3
    ]
    assert [hub.score(worker.address) for worker in workers] == [2, 4, 1, 1]

    # A lone worker's task changes no score: no WorkerScore.
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    taskid = market.initialize(market.match(orders))
    market.contribute(newcomer, taskid, digest)
    market.reveal(newcomer, taskid, digest)
    receipt = market.finalize(taskid)
    assert _events(hub.contract, "WorkerScore", receipt) == []
    assert hub.score(newcomer.address) == 1


def test_a_worker_keeps_its_score_and_weight_in_another_pool(market):
    hub, veteran, newcomer = market.hub, market.workers[0], market.workers[3]
    market.earn_scores([veteran, market.workers[1]], tasks=12)
    assert hub.score(veteran.address) == 12  # weight max(12 / 3, 3) - 1 = 3
    pool_b = market.add_workerpool(owner=market.other_scheduler, description="Pool B")
    orders = market.sign_orders(
        app_price=ECT,
        dataset_price=None,
        workerpool_price=10 * ECT,
        volume=2,
        trust=3,
        workerpool=pool_b,
        scheduler=market.other_scheduler,
    )
    dealid = market.match(orders)
    assert hub.deal(dealid).workerpool_owner == market.other_scheduler.address
    veterans_task, newcomers_task = market.initialize(dealid, 0), market.initialize(dealid, 1)
    digest = new_digest()
    # Pool A's scheduler cannot send its workers into pool B.
    refused = _refused(
        lambda: market.contribute(veteran, veterans_task, digest), "UnauthorizedWorker"
    )
    assert refused.arguments["scheduler"] == market.other_scheduler.address

    market.contribute(veteran, veterans_task, digest, scheduler=market.other_scheduler)
    market.contribute(newcomer, newcomers_task, new_digest(), scheduler=market.other_scheduler)

    # Trust 3: weight 3 alone is a consensus (3 * 3 > 4 * 2); a newcomer's 2 is not (6 > 6).
    assert (hub.task(veterans_task).status, hub.task(veterans_task).total_weight) == (
        TaskStatus.REVEALING,
        4,
    )
    assert (hub.task(newcomers_task).status, hub.task(newcomers_task).total_weight) == (
        TaskStatus.ACTIVE,
        3,
    )
    market.reveal(veteran, veterans_task, digest)
    market.finalize(veterans_task, scheduler=market.other_scheduler)
    assert hub.task(veterans_task).status == TaskStatus.COMPLETED
    assert hub.score(veteran.address) == 12  # alone in the task: no point won
    market.assert_escrow_conserved()


# ------------------------------------------------------------------------------ deals


def test_deals_consume_volume_and_ids_follow_the_python_derivations(market):
    hub = market.hub
    orders = market.sign_orders(
        app_price=ECT,
        dataset_price=2 * ECT,
        workerpool_price=10 * ECT,
        volume=5,
        workerpool_volume=3,
    )
    second_pool_order = dataclasses.replace(orders.workerpool, salt=new_salt())
    second = dataclasses.replace(
        orders,
        workerpool=second_pool_order,
        workerpool_sign=sign_order(second_pool_order, market.domain, market.scheduler.key),
    )
    request_digest = market.request_digest(orders)
    start = market.escrow()

    receipt = hub.match_orders_call(**orders.match_arguments()).send(
        market.sender(market.requester)
    )
    (first_match,) = hub.orders_matched(receipt)
    second_deal = market.match(second)

    assert first_match.dealid == deal_id(request_digest, 0)
    assert (first_match.app_hash, first_match.dataset_hash, first_match.workerpool_hash) == (
        order_digest(orders.app, market.domain),
        order_digest(orders.dataset, market.domain),
        order_digest(orders.workerpool, market.domain),
    )
    assert (first_match.request_hash, first_match.volume) == (request_digest, 3)
    assert second_deal == deal_id(request_digest, 3)
    assert (hub.deal(second_deal).bot_first, hub.deal(second_deal).volume) == (3, 2)
    assert hub.consumed(request_digest) == 5
    assert hub.consumed(order_digest(orders.workerpool, market.domain)) == 3
    assert hub.consumed(order_digest(second_pool_order, market.domain)) == 2
    assert hub.consumed(order_digest(orders.app, market.domain)) == 5
    assert escrow_changes(start, market.escrow()) == {
        market.requester.address: (-5 * 13 * ECT, 5 * 13 * ECT),
        market.scheduler.address: (-5 * 3 * ECT, 5 * 3 * ECT),
    }
    third_pool_order = dataclasses.replace(orders.workerpool, salt=new_salt())
    third = dataclasses.replace(
        orders,
        workerpool=third_pool_order,
        workerpool_sign=sign_order(third_pool_order, market.domain, market.scheduler.key),
    )
    refused = _refused(lambda: market.match(third), "OrderExhausted")
    assert refused.arguments == {"order": OrderKind.REQUEST.code, "digest": request_digest}

    receipt = hub.initialize(sender=market.sender(market.scheduler), dealid=second_deal, idx=3)
    (initialized,) = hub.contract.events.TaskInitialize().process_receipt(receipt, errors=DISCARD)
    assert initialized["args"]["taskid"] == task_id(second_deal, 3)
    assert hub.task(task_id(second_deal, 3)).dealid == second_deal
    scheduler = market.sender(market.scheduler)
    for idx in (2, 5):
        refused = _refused(
            lambda idx=idx: hub.initialize(sender=scheduler, dealid=second_deal, idx=idx),
            "TaskIndexOutOfRange",
        )
        assert refused.arguments == {
            "dealid": second_deal,
            "idx": idx,
            "botFirst": 3,
            "volume": 2,
        }
    assert hub.task(task_id(second_deal, 5)).status == TaskStatus.UNSET
    _refused(lambda: hub.initialize(sender=scheduler, dealid=second_deal, idx=3), "WrongTaskStatus")
    market.assert_escrow_conserved()


def test_match_orders_for_a_browser_wallet_is_an_unsigned_transaction_the_wallet_sends(market):
    hub = market.hub
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    call = hub.match_orders_call(**orders.match_arguments())

    transaction = call.unsigned_transaction(sender=market.requester.address, w3=market.w3)

    assert transaction["to"] == hub.address
    assert transaction["from"] == market.requester.address
    assert transaction["data"] == "0x" + call.data.hex()
    # anvil's dev accounts are unlocked: eth_sendTransaction stands in for the wallet.
    receipt = market.w3.eth.wait_for_transaction_receipt(
        market.w3.eth.send_transaction(transaction)
    )
    (matched,) = hub.orders_matched(receipt)
    assert matched.dealid == deal_id(market.request_digest(orders), 0)
    assert hub.account(market.requester.address).locked == 11 * ECT


def test_a_sponsor_pays_for_the_requesters_deal(market):
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    sponsor = market.other_scheduler
    before = market.escrow()

    dealid = market.hub.match_orders(
        sender=market.sender(sponsor), **orders.match_arguments(), sponsor=True
    )

    assert market.hub.deal(dealid).payer == sponsor.address
    assert escrow_changes(before, market.escrow()) == {
        sponsor.address: (-11 * ECT, 11 * ECT),
        market.scheduler.address: (-3 * ECT, 3 * ECT),
    }


def test_a_sponsor_without_stake_is_refused_before_the_wallet_is_asked(market):
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    call = market.hub.match_orders_call(**orders.match_arguments(), sponsor=True)
    sponsor = market.app_owner.address
    before = market.escrow()

    refused = _refused(
        lambda: call.unsigned_transaction(sender=sponsor, w3=market.w3), "InsufficientStake"
    )

    assert refused.arguments == {"account": sponsor, "stake": 0, "needed": 11 * ECT}
    assert market.escrow() == before
    assert market.hub.consumed(market.request_digest(orders)) == 0


def test_contributing_without_the_schedulers_authorization_locks_nothing(market):
    hub, worker = market.hub, market.workers[0]
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    taskid = market.initialize(market.match(orders))
    digest = new_digest()
    before = market.escrow()
    self_signed = scheduler_authorization(
        worker=worker.address, taskid=taskid, scheduler_key=worker
    )

    refused = _refused(
        lambda: hub.contribute(
            sender=market.sender(worker),
            taskid=taskid,
            result_hash=result_hash(taskid, digest),
            result_seal=result_seal(worker.address, taskid, digest),
            authorization=self_signed,
        ),
        "UnauthorizedWorker",
    )

    assert refused.arguments == {
        "taskid": taskid,
        "worker": worker.address,
        "scheduler": market.scheduler.address,
    }
    assert market.escrow() == before
    assert hub.task(taskid).contributors == ()
    assert hub.contribution(taskid, worker.address).status == ContributionStatus.UNSET


def test_only_the_scheduler_finalizes(market):
    worker, digest = market.workers[0], new_digest()
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    taskid = market.initialize(market.match(orders))
    market.contribute(worker, taskid, digest)
    market.reveal(worker, taskid, digest)
    before = market.escrow()

    refused = _refused(
        lambda: market.hub.finalize(sender=market.sender(worker), taskid=taskid),
        "NotScheduler",
    )

    assert refused.arguments == {
        "taskid": taskid,
        "caller": worker.address,
        "scheduler": market.scheduler.address,
    }
    assert market.escrow() == before
    assert market.hub.task(taskid).status == TaskStatus.REVEALING


# ------------------------------------------------------------------------------ escrow, assets


def test_a_refusal_of_the_token_reaches_callers_of_the_hub_client_with_its_message(market):
    hub, holder = market.hub, market.app_owner  # no allowance for the Hub

    refused = _refused(
        lambda: hub.deposit_call(amount=5 * ECT).send(market.sender(holder)),
        "ERC20InsufficientAllowance",
    )

    assert refused.arguments == {"spender": hub.address, "allowance": 0, "needed": 5 * ECT}
    assert str(refused) == (
        f"Spender {hub.address[:6]}…{hub.address[-4:]} may take only 0 ECT of yours but 5 ECT "
        "are needed: approve 5 ECT first, or deposit with a permit."
    )
    assert hub.account(holder.address) == Account(stake=0, locked=0)


def test_deposits_with_permit_or_approve_and_withdrawals_move_exact_amounts(market):
    hub, funder = market.hub, market.sender(market.funder)
    holder, sender = market.app_owner, market.sender(market.app_owner)
    token_transfer = hub.token.encode_abi("transfer", args=[holder.address, 50 * ECT])
    funder.send(to=hub.token.address, data=token_transfer)

    hub.deposit_with_permit(sender=sender, amount=20 * ECT)
    assert hub.token.functions.allowance(holder.address, hub.address).call() == 0
    hub.approve_and_deposit(sender=sender, amount=10 * ECT)
    hub.withdraw(sender=sender, amount=5 * ECT)

    assert hub.account(holder.address).stake == 25 * ECT
    assert hub.token_balance(holder.address) == 25 * ECT
    refused = _refused(
        lambda: hub.withdraw(sender=sender, amount=25 * ECT + 1), "InsufficientStake"
    )
    assert refused.arguments == {
        "account": holder.address,
        "stake": 25 * ECT,
        "needed": 25 * ECT + 1,
    }
    assert (hub.account(holder.address).stake, hub.token_balance(holder.address)) == (
        25 * ECT,
        25 * ECT,
    )
    market.assert_escrow_conserved()


def _new_assets(owner: str) -> tuple[AppRegistration, DatasetRegistration, WorkerpoolRegistration]:
    """An app, a dataset and a workerpool the market has not registered, owned by `owner`."""
    app = AppRegistration(
        owner=owner,
        name="Thumbnailer",
        multiaddr=b"http://127.0.0.1/apps/thumb.wasm",
        checksum=hashlib.sha256(b"thumb.wasm").digest(),
    )
    dataset = DatasetRegistration(
        owner=owner,
        name="Pictures",
        multiaddr=b"http://127.0.0.1/datasets/pictures.bin",
        checksum=hashlib.sha256(b"pictures.bin").digest(),
    )
    return app, dataset, WorkerpoolRegistration(owner=owner, description="Pool C")


def test_assets_register_at_their_predicted_address_once(market):
    hub, funder, owner = market.hub, market.sender(market.funder), market.requester.address
    app, dataset, pool = _new_assets(owner)

    for asset in (app, dataset, pool):
        predicted = hub.predict_address(asset)
        assert hub.register(sender=funder, asset=asset) == predicted
        assert hub.registry(asset.KIND).functions.ownerOf(int(predicted, 16)).call() == owner
        refused = _refused(
            lambda a=asset: hub.register(sender=funder, asset=a), "AlreadyRegistered"
        )
        assert refused.arguments == {"asset": predicted}


def test_registrations_emit_every_registered_field(market):
    hub, funder, owner = market.hub, market.sender(market.funder), market.requester.address
    app, dataset, pool = _new_assets(owner)

    receipts = {asset.KIND: hub.register_call(asset).send(funder) for asset in (app, dataset, pool)}

    assets = {
        kind: registered_asset(receipt, registry=hub.registry(kind).address)
        for kind, receipt in receipts.items()
    }
    assert _events(hub.app_registry, "AppRegistered", receipts[OrderKind.APP]) == [
        {
            "app": assets[OrderKind.APP],
            "owner": owner,
            "appName": "Thumbnailer",
            "appType": "WASM",
            "appMultiaddr": app.multiaddr,
            "appChecksum": app.checksum,
            "appMREnclave": b"",
        }
    ]
    assert _events(hub.dataset_registry, "DatasetRegistered", receipts[OrderKind.DATASET]) == [
        {
            "dataset": assets[OrderKind.DATASET],
            "owner": owner,
            "datasetName": "Pictures",
            "datasetMultiaddr": dataset.multiaddr,
            "datasetChecksum": dataset.checksum,
        }
    ]
    pool_receipt = receipts[OrderKind.WORKERPOOL]
    assert _events(hub.workerpool_registry, "WorkerpoolRegistered", pool_receipt) == [
        {
            "workerpool": assets[OrderKind.WORKERPOOL],
            "owner": owner,
            "description": "Pool C",
            "workerStakeRatio": 30,
            "schedulerRewardRatio": 1,
        }
    ]
    pool_contract = workerpool_contract(market.w3, assets[OrderKind.WORKERPOOL])
    assert _events(pool_contract, "PolicyUpdate", pool_receipt) == [
        {
            "oldWorkerStakeRatioPolicy": 0,
            "newWorkerStakeRatioPolicy": 30,
            "oldSchedulerRewardRatioPolicy": 0,
            "newSchedulerRewardRatioPolicy": 1,
        }
    ]
    (policy_log,) = [log for log in pool_receipt["logs"] if log["address"] == pool_contract.address]
    assert policy_log["address"] == assets[OrderKind.WORKERPOOL]


# ------------------------------------------------------------------------------ ownership


def test_hub_ownership_moves_only_when_the_proposed_owner_accepts(market):
    hub, owner, successor = market.hub, market.funder, market.other_scheduler
    stranger = market.requester
    view = hub.contract.functions
    refused = _refused(
        lambda: _send(market, stranger, "transferOwnership", stranger.address), "NotOwner"
    )
    assert refused.arguments == {"caller": stranger.address, "owner": owner.address}

    receipt = _send(market, owner, "transferOwnership", successor.address)

    assert _events(hub.contract, "OwnershipTransferStarted", receipt) == [
        {"previousOwner": owner.address, "newOwner": successor.address}
    ]
    assert _events(hub.contract, "OwnershipTransferred", receipt) == []
    assert (view.owner().call(), view.pendingOwner().call()) == (owner.address, successor.address)
    refused = _refused(
        lambda: _send(market, successor, "createCategory", "XXL", "Too early", 99), "NotOwner"
    )
    refused = _refused(lambda: _send(market, stranger, "acceptOwnership"), "NotPendingOwner")
    assert refused.arguments == {"caller": stranger.address, "pendingOwner": successor.address}
    assert view.owner().call() == owner.address

    receipt = _send(market, successor, "acceptOwnership")

    assert _events(hub.contract, "OwnershipTransferred", receipt) == [
        {"previousOwner": owner.address, "newOwner": successor.address}
    ]
    assert (view.owner().call(), view.pendingOwner().call()) == (successor.address, ZERO_ADDRESS)
    _send(market, successor, "createCategory", "XXL", "Extra extra large", 60_480)
    refused = _refused(
        lambda: _send(market, owner, "createCategory", "XXS", "Too late", 60), "NotOwner"
    )
    assert refused.arguments == {"caller": owner.address, "owner": successor.address}


def test_a_withdrawn_ownership_proposal_cannot_be_accepted(market):
    hub, owner, successor = market.hub, market.funder, market.other_scheduler
    _send(market, owner, "transferOwnership", successor.address)

    receipt = _send(market, owner, "transferOwnership", ZERO_ADDRESS)

    assert _events(hub.contract, "OwnershipTransferStarted", receipt) == [
        {"previousOwner": owner.address, "newOwner": ZERO_ADDRESS}
    ]
    refused = _refused(lambda: _send(market, successor, "acceptOwnership"), "NotPendingOwner")
    assert refused.arguments == {"caller": successor.address, "pendingOwner": ZERO_ADDRESS}
    assert hub.contract.functions.owner().call() == owner.address
