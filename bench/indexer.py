"""Indexer benchmark: two sets of Hub events made on anvil, each indexed from scratch into
PostgreSQL, end to end (logs, decoding, events, projections, block hashes, checkpoints).

    .venv/bin/python bench/indexer.py [--tasks 50000]

- dense: one deal of TASKS tasks, initialized 500 to a transaction (initializeArray): each
  transaction emits 1,000 Hub events (TaskInitialize and TaskCreated per task), a block each;
- sparse: the same, 10 tasks to a transaction: 20 events a block over TASKS / 10 blocks.

Each set is indexed by `marketplace.indexer.engine.Indexer`, as `manage.py index_chain` runs
it, with 12 confirmations (the last blocks are journaled as unconfirmed). In the same run it
measures, as a reference, eth_getLogs over the same blocks plus web3.py's own decoding of each
log (`contract.events.X().process_log`), without any database.

The database: DATABASE_URL's PostgreSQL server (default postgres://postgres@127.0.0.1:5432),
in a database of its own (`superedge_indexer_bench`) created here and dropped at the end. The
chains: anvils of its own on free loopback ports, with a block gas limit of 1e9 for the dense
transactions. Its last line is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.scratch_db import (  # noqa: E402
    database_urls,
    drop_database,
    recreate_database,
    setup_django,
)

BENCH_DATABASE = "superedge_indexer_bench"
DENSE_PER_TX = 500
SPARSE_PER_TX = 10
CONFIRMATIONS = 12
IN_FLIGHT = 20
# Anvil keeps every block's state in memory by default, and slows down as they pile up.
ANVIL_ARGS = ("--prune-history",)


class EventSet:
    """A chain holding one deal of `tasks` tasks, initialized `per_tx` to a transaction."""

    def __init__(self, *, name: str, tasks: int, per_tx: int) -> None:
        self.name = name
        self.tasks = tasks
        self.per_tx = per_tx

    def build(self, node) -> None:
        from eth_account import Account

        from marketplace.chain import client
        from marketplace.chain.client import TransactionSender
        from marketplace.chain.deploy import deploy_hub
        from marketplace.chain.feed import NodeFeed
        from marketplace.chain.hub import AppRegistration, Hub, WorkerpoolRegistration
        from marketplace.chain.keys import dev_account
        from marketplace.chain.orders import (
            AppOrder,
            RequestOrder,
            WorkerpoolOrder,
            hub_domain,
            sign_order,
        )

        started = time.perf_counter()
        w3 = client.web3(url=node.url)
        client.rpc("evm_setBlockGasLimit", [hex(1_000_000_000)], w3=w3)
        deployer, app_owner, scheduler, requester = (dev_account(i) for i in (0, 1, 3, 4))
        self.deployment = deploy_hub(w3, deployer)
        hub = Hub(w3=w3, address=self.deployment.hub)
        funder = TransactionSender(deployer, w3=w3)
        app = hub.register(
            sender=funder,
            asset=AppRegistration(
                owner=app_owner.address,
                name="Bench app",
                multiaddr=b"http://127.0.0.1/bench.wasm",
                checksum=bytes(32),
            ),
        )
        pool = hub.register(
            sender=funder,
            asset=WorkerpoolRegistration(owner=scheduler.address, description="Bench pool"),
        )
        domain = hub_domain(chain_id=w3.eth.chain_id, hub_address=hub.address)
        orders = {
            "app_order": AppOrder(app=app, appprice=0, volume=self.tasks),
            "workerpool_order": WorkerpoolOrder(
                workerpool=pool, workerpoolprice=0, volume=self.tasks, category=0, trust=1
            ),
            "request_order": RequestOrder(
                app=app,
                appmaxprice=0,
                workerpoolmaxprice=0,
                requester=requester.address,
                volume=self.tasks,
                category=0,
                trust=1,
                beneficiary=requester.address,
            ),
        }
        keys = {"app_order": app_owner, "workerpool_order": scheduler, "request_order": requester}
        signs = {
            name.replace("order", "sign"): sign_order(order, domain, keys[name].key)
            for name, order in orders.items()
        }
        dealid = hub.match_orders(
            sender=TransactionSender(requester, w3=w3),
            dataset_order=None,
            **orders,
            **signs,
        )
        # The tasks: raw transactions with their nonces, sent without waiting for receipts;
        # anvil mines each in a block of its own.
        feed = NodeFeed(node.url, timeout=600)
        nonce = w3.eth.get_transaction_count(scheduler.address)
        gas = 120_000 * self.per_tx + 100_000
        raw = []
        for start in range(0, self.tasks, self.per_tx):
            call = hub.initialize_array_call(
                tasks=[(dealid, idx) for idx in range(start, min(start + self.per_tx, self.tasks))]
            )
            signed = Account.sign_transaction(
                {
                    "to": call.to,
                    "data": call.data,
                    "gas": gas,
                    "gasPrice": 2 * 10**9,
                    "nonce": nonce,
                    "chainId": 31337,
                    "value": 0,
                },
                scheduler.key,
            )
            raw.append("0x" + signed.raw_transaction.hex())
            nonce += 1
        sent = first_nonce = nonce - len(raw)
        deadline = time.monotonic() + 900
        for tx in raw:  # one at a time (a batch of them would share blocks) ...
            last = feed.call("eth_sendRawTransaction", [tx])
            sent += 1
            # ... and a few ahead of the miner at most: anvil slows down as its pool fills.
            if (sent - first_nonce) % 1000 == 0:
                print(f"{self.name}: {sent - first_nonce} transactions sent", flush=True)
            if (sent - first_nonce) % IN_FLIGHT == 0 or sent == nonce:
                while (
                    int(feed.call("eth_getTransactionCount", [scheduler.address, "latest"]), 16)
                    < sent
                ):
                    if time.monotonic() > deadline:
                        sys.exit(f"{self.name}: anvil did not mine the transactions in time.")
                    time.sleep(0.005)
        receipt = w3.eth.get_transaction_receipt(last)
        if receipt["status"] != 1:
            sys.exit(f"{self.name}: the last initializeArray reverted.")
        self.head = feed.head()
        feed.close()
        print(
            f"{self.name}: {self.tasks} tasks in {len(raw)} transactions, blocks up to "
            f"{self.head}, built in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

    def index(self) -> tuple[int, float]:
        from marketplace.indexer.engine import Indexer, forget_chain
        from marketplace.indexer.models import ChainEvent, IndexerState

        forget_chain(31337)
        IndexerState.objects.all().delete()
        indexer = Indexer(deployment=self.deployment, confirmations=CONFIRMATIONS)
        batches = []
        started = time.perf_counter()
        indexer.start()
        indexer.run(until_caught_up=True, on_step=batches.append)
        elapsed = time.perf_counter() - started
        indexer.stop()
        events = ChainEvent.objects.filter(chain_id=31337).count()
        indexed = [b for b in batches if b.action == "indexed"]
        print(
            f"{self.name}: indexed {events} events in {elapsed:.2f} s "
            f"({events / elapsed:,.0f} events/s, {len(indexed)} batches)",
            flush=True,
        )
        return events, elapsed

    def raw_web3(self, node) -> tuple[int, float]:
        """eth_getLogs over the same blocks (the indexer's batch sizes) + web3.py decoding."""
        from web3._utils.events import get_event_data

        from marketplace.chain import artifacts, client

        w3 = client.web3(url=node.url)
        abi = artifacts.abi("Hub")
        by_topic = {}
        for item in abi:
            if item.get("type") == "event":
                signature = f"{item['name']}({','.join(i['type'] for i in item['inputs'])})"
                by_topic[w3.keccak(text=signature)] = item
        started = time.perf_counter()
        count = 0
        step = max(1, 10_000 // (2 * self.per_tx))
        for first in range(self.deployment.block, self.head + 1, step):
            logs = w3.eth.get_logs(
                {
                    "fromBlock": first,
                    "toBlock": min(first + step - 1, self.head),
                    "address": self.deployment.hub,
                }
            )
            for log in logs:
                event_abi = by_topic.get(log["topics"][0])
                if event_abi is not None:
                    get_event_data(w3.codec, event_abi, log)
                    count += 1
        elapsed = time.perf_counter() - started
        print(
            f"{self.name}: eth_getLogs + web3.py decoding of {count} events in {elapsed:.2f} s "
            f"({count / elapsed:,.0f} events/s)",
            flush=True,
        )
        return count, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=50_000, help="tasks per set (2 events each)")
    arguments = parser.parse_args()

    database_url, admin_url = database_urls(BENCH_DATABASE)
    recreate_database(admin_url, BENCH_DATABASE)
    try:
        setup_django(database_url)
        from django.test import override_settings

        from marketplace.chain.anvil import running_anvil

        figures: dict[str, float] = {}
        raw_events, raw_seconds = 0, 0.0
        for name, per_tx in (("dense", DENSE_PER_TX), ("sparse", SPARSE_PER_TX)):
            with (
                running_anvil(extra_args=ANVIL_ARGS) as node,
                override_settings(WEB3_RPC_URL=node.url, CHAIN_ID=31337),
            ):
                event_set = EventSet(name=name, tasks=arguments.tasks, per_tx=per_tx)
                event_set.build(node)
                events, seconds = event_set.index()
                figures[f"{name}_events"] = events
                figures[f"{name}_events_per_s"] = round(events / seconds)
                count, elapsed = event_set.raw_web3(node)
                raw_events += count
                raw_seconds += elapsed
        figures["raw_web3_events_per_s"] = round(raw_events / raw_seconds)
    finally:
        drop_database(admin_url, BENCH_DATABASE)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
