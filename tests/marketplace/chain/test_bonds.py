"""Worker bonds on the Hub (anvil, real contracts): a worker locks part of its stake for a pool,
the pool's owner may seize it into the kitty or give it back, the worker may take it back after
its notice. Every test checks that the Hub's ECT equals the escrow it owes."""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from marketplace.chain.errors import ChainRevert
from marketplace.chain.hub import Bond
from tests.chain_scaffold import ECT, WORKER_DEPOSIT, Market, escrow_changes, new_digest


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _refused(call, name: str) -> ChainRevert:
    with pytest.raises(ChainRevert) as refused:
        call()
    assert refused.value.name == name, refused.value.message
    return refused.value


def _bond(market: Market, worker, amount: int, pool: str | None = None):
    call = market.hub.bond_call(workerpool=pool or market.workerpool, amount=amount)
    return call.send(market.sender(worker))


def _events(market: Market, receipt) -> list[dict]:
    return [
        dict(event.args)
        for event in market.hub.contract.events.WorkerBond().process_receipt(
            receipt, errors=DISCARD
        )
    ]


def test_a_bond_locks_the_workers_stake_for_the_pool(market):
    worker, before = market.workers[0], market.escrow()

    receipt = _bond(market, worker, 40 * ECT)
    _bond(market, worker, 2 * ECT)

    assert market.hub.bond(workerpool=market.workerpool, worker=worker.address) == Bond(
        amount=42 * ECT, unbond_at=0
    )
    assert escrow_changes(before, market.escrow()) == {worker.address: (-42 * ECT, 42 * ECT)}
    assert _events(market, receipt) == [
        {
            "workerpool": market.workerpool,
            "worker": worker.address,
            "amount": 40 * ECT,
            "unbondAt": 0,
        }
    ]
    market.assert_escrow_conserved()


def test_a_bond_needs_free_stake_a_registered_pool_and_an_amount(market):
    worker, before = market.workers[0], market.escrow()

    _refused(lambda: _bond(market, worker, WORKER_DEPOSIT + 1), "InsufficientStake")
    _refused(lambda: _bond(market, worker, 0), "ZeroBond")
    _refused(
        lambda: _bond(market, worker, ECT, pool=market.workers[1].address), "AssetNotRegistered"
    )

    assert market.escrow() == before
    assert market.hub.bond(workerpool=market.workerpool, worker=worker.address).amount == 0
    market.assert_escrow_conserved()


def test_the_worker_takes_its_bond_back_only_after_its_notice(market):
    hub, worker = market.hub, market.workers[0]
    _bond(market, worker, 10 * ECT)
    sender = market.sender(worker)
    _refused(
        lambda: hub.unbond_call(workerpool=market.workerpool).send(sender), "BondNoticeRunning"
    )

    hub.request_unbond_call(workerpool=market.workerpool).send(sender)
    unbond_at = hub.bond(workerpool=market.workerpool, worker=worker.address).unbond_at
    assert unbond_at == market.now() + hub.bond_notice()
    assert hub.bond_notice() == 7 * 24 * 3600
    refused = _refused(
        lambda: hub.unbond_call(workerpool=market.workerpool).send(sender), "BondNoticeRunning"
    )
    assert refused.arguments["unbondAt"] == unbond_at
    before = market.escrow()

    market.advance(unbond_at - market.now())
    hub.unbond_call(workerpool=market.workerpool).send(sender)

    assert escrow_changes(before, market.escrow()) == {worker.address: (10 * ECT, -10 * ECT)}
    assert hub.bond(workerpool=market.workerpool, worker=worker.address) == Bond(0, 0)
    _refused(lambda: hub.unbond_call(workerpool=market.workerpool).send(sender), "BondTooSmall")
    market.assert_escrow_conserved()


def test_bonding_again_withdraws_the_notice(market):
    hub, worker = market.hub, market.workers[0]
    _bond(market, worker, 10 * ECT)
    hub.request_unbond_call(workerpool=market.workerpool).send(market.sender(worker))

    _bond(market, worker, ECT)

    assert hub.bond(workerpool=market.workerpool, worker=worker.address) == Bond(11 * ECT, 0)
    market.assert_escrow_conserved()


def test_the_pools_owner_seizes_a_bond_into_the_kitty(market):
    hub, worker = market.hub, market.workers[0]
    _bond(market, worker, 10 * ECT)
    before, kitty = market.escrow(), hub.kitty()

    receipt = hub.seize_bond_call(
        workerpool=market.workerpool, worker=worker.address, amount=4 * ECT
    ).send(market.sender(market.scheduler))

    assert escrow_changes(before, market.escrow()) == {worker.address: (0, -4 * ECT)}
    assert hub.kitty() == kitty + 4 * ECT
    assert hub.bond(workerpool=market.workerpool, worker=worker.address).amount == 6 * ECT
    assert _events(market, receipt)[-1]["amount"] == 6 * ECT
    _refused(
        lambda: hub.seize_bond_call(
            workerpool=market.workerpool, worker=worker.address, amount=7 * ECT
        ).send(market.sender(market.scheduler)),
        "BondTooSmall",
    )
    market.assert_escrow_conserved()


def test_only_the_pools_owner_seizes_or_releases_a_bond(market):
    hub, worker, stranger = market.hub, market.workers[0], market.workers[1]
    _bond(market, worker, 10 * ECT)
    before = market.escrow()

    for call in (
        hub.seize_bond_call(workerpool=market.workerpool, worker=worker.address, amount=ECT),
        hub.release_bond_call(workerpool=market.workerpool, worker=worker.address),
    ):
        refused = _refused(
            lambda call=call: call.send(market.sender(stranger)), "NotWorkerpoolOwner"
        )
        assert refused.arguments["owner"] == market.scheduler.address
        assert "Only the owner" in refused.message
    # The worker itself cannot skip its notice by releasing its own bond.
    _refused(
        lambda: hub.release_bond_call(workerpool=market.workerpool, worker=worker.address).send(
            market.sender(worker)
        ),
        "NotWorkerpoolOwner",
    )

    assert market.escrow() == before
    market.assert_escrow_conserved()


def test_the_pools_owner_releases_a_bond_at_once(market):
    hub, worker = market.hub, market.workers[0]
    _bond(market, worker, 10 * ECT)
    before = market.escrow()

    hub.release_bond_call(workerpool=market.workerpool, worker=worker.address).send(
        market.sender(market.scheduler)
    )

    assert escrow_changes(before, market.escrow()) == {worker.address: (10 * ECT, -10 * ECT)}
    assert hub.bond(workerpool=market.workerpool, worker=worker.address) == Bond(0, 0)
    market.assert_escrow_conserved()


def test_the_pool_seizes_a_bond_under_notice_and_nothing_once_it_is_taken_back(market):
    hub, worker, owner = market.hub, market.workers[0], market.sender(market.scheduler)
    _bond(market, worker, 10 * ECT)
    hub.request_unbond_call(workerpool=market.workerpool).send(market.sender(worker))

    hub.seize_bond_call(workerpool=market.workerpool, worker=worker.address, amount=3 * ECT).send(
        owner
    )  # the notice does not shield it
    assert hub.bond(workerpool=market.workerpool, worker=worker.address).amount == 7 * ECT

    market.advance(hub.bond_notice())
    hub.unbond_call(workerpool=market.workerpool).send(market.sender(worker))
    before = market.escrow()
    for call in (
        hub.seize_bond_call(workerpool=market.workerpool, worker=worker.address, amount=1),
        hub.release_bond_call(workerpool=market.workerpool, worker=worker.address),
    ):
        _refused(lambda call=call: call.send(owner), "BondTooSmall")
    assert market.escrow() == before
    market.assert_escrow_conserved()


def test_a_bond_and_a_tasks_stake_share_the_locked_balance_without_mixing(market):
    hub, worker = market.hub, market.workers[0]
    _bond(market, worker, 10 * ECT)
    dealid = market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=10 * ECT)
    )
    taskid = market.initialize(dealid)
    market.contribute(worker, taskid, new_digest())  # locks 3 ECT of stake for the task
    assert hub.account(worker.address).locked == 13 * ECT

    # Seizing the whole bond leaves the task's stake locked, and the task pays as usual.
    hub.seize_bond_call(workerpool=market.workerpool, worker=worker.address, amount=10 * ECT).send(
        market.sender(market.scheduler)
    )
    assert hub.account(worker.address).locked == 3 * ECT
    market.assert_escrow_conserved()


def test_no_category_outlasts_a_bonds_notice(market):
    from marketplace.chain.hub_errors import MAX_TIME_REF, hub_abis

    assert market.hub.bond_notice() == MAX_TIME_REF * 10
    data = market.hub.contract.encode_abi("createCategory", args=["XXL", "", MAX_TIME_REF + 1])
    refused = _refused(
        lambda: market.sender(market.funder).send(
            to=market.hub.address, data=data, abis=hub_abis()
        ),
        "InvalidTimeRef",
    )
    assert "fit in a worker bond's notice" in refused.message
