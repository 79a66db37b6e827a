"""Match one request against every pool's ad, and say why the others do not fit: per condition
how many pools it rules out, which pools refuse the request by their own Requirements, and the
smallest changes that would let some in (HTCondor's `condor_q -better-analyze`, in words).

A pool fits when the request's Requirements hold against its ad and its own Requirements hold
against the request's: HTCondor's symmetric match. The request's Requirements are the
conjunction of its clauses, so they hold exactly when each clause does; each clause (and each
pool's Requirements) is evaluated once per distinct set of the values it reads, so ten
thousand pools that share a handful of regions and requirements cost a handful of ClassAd
evaluations, and the simple fields none at all (their `test` gives the ClassAd's value).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from marketplace.matchmaking import classads
from marketplace.matchmaking.adset import POOL_NAMES, PoolAds
from marketplace.matchmaking.attributes import (
    POOL_ATTRIBUTES,
    REQUEST_ATTRIBUTES,
    PoolAd,
    request_ad,
)
from marketplace.matchmaking.requirements import Clause, Suggestion, conjunction

POOL_REFUSES = "pool"
NO_OFFER = "offer"
# How many refusing pools an explanation names with the condition that refused (the count
# covers them all).
REFUSALS_NAMED = 20


@dataclasses.dataclass(frozen=True)
class RuledOut:
    """A condition: `count` pools fail it (`words` says so; a pool may fail several); for
    `first` of them it is the first that fails (`first_words`), so that the `first` counts of
    all conditions add up to the pools ruled out."""

    key: str
    words: str
    count: int
    first: int
    first_words: str


@dataclasses.dataclass(frozen=True)
class Refusal:
    """A pool whose own Requirements refuse the request: the condition of them that fails."""

    pool: str
    name: str
    condition: str


@dataclasses.dataclass
class Explanation:
    total: int
    fitting: list[PoolAd]
    ruled_out: list[RuledOut]
    refusals: list[Refusal]
    refused: int
    suggestions: list[Suggestion]

    @property
    def sentence(self) -> str:
        """ "Of 12 pools, 7 are outside eu-west, ...; 1 can run it: Lyon Edge Alpha."."""
        if not self.total:
            return "No pool is offering work right now."
        parts = [item.first_words for item in self.ruled_out if item.first]
        pools = "pool" if self.total == 1 else "pools"
        fit = len(self.fitting)
        if not fit:
            tail = "none can run it."
        else:
            names = [pool.name for pool in self.fitting[:3]]
            more = fit - len(names)
            listed = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
            if more:
                listed = ", ".join(names) + f" and {more} more"
            tail = f"{fit} can run it: {listed}."
        if not parts:
            return f"Of {self.total} {pools}, {tail}"
        return f"Of {self.total} {pools}, {', '.join(parts)}; {tail}"


_COMPARE = {">=": np.greater_equal, "<=": np.less_equal, "==": np.equal}


def _simple_holds(pools: PoolAds, attribute: str, op: str, bound: Any) -> np.ndarray:
    """Where `TARGET.<attribute> <op> <bound>` holds, on every ad at once."""
    if isinstance(bound, str):
        codes, distinct = pools.codes(attribute)
        bound = bound.lower()
        if op == "==":
            if bound not in distinct:
                return np.zeros(len(pools), dtype=bool)
            return codes == distinct.index(bound)
        # <= and >= on strings: by position among the sorted distinct values
        if op == "<=":
            return (codes >= 0) & (codes <= bisect.bisect_right(distinct, bound) - 1)
        return codes >= bisect.bisect_left(distinct, bound)
    with np.errstate(invalid="ignore"):
        return _COMPARE[op](pools.numbers(attribute), float(bound))


def _expression_holds(
    pools: PoolAds,
    expression: classads.Expression,
    request: Any,
    *,
    request_side: bool,
    members: np.ndarray | None = None,
) -> np.ndarray:
    """Where `expression` holds: in the request's ad against each pool's (request_side), or in
    each pool's ad against the request's; for `members` only when given (the others: False)."""
    names = (expression.mine | expression.theirs) & POOL_NAMES
    groups = pools.groups(names)
    # What the expression reads of the request: every name it reads (a name a pool's ad
    # lacks falls through to the request's).
    asked = (
        request_side,
        expression.text,
        tuple(str(request.get(name)) for name in sorted(expression.mine | expression.theirs)),
    )
    wanted = range(len(groups.first)) if members is None else np.unique(groups.inverse[members])
    held = np.zeros(len(groups.first), dtype=bool)
    memo = pools.memo
    for group in wanted:
        key = (asked, groups.values[group])
        value = memo.get(key)
        if value is None:
            part = pools.part(groups.first[group], names)
            value = pools.remember(
                key,
                classads.holds(expression, request, part)
                if request_side
                else classads.holds(expression, part, request),
            )
        held[group] = value
    return held[groups.inverse]


@functools.lru_cache(maxsize=1024)
def _pool_clauses(text: str) -> list[classads.Expression]:
    return classads.clauses(
        classads.parse(text, own=POOL_ATTRIBUTES, other=REQUEST_ATTRIBUTES),
        own=POOL_ATTRIBUTES,
        other=REQUEST_ATTRIBUTES,
    )


def _refusing_condition(pool: PoolAd, request: Any) -> str:
    """The first of a pool's Requirements' `&&` parts that fails against the request."""
    expression = pool.requirements
    assert expression is not None
    try:
        parts = _pool_clauses(expression.text)
    except classads.ExpressionRefused:
        return expression.text
    whole = pool.classad()
    for part in parts:
        if not classads.holds(part, whole, request):
            return part.text
    return expression.text


def _refusing(n: int) -> str:
    return (
        f"{n} {'refuses' if n == 1 else 'refuse'} this request by "
        f"{'its' if n == 1 else 'their'} own requirements"
    )


def explain(
    ads: Sequence[PoolAd] | PoolAds,
    *,
    request: Mapping[str, Any],
    found: Sequence[Clause],
) -> Explanation:
    """Match the request (its ad's attributes, its clauses) against every pool's ad; `fitting`
    keeps the order of `ads`."""
    pools = ads if isinstance(ads, PoolAds) else PoolAds(ads)
    n = len(pools)
    request_classad = request_ad(request, conjunction(found))
    offered = pools.offered
    fails = np.zeros((len(found), n), dtype=bool)
    for row, clause in enumerate(found):
        if clause.simple is not None:
            held = _simple_holds(pools, *clause.simple)
        else:
            held = _expression_holds(pools, clause.expression, request_classad, request_side=True)
        fails[row] = offered & ~held
    refuses = np.zeros(n, dtype=bool)
    for expression, members in pools.requirements():
        held = _expression_holds(
            pools, expression, request_classad, request_side=False, members=members
        )
        refuses[members] = ~held[members]
    failing = fails.sum(axis=0)
    any_fail = failing > 0
    counts = fails.sum(axis=1)
    firsts = (
        np.bincount(np.argmax(fails, axis=0)[any_fail], minlength=len(found))
        if found
        else np.zeros(0, dtype=int)
    )
    fitting = [pools.ads[i] for i in np.flatnonzero(offered & ~any_fail & ~refuses)]
    ruled_out = []
    for words, k in pools.no_offer.most_common():
        said = f"{k} {'has' if k == 1 else 'have'} {words}"
        ruled_out.append(RuledOut(NO_OFFER, said, k, k, said))
    ruled_out += [
        RuledOut(
            clause.key,
            clause.ruling_out(int(counts[row])),
            int(counts[row]),
            int(firsts[row]),
            clause.ruling_out(int(firsts[row])),
        )
        for row, clause in enumerate(found)
        if counts[row]
    ]
    refused = int(refuses.sum())
    refusals = []
    if refused:
        k = int((refuses & ~any_fail).sum())
        ruled_out.append(RuledOut(POOL_REFUSES, _refusing(refused), refused, k, _refusing(k)))
        for i in np.flatnonzero(refuses)[:REFUSALS_NAMED]:
            pool = pools.ads[i]
            refusals.append(
                Refusal(pool.key, pool.name, _refusing_condition(pool, request_classad))
            )
    alone = offered & ~refuses & (failing == 1)
    suggestions = []
    for row, clause in enumerate(found):
        only = np.flatnonzero(alone & fails[row])
        if len(only) and (suggestion := clause.relax(pools, only)) is not None:
            suggestions.append(suggestion)
    if not suggestions:
        suggestions = _pairs(pools, found, fails, offered & ~refuses & (failing == 2))
    suggestions.sort(key=lambda suggestion: -suggestion.count)
    return Explanation(n, fitting, ruled_out, refusals, refused, suggestions)


def _pairs(
    pools: PoolAds, found: list[Clause], fails: np.ndarray, two: np.ndarray
) -> list[Suggestion]:
    """When no one change lets a pool in: two changes made together, for the pools that two
    of the request's conditions alone rule out (each pair once, the first clause relaxed
    first, then the second on the pools the first let in)."""
    made = []
    for a, b in itertools.combinations(range(len(found)), 2):
        rows = np.flatnonzero(two & fails[a] & fails[b])
        if not len(rows):
            continue
        first = found[a].relax(pools, rows)
        if first is None or not first.count:
            continue
        then = found[b].relax(pools, first.rows)
        if then is not None and then.count:
            made.append(first.with_(then))
    return made
