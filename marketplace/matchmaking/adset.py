"""A set of pool ads as matchmaking reads it: by column (numbers, strings as codes), grouped
by the values an expression reads, with what expressions gave remembered."""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from marketplace.matchmaking import classads
from marketplace.matchmaking.attributes import POOL_ATTRIBUTES, PoolAd

POOL_NAMES = frozenset(name.lower() for name in POOL_ATTRIBUTES)


@dataclasses.dataclass(frozen=True)
class Groups:
    """Ads grouped by equal values of some attributes: each ad's group (`inverse`), one ad of
    each group (`first`) and each group's values (`values`, in sorted name order)."""

    inverse: np.ndarray
    first: list[int]
    values: list[tuple]


class PoolAds:
    """A set of pool ads, read by column so that a simple condition is compared on all of
    them at once, and grouped by what each expression reads so that an expression is
    evaluated once per distinct set of values. Values of expressions are remembered across
    requests too, keyed by everything they depend on (the expression, the pool values and the
    request values it reads): a standing-request round, or a benchmark, asks many requests of
    one set. Precondition: the ads do not change once in the set."""

    MEMO_LIMIT = 200_000

    def __init__(self, ads: Sequence[PoolAd]) -> None:
        self.ads = list(ads)
        self.offered = np.array([not ad.no_offer for ad in self.ads], dtype=bool)
        self._numbers: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._groups: dict[frozenset[str], Groups] = {}
        self.no_offer = collections.Counter(ad.no_offer for ad in self.ads if ad.no_offer)
        self._requirements: list[tuple[classads.Expression, np.ndarray]] | None = None
        self._parts: dict[tuple[int, frozenset[str]], Any] = {}
        self.memo: dict[tuple, bool] = {}

    def __len__(self) -> int:
        return len(self.ads)

    def numbers(self, attribute: str) -> np.ndarray:
        """The attribute as numbers (NaN where an ad has none, or not a number: a comparison
        with NaN is False, as one with UNDEFINED or ERROR does not hold)."""
        if attribute not in self._numbers:
            self._numbers[attribute] = np.array(
                [number(ad.get(attribute)) for ad in self.ads], dtype=float
            )
        return self._numbers[attribute]

    def codes(self, attribute: str) -> tuple[np.ndarray, list[str]]:
        """The attribute as codes into its sorted distinct lower-case strings (-1: none, or
        not a string); ClassAds compare strings without regard to case."""
        if attribute not in self._codes:
            values = [ad.get(attribute) for ad in self.ads]
            distinct = sorted({value.lower() for value in values if isinstance(value, str)})
            index = {value: n for n, value in enumerate(distinct)}
            codes = [index[v.lower()] if isinstance(v, str) else -1 for v in values]
            self._codes[attribute] = (np.array(codes, dtype=int), distinct)
        return self._codes[attribute]

    def groups(self, names: frozenset[str]) -> Groups:
        """The ads grouped by their values of `names` (lower-case attribute names)."""
        if names not in self._groups:
            ordered = sorted(names)
            seen: dict[tuple, int] = {}
            first: list[int] = []
            inverse = np.empty(len(self.ads), dtype=int)
            for n, ad in enumerate(self.ads):
                key = tuple(hashable(ad.get(name)) for name in ordered)
                group = seen.get(key)
                if group is None:
                    group = seen[key] = len(first)
                    first.append(n)
                inverse[n] = group
            self._groups[names] = Groups(inverse, first, list(seen))
        return self._groups[names]

    def part(self, n: int, names: frozenset[str]) -> Any:
        key = (n, names)
        if key not in self._parts:
            self._parts[key] = self.ads[n].part(names)
        return self._parts[key]

    def requirements(self) -> list[tuple[classads.Expression, np.ndarray]]:
        """Each distinct Requirements of the pools with an offer, and the ads that have it."""
        if self._requirements is None:
            by_text: dict[str, tuple[classads.Expression, list[int]]] = {}
            for n, ad in enumerate(self.ads):
                if ad.requirements is not None and not ad.no_offer:
                    by_text.setdefault(ad.requirements.text, (ad.requirements, []))[1].append(n)
            self._requirements = [
                (expression, np.array(members, dtype=int))
                for expression, members in by_text.values()
            ]
        return self._requirements

    def remember(self, key: tuple, value: bool) -> bool:
        if len(self.memo) >= self.MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = value
        return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    return float(value)


def hashable(value: Any) -> Any:
    if isinstance(value, list | set | frozenset):
        return tuple(hashable(item) for item in value)
    return value
