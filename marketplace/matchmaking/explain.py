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

import collections
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from marketplace.matchmaking import classads
from marketplace.matchmaking.attributes import POOL_ATTRIBUTES, PoolAd, request_ad
from marketplace.matchmaking.requirements import Clause, Suggestion, conjunction

POOL_REFUSES = "pool"
NO_OFFER = "offer"
_POOL_NAMES = frozenset(name.lower() for name in POOL_ATTRIBUTES)
# How many refusing pools an explanation names with the condition that refused (the count
# covers them all).
REFUSALS_NAMED = 20


@dataclasses.dataclass(frozen=True)
class RuledOut:
    """A condition: `count` pools fail it (a pool may fail several); for `first` of them it is
    the first that fails, so that the `first` counts of all conditions add up."""

    key: str
    words: str
    count: int
    first: int


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
        parts = [item.words for item in self.ruled_out if item.first]
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


class _Evaluator:
    """Clause and Requirements values for one request, cached by what they read."""

    def __init__(self, request: Any) -> None:
        self.request = request
        self.memo: dict[tuple, bool] = {}

    def _key(self, expression: classads.Expression, pool: PoolAd) -> tuple:
        names = (expression.mine | expression.theirs) & _POOL_NAMES
        return (expression.text, tuple(sorted((name, _hashable(pool.get(name))) for name in names)))

    def request_holds(self, clause: Clause, pool: PoolAd) -> bool:
        if clause.test is not None:
            return clause.test(pool)
        return self._holds(clause.expression, pool, request_side=True)

    def pool_holds(self, expression: classads.Expression, pool: PoolAd) -> bool:
        return self._holds(expression, pool, request_side=False)

    def _holds(self, expression: classads.Expression, pool: PoolAd, *, request_side: bool) -> bool:
        key = (request_side, *self._key(expression, pool))
        found = self.memo.get(key)
        if found is None:
            part = pool.part((expression.mine | expression.theirs) & _POOL_NAMES)
            if request_side:
                found = classads.holds(expression, self.request, part)
            else:
                found = classads.holds(expression, part, self.request)
            self.memo[key] = found
        return found


def _hashable(value: Any) -> Any:
    if isinstance(value, list | set | frozenset):
        return tuple(value)
    return value


def _refusing_condition(evaluator: _Evaluator, pool: PoolAd) -> str:
    expression = pool.requirements
    assert expression is not None
    try:
        parts = classads.clauses(expression, own=POOL_ATTRIBUTES, other=())
    except classads.ExpressionRefused:
        return expression.text
    for part in parts:
        if not evaluator.pool_holds(part, pool):
            return part.text
    return expression.text


def explain(
    ads: Sequence[PoolAd],
    *,
    request: Mapping[str, Any],
    found: Sequence[Clause],
) -> Explanation:
    """Match the request (its ad's attributes, its clauses) against every pool's ad, in the
    order given (the caller's order is the order `fitting` keeps)."""
    evaluator = _Evaluator(request_ad(request, conjunction(found)))
    counts: collections.Counter[str] = collections.Counter()
    first: collections.Counter[str] = collections.Counter()
    no_offer: collections.Counter[str] = collections.Counter()
    only: dict[str, list[PoolAd]] = collections.defaultdict(list)
    fitting: list[PoolAd] = []
    refusals: list[Refusal] = []
    refused = 0
    for pool in ads:
        if pool.no_offer:
            no_offer[pool.no_offer] += 1
            continue
        failed = [clause for clause in found if not evaluator.request_holds(clause, pool)]
        accepts = pool.requirements is None or evaluator.pool_holds(pool.requirements, pool)
        for clause in failed:
            counts[clause.key] += 1
        if failed:
            first[failed[0].key] += 1
        elif not accepts:
            first[POOL_REFUSES] += 1
        if not accepts:
            refused += 1
            if len(refusals) < REFUSALS_NAMED:
                refusals.append(Refusal(pool.key, pool.name, _refusing_condition(evaluator, pool)))
        if not failed and accepts:
            fitting.append(pool)
        elif len(failed) == 1 and accepts:
            only[failed[0].key].append(pool)
    ruled_out = [
        RuledOut(NO_OFFER, f"{n} {'has' if n == 1 else 'have'} {words}", n, n)
        for words, n in no_offer.most_common()
    ]
    ruled_out += [
        RuledOut(
            clause.key, clause.ruling_out(first[clause.key]), counts[clause.key], first[clause.key]
        )
        for clause in found
        if counts[clause.key]
    ]
    if refused:
        n = first[POOL_REFUSES]
        ruled_out.append(
            RuledOut(
                POOL_REFUSES,
                f"{n} {'refuses' if n == 1 else 'refuse'} this request by "
                f"{'its' if n == 1 else 'their'} own requirements",
                refused,
                n,
            )
        )
    suggestions = [
        suggestion
        for clause in found
        if only[clause.key] and (suggestion := clause.relax(only[clause.key])) is not None
    ]
    suggestions.sort(key=lambda suggestion: -suggestion.count)
    return Explanation(len(ads), fitting, ruled_out, refusals, refused, suggestions)
