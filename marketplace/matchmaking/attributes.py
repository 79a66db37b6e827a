"""What a pool's ad and a request's ad hold: the attribute names both sides' expressions may
read, with what each means (for forms, the API schema and refusals)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from marketplace.matchmaking import choice, classads

# A pool's ad: one per pool and request, built from the pool's attributes, its record and the
# offer of it that fits the request (the cheapest of the request's category).
POOL_ATTRIBUTES: dict[str, str] = {
    "Name": "the pool's name",
    "Pool": "the pool's address",
    "Owner": "the operator's wallet",
    "Cores": "CPU cores per worker",
    "Memory": "memory per worker, in MiB",
    "Region": 'where the workers are, such as "eu-west"',
    "EnergyClass": 'energy label, "A" (100 % renewable) to "E" (grid mix)',
    "Runtime": 'what runs apps, "wasm"',
    "Visibility": '"public" or "private"',
    "Workers": "members in good standing",
    "Category": "the offer's task category (0 = XS ...)",
    "Price": "the offer's price, ECT per task",
    "Trust": "the trust the offer can give (its own, and what its members can reach)",
    "Volume": "tasks left in the offer",
    "Reliability": "share of its tasks finalized (0 to 1); undefined before any",
    "MedianSeconds": "median seconds from deal to finalized task; undefined before any",
    "TasksFinalized": "tasks it has finalized",
}

# A request's ad: what the buyer asks for.
REQUEST_ATTRIBUTES: dict[str, str] = {
    "Requester": "the buyer's wallet",
    "App": "the app's address",
    "AppName": "the app's name",
    "AppTags": 'the app\'s tags, a list such as {"image", "svg"}',
    "Dataset": 'the dataset\'s address ("" for none)',
    "Category": "the task category asked (0 = XS ...)",
    "Volume": "how many tasks",
    "Trust": "the trust asked",
    "RequesterDeals": "deals the buyer has made on this chain before",
}

# Two plausible ads of each side, unlike in every attribute: an expression that gives an error
# (or a value of the wrong kind) on both pairs does so whatever the ads (classads.of_kind).
SAMPLE_POOLS: tuple[dict[str, Any], ...] = (
    {
        "Name": "Sample Edge",
        "Pool": "0x" + "11" * 20,
        "Owner": "0x" + "22" * 20,
        "Cores": 4,
        "Memory": 8192,
        "Region": "eu-west",
        "EnergyClass": "A",
        "Runtime": "wasm",
        "Visibility": "public",
        "Workers": 3,
        "Category": 1,
        "Price": 0.5,
        "Trust": 5,
        "Volume": 10,
        "Reliability": 0.9,
        "MedianSeconds": 60.0,
        "TasksFinalized": 20,
    },
    {
        "Name": "Other Cluster",
        "Pool": "0x" + "33" * 20,
        "Owner": "0x" + "44" * 20,
        "Cores": 32,
        "Memory": 65536,
        "Region": "us-east",
        "EnergyClass": "D",
        "Runtime": "wasm",
        "Visibility": "private",
        "Workers": 1,
        "Category": 0,
        "Price": 2.25,
        "Trust": 0,
        "Volume": 1,
        "Reliability": 0.25,
        "MedianSeconds": 900.0,
        "TasksFinalized": 3,
    },
)
SAMPLE_REQUESTS: tuple[dict[str, Any], ...] = (
    {
        "Requester": "0x" + "55" * 20,
        "App": "0x" + "66" * 20,
        "AppName": "resvg",
        "AppTags": ["image", "svg"],
        "Dataset": "",
        "Category": 1,
        "Volume": 10,
        "Trust": 5,
        "RequesterDeals": 2,
    },
    {
        "Requester": "0x" + "77" * 20,
        "App": "0x" + "88" * 20,
        "AppName": "fold",
        "AppTags": ["science"],
        "Dataset": "0x" + "99" * 20,
        "Category": 3,
        "Volume": 1,
        "Trust": 0,
        "RequesterDeals": 0,
    },
)

POOL = "the pool's ad"
REQUEST = "the request's ad"


def pool_expression(text: object, *, kind: str | None = None) -> classads.Expression:
    """A pool operator's Requirements (kind CONDITION) or Rank (NUMBER): read in the pool's ad
    against a request's."""
    expression = classads.parse(
        text, own=POOL_ATTRIBUTES, other=REQUEST_ATTRIBUTES, own_name=POOL, other_name=REQUEST
    )
    if not kind:
        return expression
    return classads.of_kind(
        expression, kind, samples=zip(SAMPLE_POOLS, SAMPLE_REQUESTS, strict=True)
    )


def request_expression(text: object) -> classads.Expression:
    """A buyer's (or an app's) requirement, a condition: read in the request's ad against a
    pool's."""
    expression = classads.parse(
        text, own=REQUEST_ATTRIBUTES, other=POOL_ATTRIBUTES, own_name=REQUEST, other_name=POOL
    )
    return classads.of_kind(
        expression, classads.CONDITION, samples=zip(SAMPLE_REQUESTS, SAMPLE_POOLS, strict=True)
    )


_POOL_CASE = {name.lower(): name for name in POOL_ATTRIBUTES}


@dataclasses.dataclass
class PoolAd:
    """One pool as a request sees it. `offer` is the id of the book offer the ad prices (None:
    the pool has no open offer that fits the request: `no_offer` says why, in words)."""

    key: str
    name: str
    attributes: dict[str, Any]
    requirements: classads.Expression | None = None
    rank: classads.Expression | None = None
    offer: Any = None
    no_offer: str = ""
    _classad: Any = dataclasses.field(default=None, repr=False, compare=False)

    def get(self, name: str) -> Any:
        return self.attributes.get(_POOL_CASE.get(name, name))

    def classad(self) -> Any:
        """The whole ad, with its Requirements and Rank (built once)."""
        if self._classad is None:
            self._classad = classads.ad(
                self.attributes, Requirements=self.requirements or _TRUE, Rank=self.rank
            )
        return self._classad

    def option(self) -> choice.Option:
        """What the buyer's weights rank this pool by (its ad's price, time, trust,
        reliability and energy class; None where it has none)."""
        return choice.Option(
            key=self.key,
            name=self.name,
            price=self.get("Price"),
            seconds=self.get("MedianSeconds"),
            trust=self.get("Trust"),
            reliability=self.get("Reliability"),
            energy=self.get("EnergyClass"),
        )

    def part(self, names: frozenset[str]) -> Any:
        """An ad of only these attributes (lower-case names): enough to evaluate an expression
        that reads no others, and much cheaper to build than the whole ad."""
        return classads.ad(
            {
                _POOL_CASE[name]: self.attributes.get(_POOL_CASE[name])
                for name in names
                if name in _POOL_CASE
            }
        )


_TRUE = classads.parse("true", own=(), other=())


def request_ad(attributes: Mapping[str, Any], requirements: classads.Expression | None) -> Any:
    """A request's ad (its Requirements: the conjunction of its clauses; none: true)."""
    return classads.ad(attributes, Requirements=requirements or _TRUE)
