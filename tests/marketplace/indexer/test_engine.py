"""The indexer on anvil: projections equal to what the Hub says, idempotence, atomic batches,
reorganizations, one indexer per chain, and a node that goes away."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from marketplace.catalogue.models import Listing
from marketplace.catalogue.reputation import blend
from marketplace.chain import client
from marketplace.chain.errors import ChainUnavailable
from marketplace.chain.hub import TaskStatus as HubTaskStatus
from marketplace.indexer import engine, projections
from marketplace.indexer.engine import DeepReorg, Indexer, IndexerBusy, IndexerRefused, LeaseLost
from marketplace.indexer.models import (
    Asset,
    ChainEvent,
    Contribution,
    ContributionStatus,
    Deal,
    EscrowAccount,
    IndexedBlock,
    IndexerState,
    IndexerStatus,
    OrderFill,
    Task,
    TaskStatus,
    UndoRecord,
    Worker,
    WorkerBond,
)
from tests.chain_scaffold import ECT, Market, new_digest
from tests.marketplace.indexer.helpers import index_contents, index_to_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _paid_deal(market: Market, *, volume: int = 2) -> bytes:
    orders = market.sign_orders(
        app_price=2 * ECT, dataset_price=1 * ECT, workerpool_price=3 * ECT, volume=volume
    )
    return market.match(orders)


def _complete(market: Market, dealid: bytes, idx: int) -> bytes:
    taskid = market.initialize(dealid, idx)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    return taskid


def test_projections_say_what_the_hub_says(market, hub_deployment):
    dealid = _paid_deal(market, volume=3)
    done = _complete(market, dealid, 0)
    running = market.initialize(dealid, 1)
    market.earn_scores(market.workers[1:3], tasks=2)

    index_to_head(hub_deployment)

    hub = market.hub
    for account in market.accounts:
        on_chain = hub.account(account.address)
        row = EscrowAccount.objects.filter(address=account.address).first()
        indexed = (int(row.stake), int(row.locked)) if row else (0, 0)
        assert indexed == (on_chain.stake, on_chain.locked), account.address
    for worker in market.workers:
        row = Worker.objects.filter(address=worker.address).first()
        assert (row.score if row else 0) == hub.score(worker.address)

    deal = Deal.objects.get(dealid="0x" + dealid.hex())
    assert (deal.volume, deal.tasks_completed, deal.tasks_failed) == (3, 1, 0)
    assert deal.task_price == 6 * ECT
    assert deal.app == market.app and deal.dataset == market.dataset
    assert OrderFill.objects.get(digest=deal.request_order).consumed == 3

    task = Task.objects.get(taskid="0x" + done.hex())
    on_chain_task = hub.task(done)
    assert on_chain_task.status == HubTaskStatus.COMPLETED and task.status == TaskStatus.COMPLETED
    assert task.result_digest == "0x" + on_chain_task.result_digest.hex()
    assert task.final_deadline == datetime.datetime.fromtimestamp(
        on_chain_task.final_deadline, tz=datetime.UTC
    )
    assert Task.objects.get(taskid="0x" + running.hex()).status == TaskStatus.ACTIVE
    assert Contribution.objects.get(taskid=task.taskid).status == ContributionStatus.REVEALED

    app = Asset.objects.get(address=market.app)
    assert (app.deals, app.volume_sold, app.tasks_completed) == (3, 5, 3)
    assert int(app.revenue) == 2 * ECT  # the two free deals of earn_scores paid nothing
    assert int(Asset.objects.get(address=market.dataset).revenue) == 1 * ECT
    pool = Asset.objects.get(address=market.workerpool)
    assert int(pool.revenue) == 3 * ECT + 2 * (ECT // 10)
    assert (pool.worker_stake_ratio, pool.scheduler_reward_ratio) == (30, 1)
    # Each asset got a pending listing for its owner, ranked by its record.
    listing = Listing.objects.get(chain_address=market.app)
    assert listing.status == "pending" and listing.owner_wallet == market.app_owner.address
    assert listing.reputation == blend(
        completed=3, failed=0, revenue_units=2 * ECT, rating_avg=0, rating_count=0
    )
    assert listing.reputation > 0


def test_worker_bonds_say_what_the_hub_says_and_a_reorg_takes_them_back(market, hub_deployment):
    hub, worker, pool = market.hub, market.workers[0], market.workerpool
    hub.bond_call(workerpool=pool, amount=10 * ECT).send(market.sender(worker))
    hub.request_unbond_call(workerpool=pool).send(market.sender(worker))
    index_to_head(hub_deployment, confirmations=6)
    bond = WorkerBond.objects.get(workerpool=pool, worker=worker.address)
    on_chain = hub.bond(workerpool=pool, worker=worker.address)
    assert int(bond.amount) == on_chain.amount == 10 * ECT
    assert bond.unbond_at == datetime.datetime.fromtimestamp(on_chain.unbond_at, tz=datetime.UTC)
    before_seizure = index_contents()
    fork_point = client.rpc("evm_snapshot", w3=market.w3)

    hub.seize_bond_call(workerpool=pool, worker=worker.address, amount=4 * ECT).send(
        market.sender(market.scheduler)
    )
    index_to_head(hub_deployment, confirmations=6)
    assert int(WorkerBond.objects.get(worker=worker.address).amount) == 6 * ECT
    assert int(EscrowAccount.objects.get(address=worker.address).locked) == 6 * ECT

    client.rpc("evm_revert", [fork_point], w3=market.w3)
    for _ in range(3):
        client.rpc("evm_mine", w3=market.w3)
    index_to_head(hub_deployment, confirmations=6)
    after = index_contents()
    assert after["WorkerBond"] == before_seizure["WorkerBond"]
    assert int(WorkerBond.objects.get(worker=worker.address).amount) == 10 * ECT


def test_a_task_given_up_is_failed_and_refunded_in_the_index_and_a_reorg_takes_it_back(
    market, hub_deployment
):
    dealid = _paid_deal(market, volume=1)
    taskid = market.initialize(dealid)
    key = "0x" + taskid.hex()
    index_to_head(hub_deployment, confirmations=6)
    before = index_contents()
    fork_point = client.rpc("evm_snapshot", w3=market.w3)

    market.hub.give_up(sender=market.sender(market.scheduler), taskid=taskid)
    index_to_head(hub_deployment, confirmations=6)

    task = Task.objects.get(taskid=key)
    assert (task.status, task.given_up) == (TaskStatus.FAILED, True)
    assert task.finished_at is not None
    deal = Deal.objects.get(dealid="0x" + dealid.hex())
    assert (deal.tasks_completed, deal.tasks_failed) == (0, 1)
    requester = EscrowAccount.objects.get(address=market.requester.address)
    on_chain = market.hub.account(market.requester.address)
    assert (int(requester.stake), int(requester.locked)) == (on_chain.stake, on_chain.locked)
    assert on_chain.locked == 0  # the whole price is back in the free stake

    client.rpc("evm_revert", [fork_point], w3=market.w3)
    for _ in range(3):
        client.rpc("evm_mine", w3=market.w3)
    index_to_head(hub_deployment, confirmations=6)
    after = index_contents()
    assert after["Task"] == before["Task"]
    assert after["Deal"] == before["Deal"]
    task = Task.objects.get(taskid=key)
    assert (task.status, task.given_up) == (TaskStatus.ACTIVE, False)


def test_indexing_twice_equals_indexing_once(market, hub_deployment):
    _complete(market, _paid_deal(market), 0)
    index_to_head(hub_deployment)
    once = index_contents()
    assert len(once["events"]) > 30

    index_to_head(hub_deployment)  # from the checkpoint: nothing new
    assert index_contents() == once

    engine.reindex(chain_id=31337)  # from scratch, over the listings it made the first time
    assert not ChainEvent.objects.exists()
    index_to_head(hub_deployment)
    assert index_contents() == once


def test_an_exception_inside_a_batch_leaves_nothing_of_it(market, hub_deployment, monkeypatch):
    _complete(market, _paid_deal(market), 0)
    failing = dict(projections.HANDLERS)

    def explode(event, context):
        raise RuntimeError("a bug in a projection")

    failing[("hub", "TaskFinalize")] = explode
    monkeypatch.setattr(projections, "HANDLERS", failing)
    indexer = Indexer(deployment=hub_deployment)
    indexer.start()
    indexer.range = 10_000  # everything in one batch
    with pytest.raises(RuntimeError, match="a bug in a projection"):
        indexer.step()
    state = IndexerState.objects.get(chain_id=31337)
    assert state.checkpoint == hub_deployment.block - 1
    assert not ChainEvent.objects.exists()
    for model in (Deal, Task, EscrowAccount, Asset, Worker, OrderFill, IndexedBlock, UndoRecord):
        assert not model.objects.exists(), model
    assert not Listing.objects.exists()

    monkeypatch.undo()
    indexer.stop()
    index_to_head(hub_deployment)
    clean = index_contents()
    engine.reindex(chain_id=31337)
    index_to_head(hub_deployment)
    assert index_contents() == clean


def test_unconfirmed_blocks_are_journaled_and_pruned_once_confirmed(market, hub_deployment):
    index_to_head(hub_deployment, confirmations=3)
    state = IndexerState.objects.get()
    assert state.confirmed_height == state.checkpoint - 3
    kept = set(IndexedBlock.objects.values_list("number", flat=True))
    assert kept == set(range(state.confirmed_height, state.checkpoint + 1))
    assert UndoRecord.objects.exists()
    assert not UndoRecord.objects.filter(block_number__lte=state.confirmed_height).exists()

    for _ in range(5):
        client.rpc("evm_mine", w3=market.w3)
    index_to_head(hub_deployment, confirmations=3)
    state = IndexerState.objects.get()
    assert not UndoRecord.objects.exists()  # every block with events is buried now
    assert set(IndexedBlock.objects.values_list("number", flat=True)) == set(
        range(state.confirmed_height, state.checkpoint + 1)
    )


def test_a_reorg_rolls_projections_back_to_the_fork_and_forward_on_the_new_chain(
    market, hub_deployment
):
    w3 = market.w3
    index_to_head(hub_deployment, confirmations=6)
    before_fork = index_contents()
    fork_point = client.rpc("evm_snapshot", w3=w3)

    # The old branch: a paid deal with a completed task, indexed as unconfirmed.
    dealid = _paid_deal(market)
    _complete(market, dealid, 0)
    index_to_head(hub_deployment, confirmations=6)
    old = Deal.objects.get(dealid="0x" + dealid.hex())
    assert old.tasks_completed == 1
    assert IndexerState.objects.get().confirmed_height < old.block_number

    # The chain reorganizes: the branch vanishes, other blocks take its place (a free deal).
    client.rpc("evm_revert", [fork_point], w3=w3)
    client.rpc("evm_increaseTime", [7], w3=w3)
    other = market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))
    for _ in range(3):
        client.rpc("evm_mine", w3=w3)

    steps = []
    indexer = Indexer(deployment=hub_deployment, confirmations=6)
    indexer.run(until_caught_up=True, on_step=steps.append)
    indexer.stop()
    assert steps[0].action == "rolled_back"
    assert not Deal.objects.filter(dealid="0x" + dealid.hex()).exists()
    assert Deal.objects.filter(dealid="0x" + other.hex()).exists()
    after = index_contents()
    app = next(a for a in after["Asset"] if a["address"] == market.app)
    assert (app["deals"], app["tasks_completed"], int(app["revenue"])) == (1, 0, 0)

    # What it holds now is what a fresh index of the new chain holds.
    engine.reindex(chain_id=31337)
    index_to_head(hub_deployment, confirmations=6)
    assert index_contents() == after
    assert before_fork != after


def test_off_the_dev_chain_a_fork_below_the_confirmed_height_stops_the_indexer(
    market, hub_deployment
):
    w3 = market.w3
    fork_point = client.rpc("evm_snapshot", w3=w3)
    _paid_deal(market)
    index_to_head(hub_deployment, confirmations=0)
    indexed = index_contents()
    client.rpc("evm_revert", [fork_point], w3=w3)
    for _ in range(5):
        client.rpc("evm_mine", w3=w3)

    indexer = Indexer(deployment=hub_deployment, confirmations=0, restart_on_deep_fork=False)
    indexer.start()
    with pytest.raises(DeepReorg, match="confirmed data must not change"):
        indexer.step()
    indexer.stop()
    state = IndexerState.objects.get()
    assert state.status in (IndexerStatus.FAILING, IndexerStatus.STOPPED)
    assert "--reindex" in state.problem
    assert index_contents() == indexed


def test_a_second_indexer_is_refused_while_the_first_holds_the_chain(market, hub_deployment):
    first = Indexer(deployment=hub_deployment)
    first.start()
    second = Indexer(deployment=hub_deployment)
    with pytest.raises(IndexerBusy, match="only one may"):
        second.start()
    first.stop()
    second.start()  # the lease was given back
    second.stop()


def test_an_indexer_that_lost_its_lease_writes_nothing(market, hub_deployment):
    _paid_deal(market)
    stale = Indexer(deployment=hub_deployment)
    stale.start()
    # Its lease runs out while it waits on the node; another indexer takes the chain over.
    IndexerState.objects.update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    fresh = Indexer(deployment=hub_deployment)
    fresh.start()
    with pytest.raises(LeaseLost):
        stale.step()
    assert not ChainEvent.objects.exists()
    fresh.run(until_caught_up=True)
    fresh.stop()
    events = ChainEvent.objects.count()
    assert (
        events == ChainEvent.objects.values("block_hash", "tx_hash", "log_index").distinct().count()
    )


def test_a_node_on_another_chain_is_refused(hub_deployment):
    indexer = Indexer(deployment=hub_deployment, chain_id=11155111)
    with pytest.raises(
        IndexerRefused, match="is on chain 31337, but this site is configured for chain 11155111"
    ):
        indexer.start()
    assert not IndexerState.objects.exists()


def test_without_a_deployment_the_indexer_says_how_to_make_one(anvil):
    with pytest.raises(IndexerRefused, match="deploy_contracts"):
        Indexer().start()


def test_logs_that_do_not_decode_are_recorded_and_skipped(market, hub_deployment):
    """A contract we follow emits a log of an unknown event, and a Transfer with too few
    topics (the token's code is swapped for one that does, with anvil_setCode)."""
    w3 = market.w3
    unknown_topic = "ee" * 32
    # LOG1(unknown topic), then LOG1(Transfer topic) with 32 bytes of data, then STOP.
    code = (
        "0x7f"
        + unknown_topic
        + "60006000a1"
        + "7fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
        + "60206000a1"
        + "00"
    )
    client.rpc("anvil_setCode", [hub_deployment.token, code], w3=w3)
    client.TransactionSender(market.funder, w3=w3).send(
        to=hub_deployment.token, data=b"", gas=100_000
    )
    _paid_deal(market)

    index_to_head(hub_deployment)
    problems = dict(ChainEvent.objects.exclude(problem="").values_list("name", "problem"))
    assert problems[""].startswith("unknown event")
    assert "does not decode as Transfer" in problems["Transfer"]
    assert Deal.objects.count() == 1  # the events after them were indexed
    assert IndexerState.objects.get().status == IndexerStatus.STOPPED


def test_the_node_going_away_and_coming_back_is_waited_out(tmp_path, settings):
    from marketplace.chain.anvil import start_anvil
    from marketplace.chain.deploy import deploy_hub
    from marketplace.chain.keys import dev_account

    state_file = tmp_path / "chain.json"
    node = start_anvil(state_file=state_file)
    port = node.port
    try:
        w3 = client.web3(url=node.url)
        deployment = deploy_hub(w3, dev_account(0))
        settings.WEB3_RPC_URL = node.url
        indexer = Indexer(deployment=deployment, poll_seconds=0.05)
        indexer.run(until_caught_up=True)
        indexed = ChainEvent.objects.count()
        assert indexed > 0
    finally:
        node.stop()  # writes the chain to state_file

    with pytest.raises(ChainUnavailable):
        indexer.step()
    indexer._record_problem(ChainUnavailable("The node at http://127.0.0.1 is unavailable."))
    state = IndexerState.objects.get()
    assert state.status == IndexerStatus.NODE_UNREACHABLE
    indexer._record_problem(ChainUnavailable("Still unavailable."))  # a retry fails again
    assert IndexerState.objects.get().problem_since == state.problem_since
    assert ChainEvent.objects.count() == indexed

    node = start_anvil(state_file=state_file, port=port)
    try:
        w3 = client.web3(url=node.url)
        client.TransactionSender(dev_account(0), w3=w3).send(to=dev_account(1).address, value=1)
        from marketplace.chain.hub import Hub

        Hub(w3=w3, address=deployment.hub).deposit_for_call(amount=0, target=dev_account(1).address)
        indexer.run(until_caught_up=True)
        state = IndexerState.objects.get()
        assert state.status == IndexerStatus.FOLLOWING and state.problem == ""
        assert state.checkpoint == w3.eth.block_number
    finally:
        indexer.stop()
        node.stop()


def test_a_reverted_dev_chain_is_indexed_afresh(market, hub_deployment):
    w3 = market.w3
    fork_point = client.rpc("evm_snapshot", w3=w3)
    _paid_deal(market)
    index_to_head(hub_deployment)
    client.rpc("evm_revert", [fork_point], w3=w3)
    other = market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))

    index_to_head(hub_deployment)
    assert list(Deal.objects.values_list("dealid", flat=True)) == ["0x" + other.hex()]
    indexed = index_contents()
    engine.reindex(chain_id=31337)
    index_to_head(hub_deployment)
    assert index_contents() == indexed


def test_a_dev_chain_restarted_from_nothing_is_indexed_afresh(settings):
    """Same deployer, same nonces: the new chain has our contracts at the same addresses and
    block, but it is another chain, and the index of the old one must go."""
    from marketplace.chain.anvil import running_anvil
    from marketplace.chain.deploy import deploy_hub
    from marketplace.chain.keys import dev_account

    def deploy_and_index(extra_transfers: int) -> tuple[object, int]:
        with running_anvil() as node:
            settings.WEB3_RPC_URL = node.url
            w3 = client.web3(url=node.url)
            deployment = deploy_hub(w3, dev_account(0))
            sender = client.TransactionSender(dev_account(0), w3=w3)
            for _ in range(extra_transfers):
                sender.send(
                    to=deployment.token,
                    data=bytes.fromhex("a9059cbb")
                    + bytes(12)
                    + bytes.fromhex(dev_account(1).address[2:])
                    + (5).to_bytes(32, "big"),
                )
            index_to_head(deployment)
            return deployment, w3.eth.block_number

    first, _ = deploy_and_index(extra_transfers=3)
    second, head = deploy_and_index(extra_transfers=1)
    assert (first.hub, first.block) == (second.hub, second.block)
    state = IndexerState.objects.get()
    assert state.checkpoint == head
    assert ChainEvent.objects.filter(name="Transfer", address=second.token).count() == 1 + 1


def test_names_anyone_writes_are_stored_whatever_their_bytes(market, hub_deployment):
    """A name that is not UTF-8 and holds a NUL (which PostgreSQL refuses) is registered by
    raw calldata: the asset is indexed with the bytes it could read."""
    from eth_abi import encode
    from eth_utils import keccak

    selector = keccak(text="createApp(address,string,string,bytes,bytes32,bytes)")[:4]
    arguments = encode(
        ["address", "bytes", "bytes", "bytes", "bytes32", "bytes"],
        [market.app_owner.address, b"Bad\xff\x00name", b"WASM", b"/x.wasm", b"\x01" * 32, b""],
    )
    registry = market.hub.app_registry.address
    client.TransactionSender(market.funder, w3=market.w3).send(
        to=registry, data=selector + arguments
    )

    index_to_head(hub_deployment)
    asset = Asset.objects.get(name__startswith="Bad")
    assert asset.name == "Bad\ufffdname"
    assert Listing.objects.get(chain_address=asset.address).name == "Bad\ufffdname"
    assert not ChainEvent.objects.exclude(problem="").exists()


@pytest.mark.parametrize(
    "name", ["<b>Bold</b> app", "Fish &amp; chips", "x" * 200], ids=["tag", "entity", "long"]
)
def test_a_name_the_catalogue_refuses_does_not_stop_the_index(market, hub_deployment, name):
    """Anyone registers assets under any name: one the catalogue would refuse from a form (HTML,
    too long) still gets a pending listing, named by its kind and address, and the index goes
    on (a later deal is indexed)."""
    from eth_abi import encode
    from eth_utils import keccak

    selector = keccak(text="createApp(address,string,string,bytes,bytes32,bytes)")[:4]
    arguments = encode(
        ["address", "string", "string", "bytes", "bytes32", "bytes"],
        [market.app_owner.address, name, "WASM", b"/x.wasm", b"\x02" * 32, b""],
    )
    registry = market.hub.app_registry.address
    client.TransactionSender(market.funder, w3=market.w3).send(
        to=registry, data=selector + arguments
    )

    index_to_head(hub_deployment)
    asset = Asset.objects.get(name__startswith=name[:20])
    listing = Listing.objects.get(chain_address=asset.address)
    assert listing.name == f"App {asset.address[:10]}"
    assert not ChainEvent.objects.exclude(problem="").exists()
    _paid_deal(market)
    index_to_head(hub_deployment)
    assert Deal.objects.exists()


def test_off_the_dev_chain_a_node_behind_the_index_is_waited_for(market, hub_deployment):
    """A node whose head is below the indexed blocks (load-balanced, restarted) proves no
    fork: the indexer waits for it, changing nothing."""
    from marketplace.indexer.engine import ChainMoved

    w3 = market.w3
    behind = client.rpc("evm_snapshot", w3=w3)
    _paid_deal(market)
    index_to_head(hub_deployment, restart_on_deep_fork=False)
    indexed = index_contents()
    client.rpc("evm_revert", [behind], w3=w3)

    indexer = Indexer(deployment=hub_deployment, restart_on_deep_fork=False)
    indexer.start()
    with pytest.raises(ChainMoved, match="behind the indexed block"):
        indexer.step()
    indexer.stop()
    assert index_contents() == indexed


def test_a_dev_chain_reverted_below_the_index_is_indexed_afresh(market, hub_deployment):
    w3 = market.w3
    shorter = client.rpc("evm_snapshot", w3=w3)
    _complete(market, _paid_deal(market), 0)
    index_to_head(hub_deployment)
    client.rpc("evm_revert", [shorter], w3=w3)

    index_to_head(hub_deployment)
    assert not Deal.objects.exists()
    assert IndexerState.objects.get().checkpoint == w3.eth.block_number
