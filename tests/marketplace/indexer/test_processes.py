"""`manage.py index_chain` as real processes, each on a database of its own (PostgreSQL when the
suite runs on it, else SQLite files): killed with SIGKILL during a large backfill and restarted,
it ends where a clean run ends; two started together write everything once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.chain_scaffold import Market

ROOT = Path(__file__).resolve().parents[3]
PROJECTIONS = [
    f"indexer.{name}"
    for name in (
        "Category",
        "OrderFill",
        "Deal",
        "Task",
        "Contribution",
        "EscrowAccount",
        "WorkerBond",
        "Worker",
        "Asset",
    )
]
TASKS, PER_TRANSACTION = 4_800, 150  # 9,600 task events in 32 transactions


class Databases:
    """Databases for subprocesses: a migrated template, copied for each use."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.postgres = "postgresql" in settings.DATABASES["default"]["ENGINE"]
        self.made: list[str] = []
        self.template = self._name("template")
        self._create(self.template, template=None)
        self._run(self.template, "migrate", "--no-input", "-v", "0")

    def _name(self, role: str) -> str:
        return f"superedge_indexer_{role}_{uuid.uuid4().hex[:8]}"

    def url(self, name: str) -> str:
        if not self.postgres:
            return f"sqlite:///{self.tmp / name}.sqlite3"
        db = settings.DATABASES["default"]
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        return f"postgres://{user}{password}@{host}:{port}/{name}"

    def _admin(self):
        import psycopg

        return psycopg.connect(
            self.url("postgres").replace("postgres://", "postgresql://"), autocommit=True
        )

    def _create(self, name: str, *, template: str | None) -> None:
        if self.postgres:
            from psycopg import sql

            with self._admin() as admin:
                query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                if template:
                    query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                        sql.Identifier(name), sql.Identifier(template)
                    )
                admin.execute(query)
        elif template:
            shutil.copy(self.tmp / f"{template}.sqlite3", self.tmp / f"{name}.sqlite3")
        self.made.append(name)

    def new(self, role: str) -> str:
        name = self._name(role)
        self._create(name, template=self.template)
        return name

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST", "DJANGO_SETTINGS"))
        }
        env.update(
            DATABASE_URL=self.url(name),
            WEB3_RPC_URL=settings.WEB3_RPC_URL,
            CHAIN_ID="31337",
            CHAIN_CONFIRMATIONS="0",
            SUPEREDGE_VAR_DIR=str(self.tmp / f"var-{name}"),
            PYTHONUNBUFFERED="1",
            **extra,
        )
        env.pop("REDIS_URL", None)
        return env

    def _run(self, name: str, *arguments: str, **extra: str) -> str:
        result = subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *arguments],
            cwd=ROOT,
            env=self.env(name, **extra),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def index(self, name: str, hub: str, **extra: str) -> str:
        return self._run(name, "index_chain", "--once", HUB_ADDRESS=hub, **extra)

    def contents(self, name: str) -> dict:
        """The index, without database ids (sequences move on in rolled-back batches)."""
        dumped = json.loads(
            self._run(name, "dumpdata", "indexer.ChainEvent", *PROJECTIONS, "--indent", "0")
        )
        by_model: dict[str, list] = {}
        for row in dumped:
            fields = {k: v for k, v in row["fields"].items() if k != "listing"}
            by_model.setdefault(row["model"], []).append(json.dumps(fields, sort_keys=True))
        listings = json.loads(self._run(name, "dumpdata", "catalogue.Listing", "--indent", "0"))
        by_model["listings"] = sorted(
            json.dumps(
                {k: row["fields"][k] for k in ("slug", "chain_address", "reputation", "status")}
            )
            for row in listings
        )
        return {model: sorted(rows) for model, rows in by_model.items()}

    def drop(self) -> None:
        if not self.postgres:
            return
        from psycopg import sql

        with self._admin() as admin:
            for name in self.made:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    made = Databases(tmp_path_factory.mktemp("indexer-processes"))
    yield made
    made.drop()


@pytest.fixture
def backfill(chain, hub_deployment, dev_accounts) -> Market:
    """A chain with a long backfill: a deal of TASKS tasks, PER_TRANSACTION initialized a block."""
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    orders = market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0, volume=TASKS)
    dealid = market.match(orders)
    scheduler = market.sender(market.scheduler)
    for start in range(0, TASKS, PER_TRANSACTION):
        market.hub.initialize_array(
            sender=scheduler,
            tasks=[(dealid, idx) for idx in range(start, start + PER_TRANSACTION)],
        )
    return market


def test_an_indexer_killed_mid_backfill_and_restarted_ends_as_a_clean_run(
    databases, backfill, hub_deployment
):
    hub = hub_deployment.hub
    clean = databases.new("clean")
    databases.index(clean, hub)
    expected = databases.contents(clean)
    assert len(expected["indexer.chainevent"]) > TASKS * 2

    killed = databases.new("killed")
    small_batches = {"INDEXER_FIRST_RANGE": "2", "INDEXER_TARGET_EVENTS": "600"}
    process = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "index_chain"],
        cwd=ROOT,
        env=databases.env(killed, HUB_ADDRESS=hub, **small_batches),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    batches = 0
    try:
        deadline = time.monotonic() + 120
        while batches < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            batches += line.startswith("blocks ")
        assert batches == 3, "the indexer did not write three batches"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    partial = databases.contents(killed)
    assert 0 < len(partial.get("indexer.chainevent", [])) < len(expected["indexer.chainevent"])

    databases.index(killed, hub, **small_batches)
    assert databases.contents(killed) == expected


def test_two_indexers_started_together_write_everything_once(databases, backfill, hub_deployment):
    hub = hub_deployment.hub
    clean = databases.new("single")
    databases.index(clean, hub)
    expected = databases.contents(clean)

    shared = databases.new("shared")
    environment = databases.env(
        shared, HUB_ADDRESS=hub, INDEXER_FIRST_RANGE="4", INDEXER_TARGET_EVENTS="2000"
    )
    processes = [
        subprocess.Popen(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", "index_chain", "--once", "--wait"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=240) for process in processes]
    for process, (_, errors) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, errors[-3000:]
    assert databases.contents(shared) == expected
