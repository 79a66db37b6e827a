"""Catalogue benchmark: list, search and filter pages over HTTP, against a large catalogue,
and listing pages with their on-chain record and price charts against a large index of deals.

    .venv/bin/python bench/catalogue.py [--listings 100000] [--deals 1000000] [--requests 400]
        [--concurrency 4]

`--registered` of the public listings are registered on chain (an indexed asset each, at its
checksummed address as the indexer writes it) and `--deals` indexed deals are spread among them
as a market spreads them: a few hot apps, datasets and pools take most deals (Zipf-like
weights), over the last year, prices drifting around each asset's own. The latest deals have
their tasks and contributions (most completed, some failed, given up or late), the book holds
open offers of most registered listings and open requests among them, and the pools' records
and the listings' reputations are derived as the indexer's followers derive them. The "detail"
scenario asks those listings' pages (hot ones more often, some by hour, pools in one of their
categories), each with its record, its cheapest run, its price history and depth.

It never touches the developer's data: everything lives in a temporary directory
(`SUPEREDGE_VAR_DIR`: SQLite file, media, dev secrets). With `DATABASE_URL` set it uses that
PostgreSQL server, but a database of its own named `<name>_bench`, created here and dropped at the
end. It migrates, seeds the catalogue with bulk inserts, builds the full-text index, then starts
the server `make run` starts (`python -m marketplace.serve`, `DJANGO_DEBUG=true`) and measures
each scenario with a few keep-alive client threads on loopback. As with `make run`, that is one
Daphne process with in-process caches, or with `REDIS_URL` set one process per core sharing Redis
(under a key prefix of the benchmark's own, deleted at the end).

It prints a table, whether the targets are met, and as its last line one JSON object. The exit
status is 1 when any response was not a 200, because such figures measure error pages.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = BASE_DIR / ".venv" / "bin"

# Targets at 100,000 listings (and, for the listing pages, 1,000,000 indexed deals).
TARGET_P95_MS = 50.0
TARGET_LIST_RPS_SHARE = 0.5

SEED_BATCH = 5_000
USERS = 300
RARE_WORDS = 4_000


def _words(text: str) -> list[str]:
    return text.split()


# Words of names, summaries and descriptions. Descriptions draw them with Zipf-like weights
# (the first words are common, the last rare) so that searches hit a realistic mix of large and
# small result sets.
CONTENT_WORDS = _words("""
data fast compute render image model secure open edge graph stream batch cloud green text
vector audio video network energy climate sensor weather genome protein chemistry physics
render svg png pdf json csv parquet archive compress encrypt decrypt hash sign verify index
search query parse format convert resize crop filter blur sharpen detect classify cluster
train infer predict forecast simulate optimize schedule route plan solve compile link test
benchmark profile trace monitor alert log metric dashboard report export import sync backup
restore mirror replicate shard partition merge split sort join aggregate sample label
annotate translate transcribe summarize tokenize embed rank recommend match dedupe clean
validate anonymize mask redact audit comply tiny small large huge parallel distributed
deterministic sandboxed portable lightweight robust accurate precise scalable elastic
reliable efficient frugal solar hydro wind nuclear renewable carbon neutral europe america
asia africa pacific nordic alpine coastal urban rural satellite drone lidar radar sonar
camera microphone thermometer barometer seismic ocean river forest glacier desert city
traffic transit railway aviation shipping logistics retail finance banking insurance health
medical clinical radiology pathology cardiology oncology neurology pharmacy nutrition
fitness sports music cinema theatre literature poetry history geography geology astronomy
cosmology particle quantum optics acoustics mechanics robotics automation manufacturing
printing textile agriculture irrigation soil harvest livestock fishery forestry mining
recycling waste water air pollution noise mobility housing education library museum
gallery census election survey opinion market price auction ledger token wallet contract
oracle bridge rollup validator consensus mempool block chain node peer gossip relay cache
proxy gateway firewall tunnel dns http grpc websocket mqtt kafka queue worker pool cluster
kernel runtime wasm wasi rust python golang zig assembly compiler interpreter bytecode
shader raytracer rasterizer mesh voxel texture sprite font glyph typeset layout diagram
chart plot histogram heatmap map tile terrain elevation contour polygon polyline raster
lattice tensor matrix sparse dense fourier wavelet spline kalman markov bayesian monte
carlo gradient descent regression entropy
""")
CONTENT_WORDS = list(dict.fromkeys(CONTENT_WORDS))  # drop repeats, keep order
FILLER_WORDS = _words("""
the a an and or of to in for with on by from at as is are be it this that which fast every
each all any more most new your our their into over under while when so can will may
""")
NOUNS = _words("""
renderer encoder decoder compiler solver converter parser indexer scanner tracer mapper
planner scheduler simulator optimizer classifier detector tokenizer summarizer translator
archive collection corpus series catalogue registry atlas survey benchmark toolkit engine
pipeline studio lab workbench forge mill foundry hub station cluster farm grid fleet
""")
TAGS = _words(
    "graphics svg machine-learning genomics climate finance geospatial audio video green"
    " low-latency high-memory"
)
TASK_CATEGORIES = ["XS", "S", "M", "L", "XL"]
CATEGORY_FACTORS = [1, 3, 8, 20, 60]
REGIONS = _words(  # pools.models.Region
    "eu-west eu-central eu-north us-east us-west sa-east ap-south ap-east af-south"
)
KIND_WEIGHTS = {"app": 40, "dataset": 35, "pool": 25}


# --------------------------------------------------------------------------------------------
# Database of the benchmark


@dataclass
class BenchDatabase:
    """Where the benchmark's data lives; `env` is the environment of every Django process."""

    vendor: str
    url: str
    var_dir: Path
    env: dict[str, str]
    admin_url: str = ""  # PostgreSQL: the `postgres` maintenance database
    name: str = ""
    lock: Any = None  # PostgreSQL: the connection holding the benchmark's advisory lock


def bench_database(var_dir: Path) -> BenchDatabase:
    env = dict(os.environ)
    env["SUPEREDGE_VAR_DIR"] = str(var_dir)
    env["DJANGO_DEBUG"] = "true"
    env["DJANGO_SETTINGS_MODULE"] = "marketplace.settings"
    # With Redis, the server runs as `make run` runs it then: one process per core sharing the
    # cache. Keys get a prefix of their own, deleted at the end, so the developer's are safe.
    if env.get("REDIS_URL"):
        env["CACHE_KEY_PREFIX"] = f"bench-{os.getpid()}"
    else:
        env.pop("REDIS_URL", None)
    # An explicit URL also beats a DATABASE_URL the developer may keep in .env.
    developer_url = os.environ.get("DATABASE_URL", "")
    if not developer_url:
        url = f"sqlite:///{var_dir / 'superedge.sqlite3'}"
        env["DATABASE_URL"] = url
        return BenchDatabase(vendor="sqlite", url=url, var_dir=var_dir, env=env)
    parts = urllib.parse.urlsplit(developer_url)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"DATABASE_URL must be a PostgreSQL URL (or unset for SQLite): {parts.scheme}")
    name = f"{parts.path.lstrip('/') or 'superedge'}_bench"
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    env["DATABASE_URL"] = url
    return BenchDatabase(
        vendor="postgresql", url=url, var_dir=var_dir, env=env, admin_url=admin, name=name
    )


def create_database(db: BenchDatabase) -> None:
    if db.vendor == "postgresql":
        import psycopg
        from psycopg import sql

        # Held until drop_database: a second benchmark against the same server stops here
        # instead of dropping the database under the first one.
        db.lock = psycopg.connect(db.admin_url, autocommit=True)
        locked = db.lock.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (db.name,))
        if not locked.fetchone()[0]:
            db.lock.close()
            db.lock = None
            sys.exit(f"Another benchmark is using the database {db.name}; wait until it ends.")
        name = sql.Identifier(db.name)
        # A leftover of a benchmark that was killed: start afresh.
        db.lock.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        db.lock.execute(sql.SQL("CREATE DATABASE {}").format(name))
    started = time.perf_counter()
    result = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", "migrate", "--no-input"],
        cwd=BASE_DIR,
        env=db.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"migrate failed:\n{result.stdout}\n{result.stderr}")
    print(f"migrate: {time.perf_counter() - started:.1f} s")


def drop_cache(db: BenchDatabase) -> None:
    """Delete the benchmark's keys from the developer's Redis."""
    prefix = db.env.get("CACHE_KEY_PREFIX")
    if not db.env.get("REDIS_URL") or not prefix:
        return
    import redis

    client = redis.Redis.from_url(db.env["REDIS_URL"])
    try:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()


def drop_database(db: BenchDatabase) -> None:
    """Drop the benchmark's PostgreSQL database, even with connections still open (SQLite: the
    file goes with the temporary directory)."""
    if db.lock is not None:
        from psycopg import sql

        try:
            name = sql.Identifier(db.name)
            db.lock.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        finally:
            db.lock.close()  # releases the advisory lock
            db.lock = None


def setup_django(db: BenchDatabase) -> None:
    """Configure Django in this process for the benchmark's database (seeding only)."""
    os.environ.update(db.env)
    os.environ.pop("REDIS_URL", None)
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


# --------------------------------------------------------------------------------------------
# Seeding


def rare_words(rng_seed: int, count: int = RARE_WORDS) -> list[str]:
    """Made-up words (product names, jargon): the long tail of a real vocabulary."""
    rng = random.Random(rng_seed)
    onsets = _words("b c d f g h k l m n p r s t v z br cr dr fl gr kl pr st tr")
    vowels = _words("a e i o u ai ea io ou")
    codas = ["", "n", "r", "s", "x", "l", "th", "nd", "rk"]
    words: set[str] = set()
    while len(words) < count:
        syllables = (rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 3)))
        words.add("".join(syllables) + rng.choice(codas))
    return sorted(words - set(CONTENT_WORDS))


class TextMaker:
    """Deterministic random names, summaries and descriptions.

    Words follow Zipf's law over the domain words then the made-up ones: the first domain
    words are in most descriptions, the made-up ones in a few. Descriptions are drawn from a
    pool of sentences, which makes generating 100,000 of them cheap.
    """

    def __init__(self, rng: random.Random, rare: list[str], *, sentences: int = 30_000) -> None:
        self.rng = rng
        self.rare = rare
        self.vocabulary = CONTENT_WORDS + self.rare
        self.cum_weights = list(
            itertools.accumulate(1 / (rank + 1) for rank in range(len(self.vocabulary)))
        )
        self.sentences = [self._sentence(rng.randint(5, 12)) for _ in range(sentences)]

    def _sentence(self, count: int) -> str:
        words = self.rng.choices(self.vocabulary, cum_weights=self.cum_weights, k=count)
        for position in range(1, count, 3):
            words.insert(position, self.rng.choice(FILLER_WORDS))
        return " ".join(words).capitalize() + "."

    def name(self) -> str:
        words = self.rng.sample(CONTENT_WORDS, self.rng.choice((1, 1, 2)))
        if self.rng.random() < 0.5:
            words.insert(0, self.rng.choice(self.rare))
        return " ".join(w.capitalize() for w in [*words, self.rng.choice(NOUNS)])

    def summary(self) -> str:
        return self.rng.choice(self.sentences)[:160]

    def description(self) -> tuple[str, str]:
        """Markdown and its HTML: plain paragraphs, so the HTML is what `render_markdown` makes
        of them, without paying for 100,000 renderings."""
        paragraphs = [
            " ".join(self.rng.choices(self.sentences, k=self.rng.randint(2, 5)))
            for _ in range(self.rng.randint(1, 4))
        ]
        return "\n\n".join(paragraphs), "".join(f"<p>{p}</p>\n" for p in paragraphs)


def _histogram(rng: random.Random) -> list[int]:
    if rng.random() < 0.3:
        return [0, 0, 0, 0, 0]
    total = int(rng.lognormvariate(2.5, 1.2)) + 1
    quality = rng.random()  # how good the listing is: shifts the stars up
    weights = [(1 - quality) ** 2, (1 - quality), 0.5, quality, quality**2 * 2]
    counts = [0] * 5
    for stars in rng.choices(range(5), weights=weights, k=min(total, 2_000)):
        counts[stars] += 1
    return counts


def _status(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return "featured"
    if roll < 0.15:
        return "pending"
    return "approved"


def _prices(rng: random.Random) -> dict[str, Decimal]:
    base = rng.lognormvariate(-2.3, 1.0)
    first = rng.randrange(5)
    count = rng.randint(1, 5 - first)
    return {
        TASK_CATEGORIES[i]: Decimal(f"{base * CATEGORY_FACTORS[i]:.9f}")
        for i in range(first, first + count)
    }


def _app_fields(listing: Any, digest: str, rng: random.Random) -> dict[str, Any]:
    return {
        "wasm": f"apps/2025/01/{listing.slug[:60]}.wasm",
        "wasm_sha256": digest,
        "wasm_size": rng.randint(50_000, 30_000_000),
        "default_args": rng.choice(("", "input.svg output.png", "--help")),
    }


def _dataset_fields(listing: Any, digest: str, rng: random.Random) -> dict[str, Any]:
    size = rng.randint(1_000, 200_000_000)
    return {
        "encrypted_file": f"datasets/2025/01/{listing.slug[:60]}.bin",
        "encrypted_sha256": digest,
        "encrypted_size": size + 28,
        "plain_size": size,
        "original_name": f"{listing.slug[:60]}.csv",
        "content_type": "text/csv",
        "wrapped_key": rng.randbytes(60),
    }


def _pool_fields(listing: Any, digest: str, rng: random.Random) -> dict[str, Any]:
    cores = rng.choice((1, 2, 4, 4, 8, 8, 16, 32, 64))
    return {
        "cpu_cores": cores,
        "memory_mb": cores * rng.choice((1024, 2048, 4096)),
        "runtime": "wasm",
        "location": rng.choice(REGIONS),
        "energy_class": rng.choices("ABCDE", weights=(2, 3, 3, 2, 1))[0],
        "visibility": "public" if rng.random() < 0.85 else "private",
        "worker_count": rng.randint(0, 200),
    }


# The made-up fields of a listing's row in its market (its adapter's `detail_relation`), by
# market; `digest` stands for its file's checksum.
MARKET_FIELDS: dict[str, Callable[[Any, str, random.Random], dict[str, Any]]] = {
    "app": _app_fields,
    "dataset": _dataset_fields,
    "pool": _pool_fields,
}


@contextlib.contextmanager
def _historical_timestamps(model) -> Iterator[None]:
    """Let bulk_create write the given created_at/updated_at instead of now()."""
    fields = [model._meta.get_field("created_at"), model._meta.get_field("updated_at")]
    saved = [(f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, (auto_now, auto_now_add) in zip(fields, saved, strict=True):
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def seed(*, listings: int, rng_seed: int) -> dict[str, float]:
    """Bulk-insert users, tags and `listings` listings with their market rows and prices; then
    build the full-text index and refresh the planner statistics. Returns timings in seconds."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test.utils import override_settings

    from marketplace.catalogue.markets import MARKETS
    from marketplace.catalogue.models import Listing, ListingPrice, Tag
    from marketplace.catalogue.search import index_listings

    rng = random.Random(rng_seed)
    text = TextMaker(rng, rare_words(rng_seed))
    user_model = get_user_model()
    timings: dict[str, float] = {}
    now = datetime.now(UTC)
    kinds, kind_weights = zip(*KIND_WEIGHTS.items(), strict=True)
    tag_through = Listing.tags.through
    # Each market's own model (App, Dataset, Workerpool), found through its adapter.
    market_models = {
        kind: Listing._meta.get_field(market.detail_relation).related_model
        for kind, market in MARKETS.items()
    }
    priced_per_category = {kind for kind, market in MARKETS.items() if market.prices_per_category}

    # DEBUG keeps every query's SQL; megabytes of INSERTs are not worth keeping.
    with override_settings(DEBUG=False), _historical_timestamps(Listing):
        started = time.perf_counter()
        with transaction.atomic():
            owners = user_model.objects.bulk_create(
                user_model(
                    username=f"{rng.choice(CONTENT_WORDS)}-{rng.choice(NOUNS)}-{i}",
                    email=f"provider{i}@example.com",
                    password="!",  # unusable
                    date_joined=now - timedelta(days=900),
                )
                for i in range(USERS)
            )
            tags = Tag.objects.bulk_create(Tag(name=name, slug=name) for name in TAGS)
        ids: list[int] = []
        for start in range(0, listings, SEED_BATCH):
            count = min(SEED_BATCH, listings - start)
            with transaction.atomic():
                rows, prices = [], []
                for offset in range(count):
                    position = start + offset
                    kind = rng.choices(kinds, weights=kind_weights)[0]
                    name = text.name()
                    status = _status(rng)
                    histogram = _histogram(rng)
                    ratings = sum(histogram)
                    average = (
                        sum(s * n for s, n in zip(range(1, 6), histogram, strict=True)) / ratings
                        if ratings
                        else 0
                    )
                    description, description_html = text.description()
                    listing_prices = _prices(rng)
                    prices.append(listing_prices)
                    # One price per task, or (pools) one per category.
                    task_price = (
                        None if kind in priced_per_category else min(listing_prices.values())
                    )
                    # Oldest first, one every few minutes, the newest a moment ago.
                    created = now - timedelta(minutes=5 * (listings - position))
                    rows.append(
                        Listing(
                            kind=kind,
                            name=name[:80],
                            slug=f"{'-'.join(name.lower().split())}-{position}",
                            summary=text.summary(),
                            description=description,
                            description_html=description_html,
                            owner=rng.choice(owners),
                            owner_wallet=f"0x{rng.getrandbits(160):040x}"
                            if rng.random() < 0.6
                            else "",
                            status=status,
                            is_public=status in ("approved", "featured"),
                            price=task_price,
                            price_from=min(listing_prices.values()),
                            rating_avg=Decimal(f"{average:.2f}"),
                            rating_count=ratings,
                            rating_histogram=histogram,
                            reputation=rng.randint(0, 500),
                            created_at=created,
                            updated_at=created + timedelta(days=rng.randint(0, 30)),
                        )
                    )
                created_rows = Listing.objects.bulk_create(rows)
                tag_rows, price_rows = [], []
                market_rows: dict[str, list[Any]] = {kind: [] for kind in market_models}
                for listing, listing_prices in zip(created_rows, prices, strict=True):
                    ids.append(listing.pk)
                    tag_rows.extend(
                        tag_through(listing_id=listing.pk, tag_id=tag.pk)
                        for tag in rng.sample(tags, rng.randint(1, 4))
                    )
                    if listing.kind in priced_per_category:
                        price_rows.extend(
                            ListingPrice(listing_id=listing.pk, category=category, price=price)
                            for category, price in listing_prices.items()
                        )
                    digest = hashlib.sha256(listing.slug.encode()).hexdigest()
                    fields = MARKET_FIELDS[listing.kind](listing, digest, rng)
                    market_rows[listing.kind].append(
                        market_models[listing.kind](listing_id=listing.pk, **fields)
                    )
                tag_through.objects.bulk_create(tag_rows)
                ListingPrice.objects.bulk_create(price_rows)
                for kind, rows_of_market in market_rows.items():
                    market_models[kind].objects.bulk_create(rows_of_market)
            done = start + count
            if done % 20_000 == 0 or done == listings:
                elapsed = time.perf_counter() - started
                print(f"  seeded {done:,} listings in {elapsed:.1f} s", flush=True)
        timings["insert"] = time.perf_counter() - started

        started = time.perf_counter()
        with transaction.atomic():
            index_listings(ids)
        timings["search_index"] = time.perf_counter() - started

    started = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # A bulk load leaves the visibility map empty; autovacuum would fill it in the
            # middle of the measurements. Do it now so that they see a settled database.
            cursor.execute("VACUUM (ANALYZE)")
    timings["analyze"] = time.perf_counter() - started
    connection.close()
    return timings


# --------------------------------------------------------------------------------------------
# Indexed deals

DEAL_BATCH = 10_000
CHAIN_ID = 31337
PRICE_DAYS = 10
# Tasks (and their contributions) for the latest deals; open requests on the book.
TASK_DEALS = 100_000
BOOK_REQUESTS = 3_000


def _zipf_weights(count: int, exponent: float = 1.1) -> list[float]:
    return list(itertools.accumulate(1 / (rank + 1) ** exponent for rank in range(count)))


@dataclass
class Registered:
    """The listings registered on chain, by kind: (listing id, slug, address) hottest first."""

    by_kind: dict[str, list[tuple[int, str, str]]]


def seed_deals(*, registered: int, deals: int, rng_seed: int) -> tuple[Registered, float]:
    """Register `registered` public listings on chain (an indexed asset each, owned by their
    wallet) and write `deals` indexed deals among them; then refresh the planner statistics.
    Returns the registered listings and the seconds it took."""
    from django.db import connection, transaction
    from django.test.utils import override_settings
    from eth_utils import to_checksum_address

    from marketplace.catalogue.assets import rank_listings
    from marketplace.catalogue.models import Listing
    from marketplace.indexer.models import Asset, Deal
    from marketplace.indexer.prices import price_levels_refresh
    from pools.records import pool_records_refresh

    rng = random.Random(rng_seed + 2)
    started = time.perf_counter()
    now = datetime.now(UTC)
    by_kind: dict[str, list[tuple[int, str, str]]] = {}
    with override_settings(DEBUG=False):
        public = list(
            Listing.objects.filter(is_public=True)
            .order_by("pk")
            .values_list("pk", "slug", "kind", "price_from")[:registered]
        )
        rng.shuffle(public)
        base_price: dict[str, int] = {}
        with transaction.atomic():
            assets = []
            for pk, slug, kind, price_from in public:
                # Checksummed, as the indexer and the book write addresses.
                address = to_checksum_address(
                    "0x" + hashlib.sha256(f"asset {pk}".encode()).hexdigest()[:40]
                )
                Listing.objects.filter(pk=pk).update(chain_address=address)
                by_kind.setdefault(kind, []).append((pk, slug, address))
                base_price[address] = int(Decimal(price_from) * 10**9) or 1
                assets.append(
                    Asset(
                        chain_id=CHAIN_ID,
                        address=address,
                        kind=kind,
                        owner="0x" + "0" * 39 + "1",
                        listing_id=pk,
                        name=slug[:200],
                        registered_block=1,
                        block_number=1,
                    )
                )
            Asset.objects.bulk_create(assets, batch_size=SEED_BATCH)
        weights = {kind: _zipf_weights(len(rows)) for kind, rows in by_kind.items()}

        def draw(kind: str) -> str:
            rows = by_kind.get(kind, [])
            return rng.choices(rows, cum_weights=weights[kind])[0][2] if rows else ""

        # Deals are matched at the offers' prices, which their owners change now and then:
        # each asset's price moves every PRICE_DAYS days, around its own.
        prices_then: dict[tuple[str, int], int] = {}

        def price(address: str, day: int) -> int:
            key = (address, day // PRICE_DAYS)
            if key not in prices_then:
                prices_then[key] = max(1, int(base_price[address] * rng.uniform(0.8, 1.25)))
            return prices_then[key]

        fields = [
            f.column
            for f in Deal._meta.concrete_fields
            if f.column != "id"  # the database numbers them
        ]
        insert = (
            f'INSERT INTO "{Deal._meta.db_table}" ({", ".join(fields)}) '
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        zero = "0x" + "0" * 40
        year = 365 * 24 * 3600
        moment = connection.ops.adapt_datetimefield_value  # as the ORM writes it
        for start in range(0, deals, DEAL_BATCH):
            rows = []
            for n in range(start, min(deals, start + DEAL_BATCH)):
                age = year * (deals - n) / deals  # oldest first, the newest a moment ago
                day = int(age // 86400)
                app, pool = draw("app"), draw("pool")
                dataset = draw("dataset") if rng.random() < 0.4 else ""
                category = rng.choices(range(5), weights=(40, 30, 15, 10, 5))[0]
                values = {
                    "chain_id": CHAIN_ID,
                    "block_number": n + 1,
                    "dealid": f"0x{n:064x}",
                    "tx_hash": f"0x{n:064x}",
                    "app": app,
                    "dataset": dataset,
                    "workerpool": pool,
                    "requester": zero,
                    "beneficiary": zero,
                    "callback": "",
                    "payer": zero,
                    "app_owner": zero,
                    "dataset_owner": zero if dataset else "",
                    "workerpool_owner": zero,
                    "app_price": price(app, day) if app else 0,
                    "dataset_price": price(dataset, day) if dataset else 0,
                    "workerpool_price": price(pool, day) * CATEGORY_FACTORS[category]
                    if pool
                    else 0,
                    "bot_first": 0,
                    "volume": rng.choice((1, 1, 1, 2, 5, 10, 100)),
                    "category": category,
                    "trust": 1,
                    "tag": "0x" + "0" * 64,
                    "worker_stake": 0,
                    "scheduler_reward_ratio": 0,
                    "start_time": moment(now - timedelta(seconds=age)),
                    "time_ref": 300,
                    "params": "{}",
                    "app_order": "",
                    "dataset_order": "",
                    "workerpool_order": "",
                    "request_order": "",
                    "tasks_completed": 0,
                    "tasks_failed": 0,
                }
                rows.append(tuple(values[column] for column in fields))
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(insert, rows)
            done = min(deals, start + DEAL_BATCH)
            if done % 200_000 == 0 or done == deals:
                elapsed = time.perf_counter() - started
                print(f"  seeded {done:,} deals in {elapsed:.1f} s", flush=True)
        seed_tasks(deals=deals, rng=rng, now=now)
        print(f"  seeded tasks in {time.perf_counter() - started:.1f} s", flush=True)
        # The price histories' read model, as the indexer's follower derives it.
        price_levels_refresh(chain_id=CHAIN_ID, dealids=None)
        print(f"  price levels in {time.perf_counter() - started:.1f} s", flush=True)
        seed_book(by_kind, base_price, rng=rng)
        with connection.cursor() as cursor:  # the planner's statistics of the tables now
            cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM (ANALYZE)")
        # What the indexer's followers derive as the chain is followed: the pools' records
        # (which rank pools) and the listings' reputations.
        pool_records_refresh(chain_id=CHAIN_ID, workerpools=None)
        rank_listings(chain_id=CHAIN_ID, assets=None)
        print(f"  book, records and ranks in {time.perf_counter() - started:.1f} s", flush=True)
    connection.close()
    return Registered(by_kind=by_kind), time.perf_counter() - started


def _workers_of(pool: str) -> list[str]:
    """A pool's few workers, the same on every run."""
    return ["0x" + hashlib.sha256(f"worker {pool} {n}".encode()).hexdigest()[:40] for n in range(3)]


def seed_tasks(*, deals: int, rng: random.Random, now: datetime) -> None:
    """A task for each of the latest TASK_DEALS deals (most completed, some failed or given
    up, finished within their category's time or not), with two contributions each: what the
    pools' records are derived from."""
    from django.db import transaction
    from eth_utils import to_checksum_address

    from marketplace.indexer.models import Contribution, Deal, Task

    first = max(0, deals - TASK_DEALS)
    rows = Deal.objects.filter(block_number__gt=first).values_list(
        "block_number", "dealid", "workerpool", "start_time", "time_ref"
    )
    tasks, contributions = [], []
    for block, dealid, pool, start, time_ref in rows.iterator(chunk_size=SEED_BATCH):
        taskid = "0x" + hashlib.sha256(f"task {dealid}".encode()).hexdigest()
        roll = rng.random()
        status = "failed" if roll < 0.08 else "completed"
        # Most within the category's time, some late.
        took = timedelta(seconds=time_ref * rng.uniform(0.1, 0.9 if roll > 0.15 else 3.0))
        finished = start + took
        if finished > now:
            continue  # still running: not ended yet
        tasks.append(
            Task(
                chain_id=CHAIN_ID,
                block_number=block,
                taskid=taskid,
                dealid=dealid,
                idx=0,
                workerpool=pool,
                status=status,
                initialized_at=start,
                finished_at=finished,
                given_up=status == "failed" and roll < 0.03,
                contributions=2,
                reveals=2 if status == "completed" else 0,
                pool_stake_seized=0,
                workers_stake_seized=0,
            )
        )
        for worker in rng.sample(_workers_of(pool), 2):
            worker = to_checksum_address(worker)
            contributions.append(
                Contribution(
                    chain_id=CHAIN_ID,
                    block_number=block,
                    taskid=taskid,
                    worker=worker,
                    result_hash="0x" + "1" * 64,
                    status="accurate" if status == "completed" else "contributed",
                    contributed_at=start,
                    key=f"{taskid}:{worker}",
                )
            )
        if len(tasks) >= SEED_BATCH:
            with transaction.atomic():
                Task.objects.bulk_create(tasks)
                Contribution.objects.bulk_create(contributions)
            tasks, contributions = [], []
    with transaction.atomic():
        Task.objects.bulk_create(tasks)
        Contribution.objects.bulk_create(contributions)


def seed_book(
    by_kind: dict[str, list[tuple[int, str, str]]],
    base_price: dict[str, int],
    *,
    rng: random.Random,
) -> None:
    """The order book now: open offers of most registered apps and datasets, of pools in a
    few categories each, and BOOK_REQUESTS open requests (bids) among them."""
    from marketplace.orders.models import Order

    owner = "0x" + "0" * 39 + "1"
    zero_tag = "0x" + "0" * 64
    orders: list[Order] = []

    def order(kind: str, asset: str, price: int, **fields: Any) -> Order:
        volume = rng.choice((1, 5, 10, 100, 1000))
        return Order(
            chain_id=CHAIN_ID,
            hub=owner,
            digest="0x" + hashlib.sha256(f"order {len(orders)}".encode()).hexdigest(),
            kind=kind,
            asset=asset,
            signer=fields.pop("signer", owner),
            price=price,
            volume=volume,
            consumed=0,
            remaining=volume,
            tag=zero_tag,
            message=fields.pop("message", {}),
            status="open",
            **fields,
        )

    for kind, order_kind in (("app", "app"), ("dataset", "dataset")):
        for _, _, address in by_kind.get(kind, []):
            if rng.random() < 0.6:
                price = int(base_price[address] * rng.uniform(0.8, 1.25)) or 1
                orders.append(order(order_kind, address, price))
    for _, _, address in by_kind.get("pool", []):
        for category in rng.sample(range(5), rng.randint(1, 3)):
            price = int(base_price[address] * CATEGORY_FACTORS[category] * rng.uniform(0.8, 1.25))
            orders.append(order("workerpool", address, price or 1, category=category, trust=1))
    apps, datasets, pools = (
        [address for _, _, address in by_kind.get(kind, [])] for kind in ("app", "dataset", "pool")
    )
    for _ in range(BOOK_REQUESTS if apps and pools else 0):
        app = rng.choice(apps[: max(1, len(apps) // 10)])
        dataset = rng.choice(datasets) if datasets and rng.random() < 0.3 else ""
        pool = rng.choice(pools) if rng.random() < 0.3 else ""
        category = rng.choices(range(5), weights=(40, 30, 15, 10, 5))[0]
        maxima = {
            "appmaxprice": int(base_price[app] * rng.uniform(0.9, 1.5)),
            "datasetmaxprice": int(base_price[dataset] * rng.uniform(0.9, 1.5)) if dataset else 0,
            "workerpoolmaxprice": int(
                base_price[pool or rng.choice(pools)]
                * CATEGORY_FACTORS[category]
                * rng.uniform(0.9, 1.5)
            ),
        }
        orders.append(
            order(
                "request",
                app,
                sum(maxima.values()),
                signer="0x" + hashlib.sha256(f"buyer {len(orders) % 50}".encode()).hexdigest()[:40],
                dataset=dataset,
                workerpool=pool,
                category=category,
                trust=1,
                message=maxima,
                app_max_price=maxima["appmaxprice"],
                dataset_max_price=maxima["datasetmaxprice"],
                workerpool_max_price=maxima["workerpoolmaxprice"],
            )
        )
    Order.objects.bulk_create(orders, batch_size=SEED_BATCH)


# --------------------------------------------------------------------------------------------
# Server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: BenchDatabase, port: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [
                str(VENV_BIN / "python"),
                "-m",
                "marketplace.serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=BASE_DIR,
            env=db.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def server_description(db: BenchDatabase) -> str:
    if db.env.get("REDIS_URL"):
        return f"daphne x {os.cpu_count()} processes, Redis cache"
    return "daphne x 1 process, in-process cache"


def wait_until_healthy(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server exited ({server.returncode}):\n{log_path.read_text()[-3000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.2)
    sys.exit(f"The server did not answer /healthz/ within 60 s:\n{log_path.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --------------------------------------------------------------------------------------------
# Measurements


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    samples: list[tuple[float, str]] = field(default_factory=list)  # (ms, path)
    failures: list[tuple[int, str]] = field(default_factory=list)  # (status, path)
    seconds: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def _worker(
    port: int, paths: list[str], cursor: Iterator[int], lock: threading.Lock, result: Result
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while True:
            with lock:
                index = next(cursor)
            if index >= len(paths):
                return
            path = paths[index]
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()  # reconnects on the next request
                status = 0
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                result.latencies_ms.append(elapsed_ms)
                result.samples.append((elapsed_ms, path))
                if status != 200:
                    result.failures.append((status, path))
    finally:
        conn.close()


def run_requests(name: str, port: int, paths: list[str], concurrency: int) -> Result:
    result = Result(name)
    cursor, lock = itertools.count(), threading.Lock()
    threads = [
        threading.Thread(target=_worker, args=(port, paths, cursor, lock, result), daemon=True)
        for _ in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


MARKET_PATHS = ("/apps/", "/datasets/", "/pools/")


def list_path(rng: random.Random) -> str:
    path = rng.choice(MARKET_PATHS)
    return path if rng.random() < 0.25 else f"{path}?page={rng.randint(2, 50)}"


def search_path(rng: random.Random, rare: list[str]) -> str:
    # Mostly domain words (from very common to uncommon), sometimes a made-up product name.
    words = rng.sample(CONTENT_WORDS if rng.random() < 0.8 else rare, rng.choice((1, 1, 2)))
    if rng.random() < 0.3:  # typing in progress: the last word is a prefix
        words[-1] = words[-1][: rng.randint(2, max(2, len(words[-1]) - 1))]
    return f"{rng.choice(MARKET_PATHS)}?{urllib.parse.urlencode({'q': ' '.join(words)})}"


def filter_path(rng: random.Random) -> str:
    choice = rng.randrange(6)
    if choice == 0:
        query = {
            "cores_min": rng.choice((2, 4, 8, 16)),
            "location": rng.choice(REGIONS),
            "energy_class": rng.choice("ABC"),
        }
        return f"/pools/?{urllib.parse.urlencode(query)}"
    if choice == 1:
        query = {
            "memory_min_gib": rng.choice((4, 8, 16, 64)),
            "visibility": "public",
            "sort": rng.choice(("price_asc", "rating")),
        }
        return f"/pools/?{urllib.parse.urlencode(query)}"
    if choice == 2:
        query = {"tag": rng.choice(TAGS), "rating_min": rng.choice((3, 4)), "sort": "rating"}
        return f"/apps/?{urllib.parse.urlencode(query)}"
    if choice == 3:
        query = {"price_min": "0.1", "price_max": "2", "sort": "price_asc"}
        return f"/datasets/?{urllib.parse.urlencode(query)}"
    if choice == 4:
        query = {
            "tag": rng.choice(TAGS),
            "sort": rng.choice(("price_desc", "newest")),
            "page": rng.randint(1, 5),
        }
        return f"{rng.choice(MARKET_PATHS)}?{urllib.parse.urlencode(query)}"
    query = {"q": rng.choice(CONTENT_WORDS), "rating_min": 2, "sort": "rating"}
    return f"{rng.choice(MARKET_PATHS)}?{urllib.parse.urlencode(query)}"


URL_PREFIXES = {"app": "apps", "dataset": "datasets", "pool": "pools"}


def detail_path(rng: random.Random, registered: Registered) -> str:
    """A registered listing's page: half the time one of the hottest hundredth, some by hour,
    a pool's in one of the categories."""
    kind = rng.choices(list(registered.by_kind), weights=[40, 35, 25][: len(registered.by_kind)])[0]
    rows = registered.by_kind[kind]
    hot = rows[: max(1, len(rows) // 100)]
    _, slug, _ = rng.choice(hot if rng.random() < 0.5 else rows)
    query = {}
    if rng.random() < 0.25:
        query["prices"] = "hour"
    if kind == "pool" and rng.random() < 0.5:
        query["category"] = rng.randrange(5)
    path = f"/{URL_PREFIXES[kind]}/{slug}/"
    return f"{path}?{urllib.parse.urlencode(query)}" if query else path


def measure(
    port: int,
    *,
    requests: int,
    warmup: int,
    concurrency: int,
    rng_seed: int,
    registered: Registered,
) -> dict[str, Result]:
    rng = random.Random(rng_seed + 1)
    rare = rare_words(rng_seed)
    scenarios: dict[str, Callable[[random.Random], str]] = {
        "list": list_path,
        "search": lambda rng: search_path(rng, rare),
        "filter": filter_path,
        "detail": lambda rng: detail_path(rng, registered),
        "trivial": lambda rng: "/healthz/",
    }
    results = {}
    for name, make_path in scenarios.items():
        run_requests(name, port, [make_path(rng) for _ in range(warmup)], concurrency)
        paths = [make_path(rng) for _ in range(requests)]
        results[name] = run_requests(name, port, paths, concurrency)
        print(f"  {name}: done", flush=True)
    return results


MEASURED = ("list", "search", "filter", "detail")


def report(results: dict[str, Result], *, listings: int, deals: int, vendor: str) -> bool:
    """Print the table, the targets and the JSON line; True when every response was a 200."""
    print()
    print(
        f"{'scenario':<10}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}"
        f"{'req/s':>9}{'non-200':>9}"
    )
    for result in results.values():
        print(
            f"{result.name:<10}{len(result.latencies_ms):>9}{result.percentile(0.5):>9.1f}"
            f"{result.percentile(0.95):>9.1f}{max(result.latencies_ms):>9.1f}"
            f"{result.rps:>9.1f}{len(result.failures):>9}"
        )
    print()
    for name in MEASURED:
        slowest = sorted(results[name].samples, reverse=True)[:3]
        print(f"slowest {name}: " + ", ".join(f"{path} ({ms:.0f} ms)" for ms, path in slowest))
    all_ok = True
    for result in results.values():
        if result.failures:
            all_ok = False
            statuses = sorted({status for status, _ in result.failures})
            print(
                f"WARNING: {result.name}: {len(result.failures)} responses were not 200 "
                f"(statuses {statuses}; e.g. {result.failures[0][1]}): these figures "
                "measure error pages."
            )
    print()
    list_share = results["list"].rps / results["trivial"].rps if results["trivial"].rps else 0
    for name in MEASURED:
        p95 = results[name].percentile(0.95)
        verdict = "met" if p95 <= TARGET_P95_MS else "NOT MET"
        print(f"target {name} p95 <= {TARGET_P95_MS:.0f} ms: {verdict} ({p95:.1f} ms)")
    verdict = "met" if list_share >= TARGET_LIST_RPS_SHARE else "NOT MET"
    print(
        f"target list req/s >= {TARGET_LIST_RPS_SHARE:.0%} of trivial: {verdict} ({list_share:.0%})"
    )
    if listings < 100_000 or deals < 1_000_000:
        print(
            "(the targets are set for 100,000 listings and 1,000,000 deals; this run has "
            f"{listings:,} and {deals:,})"
        )
    summary = {"listings": listings, "deals": deals}
    for name in MEASURED:
        summary[f"{name}_p95_ms"] = round(results[name].percentile(0.95), 1)
    for name in ("list", "trivial", *MEASURED[1:]):
        summary[f"{name}_rps"] = round(results[name].rps, 1)
    summary["database"] = vendor
    print(json.dumps(summary))
    return all_ok


# --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=1_000_000, help="indexed deals")
    parser.add_argument(
        "--registered", type=int, default=10_000, help="public listings registered on chain"
    )
    parser.add_argument("--requests", type=int, default=400, help="per scenario")
    parser.add_argument("--warmup", type=int, default=30, help="per scenario, not measured")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--seed", type=int, default=20_250_101, help="random seed")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="superedge-bench-"))
    db = bench_database(var_dir)
    server = None
    try:
        print(f"database: {db.vendor} ({db.name or var_dir}), {args.listings:,} listings")
        create_database(db)
        setup_django(db)
        timings = seed(listings=args.listings, rng_seed=args.seed)
        print(
            f"seed: insert {timings['insert']:.1f} s, search index "
            f"{timings['search_index']:.1f} s, analyze {timings['analyze']:.1f} s "
            f"(total {sum(timings.values()):.1f} s)"
        )
        registered, seconds = seed_deals(
            registered=args.registered, deals=args.deals, rng_seed=args.seed
        )
        print(
            f"seed: {args.deals:,} deals among "
            f"{sum(map(len, registered.by_kind.values())):,} registered listings in "
            f"{seconds:.1f} s"
        )
        port = free_port()
        log_path = var_dir / "server.log"
        server = start_server(db, port, log_path)
        wait_until_healthy(server, port, log_path)
        print(f"load average before measuring: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
        print(
            f"server: {server_description(db)} on 127.0.0.1:{port}; "
            f"{args.requests} requests per scenario "
            f"after {args.warmup} warm-up, {args.concurrency} client threads"
        )
        results = measure(
            port,
            requests=args.requests,
            warmup=args.warmup,
            concurrency=args.concurrency,
            rng_seed=args.seed,
            registered=registered,
        )
        print(f"load average after measuring: {os.getloadavg()[0]:.1f}")
        summary = report(results, listings=args.listings, deals=args.deals, vendor=db.vendor)
        return 0 if summary else 1
    finally:
        try:
            if server is not None:
                stop_server(server)
            drop_cache(db)
            drop_database(db)
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
