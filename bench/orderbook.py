"""Order book benchmark: publishing signed orders, through the service and through HTTP, and
finding the best offers for a buyer over a book of open orders.

    .venv/bin/python bench/orderbook.py [--orders 20000] [--book 100000] [--queries 1000]

Set-up, untimed: a Hub on its own anvil, 10 apps, 3 datasets and 20 pools registered for dev
accounts 1-9, their owners' escrow funded, all of it indexed; then ORDERS + ORDERS + the rest
of BOOK orders signed in advance (a mix: 40 % app orders, 10 % dataset orders, 50 % pool
orders over the five categories, random prices, trusts and restrictions).

- service: `orders_publish` in batches of 1,000, every check included (parsing, digest,
  signature recovery, the asset's owner, closed/consumed, the pool's stake, duplicates);
- HTTP: POST /api/v1/orders/publish/ in batches of 100 to the site served by Daphne
  (`python -m marketplace.serve`), authenticated by a wallet token, with a client thread per
  core so that the server is kept busy;
- best offer: with BOOK open orders in the book, the cheapest app, dataset and pool orders that
  fit a random buyer's wanted run (app, dataset or none, category, trust, volume), as
  `purchase_quote` finds them: QUERIES lookups, p50 and p95.

The database: DATABASE_URL's PostgreSQL server (default 127.0.0.1:5432), in a database of its
own (`superedge_orderbook_bench`) created here and dropped at the end. Its last line is one
JSON object of the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
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

BENCH_DATABASE = "superedge_orderbook_bench"
ECT = 10**9
SERVICE_BATCH = 1000
HTTP_BATCH = 100


class Market:
    """The chain side: assets registered, owners funded, and the keys that sign."""

    def __init__(self, rpc_url: str) -> None:
        from marketplace.chain import client
        from marketplace.chain.deploy import deploy_hub
        from marketplace.chain.hub import (
            AppRegistration,
            DatasetRegistration,
            Hub,
            WorkerpoolRegistration,
        )
        from marketplace.chain.keys import dev_account
        from marketplace.chain.models import Deployment
        from marketplace.chain.orders import hub_domain

        w3 = client.web3(url=rpc_url)
        deployer = dev_account(0)
        deployment = deploy_hub(w3, deployer)
        fields = dataclasses.asdict(deployment)
        Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
        self.deployment = deployment
        self.hub = Hub(w3=w3, address=deployment.hub)
        self.domain = hub_domain(chain_id=31337, hub_address=deployment.hub)
        self.keys = {dev_account(i).address: dev_account(i).key for i in range(1, 10)}
        owners = list(self.keys)
        funder = client.TransactionSender(deployer, w3=w3)

        def register(asset) -> str:
            return self.hub.register(sender=funder, asset=asset)

        self.apps = [
            (
                register(
                    AppRegistration(
                        owner=owners[i % 9],
                        name=f"App {i}",
                        multiaddr=f"/apps/{i}.wasm".encode(),
                        checksum=bytes(31) + bytes([i]),
                    )
                ),
                owners[i % 9],
            )
            for i in range(10)
        ]
        self.datasets = [
            (
                register(
                    DatasetRegistration(
                        owner=owners[i],
                        name=f"Dataset {i}",
                        multiaddr=f"/datasets/{i}".encode(),
                        checksum=bytes(30) + bytes([1, i]),
                    )
                ),
                owners[i],
            )
            for i in range(3)
        ]
        self.pools = [
            (
                register(WorkerpoolRegistration(owner=owners[i % 9], description=f"Pool {i}")),
                owners[i % 9],
            )
            for i in range(20)
        ]
        stake = 10**7 * ECT
        self.hub.approve_call(amount=stake * len(owners)).send(funder)
        for owner in owners:
            self.hub.deposit_for_call(amount=stake, target=owner).send(funder)

    def index(self) -> None:
        from marketplace.indexer.engine import Indexer

        indexer = Indexer(deployment=self.deployment, poll_seconds=0.05)
        indexer.run(until_caught_up=True)
        indexer.stop()

    def signed_orders(self, count: int, rng: random.Random) -> list[dict]:
        """`count` orders of the mix, signed by their owners, as publish bodies."""
        from marketplace.chain.orders import (
            AppOrder,
            DatasetOrder,
            WorkerpoolOrder,
            order_digest,
            sign_digest,
            typed_data,
        )

        bodies = []
        for _ in range(count):
            roll = rng.random()
            if roll < 0.4:
                app, owner = rng.choice(self.apps)
                order = AppOrder(
                    app=app, appprice=rng.randint(1, 100) * ECT // 10, volume=rng.randint(1, 500)
                )
                kind = "app"
            elif roll < 0.5:
                dataset, owner = rng.choice(self.datasets)
                restrict = rng.choice(self.apps)[0] if rng.random() < 0.5 else None
                order = DatasetOrder(
                    dataset=dataset,
                    datasetprice=rng.randint(0, 50) * ECT // 10,
                    volume=rng.randint(1, 500),
                    **({"apprestrict": restrict} if restrict else {}),
                )
                kind = "dataset"
            else:
                pool, owner = rng.choice(self.pools)
                order = WorkerpoolOrder(
                    workerpool=pool,
                    workerpoolprice=rng.randint(1, 100) * ECT // 10,
                    volume=rng.randint(1, 500),
                    category=rng.randint(0, 4),
                    trust=rng.choice((0, 1, 1, 3, 5, 10)),
                )
                kind = "workerpool"
            signature = sign_digest(order_digest(order, self.domain), self.keys[owner])
            bodies.append(
                {
                    "kind": kind,
                    "order": typed_data(order, self.domain)["message"],
                    "signature": "0x" + signature.hex(),
                }
            )
        return bodies


def publish_service(bodies: list[dict]) -> float:
    """orders/s through `orders_publish`, in batches."""
    from marketplace.orders.services import Submission, orders_publish

    submissions = [Submission(**body) for body in bodies]
    started = time.perf_counter()
    for start in range(0, len(submissions), SERVICE_BATCH):
        outcomes = orders_publish(submissions=submissions[start : start + SERVICE_BATCH])
        refused = [o.error for o in outcomes if o.error is not None]
        if refused:
            raise SystemExit(f"The service refused an order: {refused[0]}")
    return len(bodies) / (time.perf_counter() - started)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _token(base: str) -> str:
    import requests
    from eth_account import Account
    from eth_account.messages import encode_defunct

    from marketplace.chain.keys import dev_account

    account: Account = dev_account(9)
    message = requests.post(
        f"{base}/api/v1/auth/challenge/",
        json={"address": account.address, "chainId": 31337},
        timeout=30,
    ).json()["message"]
    signature = account.sign_message(encode_defunct(text=message)).signature.hex()
    answer = requests.post(
        f"{base}/api/v1/auth/token/",
        json={"message": message, "signature": "0x" + signature.removeprefix("0x")},
        timeout=30,
    )
    answer.raise_for_status()
    return answer.json()["token"]


def publish_http(bodies: list[dict], *, database_url: str, rpc_url: str) -> float:
    """orders/s through POST /api/v1/orders/publish/ to a Daphne server on loopback."""
    import requests

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WEB3_RPC_URL": rpc_url,
        "DJANGO_DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATASET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "marketplace.serve", "--port", str(port), "--processes", "1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,  # Daphne's access log: a line per request
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{base}/healthz/", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        token = _token(base)
        batches = [bodies[i : i + HTTP_BATCH] for i in range(0, len(bodies), HTTP_BATCH)]
        lock = threading.Lock()
        errors: list[str] = []

        def client() -> None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {token}"
            while True:
                with lock:
                    if not batches:
                        return
                    batch = batches.pop()
                answer = session.post(
                    f"{base}/api/v1/orders/publish/", json={"orders": batch}, timeout=120
                )
                if answer.status_code != 201:
                    errors.append(answer.text[:300])
                    return

        threads = [threading.Thread(target=client) for _ in range(os.cpu_count() or 2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if errors:
            raise SystemExit(f"The API refused a batch: {errors[0]}")
        return len(bodies) / elapsed
    finally:
        server.terminate()
        server.wait(timeout=30)


def best_offers(market: Market, queries: int, rng: random.Random) -> list[float]:
    """Milliseconds of each lookup of the cheapest app, dataset and pool orders that fit."""
    from marketplace.chain.orders import tag_union
    from marketplace.orders import selectors

    timings = []
    requester = "0x000000000000000000000000000000000000bEEF"
    for _ in range(queries):
        dataset = rng.choice(market.datasets)[0] if rng.random() < 0.3 else ""
        wanted = selectors.Wanted(
            app=rng.choice(market.apps)[0],
            dataset=dataset,
            category=rng.randint(0, 4),
            trust=rng.choice((0, 1, 3, 5)),
            volume=rng.randint(1, 20),
            requester=requester,
        )
        started = time.perf_counter()
        app = selectors.best_app_order(chain_id=31337, wanted=wanted)
        data = selectors.best_dataset_order(chain_id=31337, wanted=wanted)
        required = tag_union(
            wanted.tag,
            bytes.fromhex(app.tag[2:]) if app else bytes(32),
            bytes.fromhex(data.tag[2:]) if data else bytes(32),
        )
        selectors.best_workerpool_orders(
            chain_id=31337, wanted=wanted, required_tag=required, app_order=app, dataset_order=data
        )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000, help="orders per publish run")
    parser.add_argument("--book", type=int, default=100_000, help="open orders for best offer")
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    if args.book < 2 * args.orders:
        parser.error("--book must be at least twice --orders")

    database_url, admin_url = database_urls(BENCH_DATABASE)
    recreate_database(admin_url, BENCH_DATABASE)
    try:
        from marketplace.chain.anvil import running_anvil

        with running_anvil() as node:
            os.environ["WEB3_RPC_URL"] = node.url
            os.environ["LOG_LEVEL"] = "WARNING"  # not a line per transaction sent
            setup_django(database_url)
            from django.db import connection

            rng = random.Random(5)
            print("Setting up: registering assets, funding owners, indexing…", flush=True)
            market = Market(node.url)
            market.index()
            print(f"Signing {args.book:,} orders…", flush=True)
            started = time.perf_counter()
            bodies = market.signed_orders(args.book, rng)
            print(f"  signed in {time.perf_counter() - started:.1f} s", flush=True)

            if os.environ.get("BENCH_PROFILE"):
                import cProfile
                import pstats

                profile = cProfile.Profile()
                profile.enable()
            service = publish_service(bodies[: args.orders])
            if os.environ.get("BENCH_PROFILE"):
                profile.disable()
                pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
            print(
                f"service: {args.orders:,} orders published at {service:,.0f} orders/s", flush=True
            )
            connection.close()
            http = publish_http(
                bodies[args.orders : 2 * args.orders], database_url=database_url, rpc_url=node.url
            )
            print(
                f"HTTP:    {args.orders:,} orders published at {http:,.0f} orders/s "
                f"(batches of {HTTP_BATCH})",
                flush=True,
            )
            rest = publish_service(bodies[2 * args.orders :])
            print(f"  (the rest of the book: {len(bodies) - 2 * args.orders:,} at {rest:,.0f}/s)")

            from marketplace.orders.models import Order

            with connection.cursor() as cursor:
                cursor.execute("ANALYZE orders_order")
            open_orders = Order.objects.filter(status="open").count()
            best_offers(market, 50, rng)  # warm the caches
            timings = best_offers(market, args.queries, rng)
            cuts = statistics.quantiles(timings, n=100)
            p50, p95 = statistics.median(timings), cuts[94]
            print(
                f"best offer over {open_orders:,} open orders: p50 {p50:.2f} ms, "
                f"p95 {p95:.2f} ms ({args.queries:,} lookups)"
            )
    finally:
        drop_database(admin_url, BENCH_DATABASE)
    print(
        json.dumps(
            {
                "orders_per_s_service": round(service),
                "orders_per_s_http": round(http),
                "best_offer_p50_ms": round(p50, 2),
                "best_offer_p95_ms": round(p95, 2),
                "open_orders": open_orders,
            }
        )
    )


if __name__ == "__main__":
    main()
