"""Matchmaking benchmark: requests matched against pool ads with HTCondor's ClassAds, each one
explained (per condition what it rules out, which pools refuse it, the smallest changes that
let pools in) and its fitting pools ranked by the buyer's weights.

    .venv/bin/python bench/matchmaking.py [--ads 10000] [--requests 1000] [--seed 7]

Set-up, untimed: ADS pool ads drawn at random (cores, memory, region among 9, energy class,
price, trust, track record, some without one yet); one pool in five has its own Requirements,
drawn from eight operator expressions (requesters with deals only, a minimum volume, only apps
tagged "image", ...). REQUESTS requests drawn at random: two to six of the simple fields
(region, energy class, cores, memory, max price, trust, deadline), an app requirement on one in
four, an advanced expression on one in five, a preset of weights.

Timed, for each request: `explain` over all ads (the symmetric match and its explanation are
one pass), then apart `choice.rank` of the fitting ones (TOPSIS over all of them). Prints
requests matched and explained per second, p50/p95 of one explanation, of one ranking, and
requests per second with the ranking too. The set of ads is built once (PoolAds), as a round
of the standing-request matcher does: its columns and groups are made on first use, inside
the timing of the first requests. Everything runs in this process, on the ads in memory (the
site builds them from the book; that read is the order book benchmark's). Its last line is one
JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from marketplace.matchmaking import choice
from marketplace.matchmaking.adset import PoolAds
from marketplace.matchmaking.attributes import PoolAd, pool_expression
from marketplace.matchmaking.explain import explain
from marketplace.matchmaking.requirements import Requirements, clauses

REGIONS = (
    "eu-west",
    "eu-central",
    "eu-north",
    "us-east",
    "us-west",
    "sa-east",
    "ap-south",
    "ap-east",
    "af-south",
)
POOL_RULES = (
    "TARGET.RequesterDeals >= 1",
    "TARGET.Volume >= 2",
    'member("image", TARGET.AppTags)',
    "TARGET.Trust <= MY.Trust",
    "TARGET.Category <= 2 || TARGET.RequesterDeals >= 5",
    'TARGET.Requester != "0x000000000000000000000000000000000000dead"',
    "TARGET.Volume * MY.Price >= 0.05",
    "isUndefined(MY.MedianSeconds) || TARGET.Volume <= 100",
)
APP_RULES = ("TARGET.Memory >= 512", "TARGET.Cores >= 2 && TARGET.Memory >= 1024")
EXPRESSIONS = (
    "TARGET.Workers >= 3",
    "TARGET.Reliability >= 0.9 || TARGET.TasksFinalized < 10",
    'TARGET.Region != "af-south" && TARGET.Cores * 1024 <= TARGET.Memory',
)


def make_ads(count: int, rng: random.Random) -> list[PoolAd]:
    rules = [pool_expression(text) for text in POOL_RULES]
    ads = []
    for n in range(count):
        timed = rng.random() < 0.8
        attributes = {
            "Name": f"Pool {n}",
            "Pool": f"0x{n:040x}",
            "Cores": rng.choice((1, 2, 4, 8, 16, 32)),
            "Memory": rng.choice((512, 1024, 2048, 4096, 8192, 16384, 65536)),
            "Region": rng.choice(REGIONS),
            "EnergyClass": rng.choice("ABCDE"),
            "Runtime": "wasm",
            "Visibility": "public",
            "Workers": rng.randint(1, 40),
            "Category": rng.randint(0, 4),
            "Price": round(rng.uniform(0.01, 1.0), 4),
            "Trust": rng.choice((1, 2, 4, 5, 8, 16, 32)),
            "Volume": rng.randint(1, 1000),
            "Reliability": round(rng.uniform(0.5, 1.0), 3) if timed else None,
            "MedianSeconds": round(rng.uniform(5, 3600), 1) if timed else None,
            "TasksFinalized": rng.randint(1, 5000) if timed else 0,
        }
        requirement = rng.choice(rules) if rng.random() < 0.2 else None
        ads.append(PoolAd(attributes["Pool"], attributes["Name"], attributes, requirement))
    return ads


def make_request(rng: random.Random) -> tuple[dict, Requirements, str, choice.Weights]:
    fields = rng.sample(
        ("region", "energy_class", "cores", "memory_mb", "max_price", "trust", "deadline"),
        rng.randint(2, 6),
    )
    requirements = Requirements(
        region=rng.choice(REGIONS) if "region" in fields else "",
        energy_class=rng.choice("ABCD") if "energy_class" in fields else "",
        cores=rng.choice((2, 4, 8)) if "cores" in fields else None,
        memory_mb=rng.choice((1024, 4096)) if "memory_mb" in fields else None,
        max_price=Decimal(str(rng.choice((0.1, 0.3, 0.6)))) if "max_price" in fields else None,
        trust=rng.choice((1, 4, 8)) if "trust" in fields else None,
        deadline_minutes=rng.choice((5, 30, 60)) if "deadline" in fields else None,
        expression=rng.choice(EXPRESSIONS) if rng.random() < 0.2 else "",
    )
    request = {
        "Requester": f"0x{rng.getrandbits(160):040x}",
        "App": f"0x{rng.getrandbits(160):040x}",
        "AppName": "app",
        "AppTags": rng.choice((["image"], ["svg", "image"], ["graph"])),
        "Dataset": "",
        "Category": rng.randint(0, 4),
        "Volume": rng.choice((1, 2, 10, 200)),
        "Trust": requirements.trust or 1,
        "RequesterDeals": rng.choice((0, 0, 1, 7)),
    }
    app_rule = rng.choice(APP_RULES) if rng.random() < 0.25 else ""
    weights = choice.PRESETS[rng.choice(sorted(choice.PRESETS))]
    return request, requirements, app_rule, weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ads = PoolAds(make_ads(args.ads, rng))
    requests = [make_request(rng) for _ in range(args.requests)]
    explaining: list[float] = []
    ranking: list[float] = []
    fitting = matched = 0
    for request, requirements, app_rule, weights in requests:
        began = time.perf_counter()
        found = clauses(requirements, app_requirement=app_rule)
        explanation = explain(ads, request=request, found=found)
        explanation.sentence  # noqa: B018 (the words are part of the work)
        explained = time.perf_counter()
        options = [ad.option() for ad in explanation.fitting]
        choice.rank(options, weights)
        ranking.append(time.perf_counter() - explained)
        explaining.append(explained - began)
        fitting += len(explanation.fitting)
        matched += bool(explanation.fitting)
    both = [a + b for a, b in zip(explaining, ranking, strict=True)]
    figures = {
        "ads": args.ads,
        "requests": args.requests,
        "match_per_s": round(len(requests) / sum(explaining), 1),
        "explain_p50_ms": _ms(statistics.median(explaining)),
        "explain_p95_ms": _ms(_p95(explaining)),
        "rank_p50_ms": _ms(statistics.median(ranking)),
        "rank_p95_ms": _ms(_p95(ranking)),
        "with_rank_per_s": round(len(requests) / sum(both), 1),
    }
    print(f"{args.ads} pool ads, {args.requests} requests ({matched} found a pool)")
    print(f"fitting pools per request, mean: {fitting / len(requests):.1f}")
    print(f"matched and explained: {figures['match_per_s']} requests/s")
    print(
        f"one explanation: p50 {figures['explain_p50_ms']} ms, p95 {figures['explain_p95_ms']} ms"
    )
    print(
        f"ranking the fitting pools: p50 {figures['rank_p50_ms']} ms, "
        f"p95 {figures['rank_p95_ms']} ms"
    )
    print(f"matched, explained and ranked: {figures['with_rank_per_s']} requests/s")
    print(json.dumps(figures))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


if __name__ == "__main__":
    main()
