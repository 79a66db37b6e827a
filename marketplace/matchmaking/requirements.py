"""A buyer's requirements: simple fields (cores, memory, region, energy class, max price, trust,
deadline) that become ClassAd clauses, plus the app's own requirement and an advanced
expression. Each clause knows how to say, in words, what it rules out and how to relax it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from marketplace.matchmaking import classads
from marketplace.matchmaking.adset import PoolAds
from marketplace.matchmaking.attributes import request_expression

ENERGY_CLASSES = ("A", "B", "C", "D", "E")
MAX_CORES = 1024
# The most ECT per task a requirement may name (far above any price asked).
MAX_PRICE = 10**9
MAX_MEMORY_MB = 16 * 1024 * 1024
MAX_DEADLINE_MINUTES = 60 * 24 * 30


class RequirementsRefused(ValueError):
    """A requirement that cannot be used; `field` names it (for the form or the API)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Requirements:
    """What a buyer requires of a pool (None or "": no requirement). `max_price` is the pool's
    price, ECT per task; `energy_class` means that class or better."""

    cores: int | None = None
    memory_mb: int | None = None
    region: str = ""
    energy_class: str = ""
    max_price: Decimal | None = None
    trust: int | None = None
    deadline_minutes: int | None = None
    expression: str = ""

    def as_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["max_price"] = None if self.max_price is None else format(self.max_price, "f")
        return {key: value for key, value in values.items() if value not in (None, "")}


def _whole(field: str, value: object, *, low: int, high: int, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise RequirementsRefused(field, f"{what} is a whole number, such as {low}.") from None
    if not low <= number <= high:
        raise RequirementsRefused(field, f"{what} is between {low} and {high}.")
    return number


def parse_requirements(values: dict[str, object], *, regions: Sequence[str]) -> Requirements:
    """Requirements from a form's or an API call's values (strings or numbers). Refuses each
    bad value naming its field; the advanced expression is checked as the matcher reads it."""
    region = str(values.get("region") or "").strip().lower()
    if region and region not in regions:
        raise RequirementsRefused("region", f"Region is one of {', '.join(regions)}.")
    energy = str(values.get("energy_class") or "").strip().upper()
    if energy and energy not in ENERGY_CLASSES:
        raise RequirementsRefused("energy_class", "Energy class is one of A, B, C, D, E.")
    price = values.get("max_price")
    max_price = None
    if price not in (None, ""):
        try:
            max_price = Decimal(str(price).strip())
        except InvalidOperation:
            raise RequirementsRefused(
                "max_price", "Max price is an amount of ECT, such as 0.2."
            ) from None
        if not max_price.is_finite() or max_price < 0 or max_price > MAX_PRICE:
            raise RequirementsRefused(
                "max_price", f"Max price is an amount of ECT between 0 and {MAX_PRICE:,}."
            )
    expression = values.get("expression") or ""
    if expression:
        try:
            request_expression(expression)
        except classads.ExpressionRefused as refused:
            raise RequirementsRefused("expression", str(refused)) from None
    return Requirements(
        cores=_whole("cores", values.get("cores"), low=1, high=MAX_CORES, what="Cores"),
        memory_mb=_whole(
            "memory_mb", values.get("memory_mb"), low=1, high=MAX_MEMORY_MB, what="Memory (MiB)"
        ),
        region=region,
        energy_class=energy,
        max_price=max_price,
        trust=_whole("trust", values.get("trust"), low=0, high=10**9, what="Trust"),
        deadline_minutes=_whole(
            "deadline_minutes",
            values.get("deadline_minutes"),
            low=1,
            high=MAX_DEADLINE_MINUTES,
            what="Deadline (minutes)",
        ),
        expression=str(expression).strip(),
    )


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A change to the request (`field` set to `value`, None: cleared; and each of `also`, a
    (field, value) made with it) and the pools it lets in (`count`, the first few by name).
    `change` is its words without the count; `rows` the pools let in (rows of the set)."""

    field: str
    value: Any
    words: str
    count: int
    pools: tuple[str, ...]
    also: tuple[tuple[str, Any], ...] = ()
    change: str = ""
    rows: Any = dataclasses.field(default=None, repr=False, compare=False)

    def with_(self, then: Suggestion) -> Suggestion:
        """This change and `then`, made on the pools this one lets in, as one."""
        more = f"{then.count} more {_are(then.count, 'pool', 'pools')}"
        return Suggestion(
            self.field,
            self.value,
            f"{self.change} and {then.change}: {more}",
            then.count,
            then.pools,
            also=(*self.also, (then.field, then.value), *then.also),
            change=f"{self.change} and {then.change}",
            rows=then.rows,
        )


# How a clause proposes the smallest change that lets in some of the pools it alone rules out
# (`rows` of the set).
Relax = Callable[[PoolAds, np.ndarray], "Suggestion | None"]


def _never(pools: PoolAds, rows: np.ndarray) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Clause:
    """One condition of a request on pools. `simple` is (attribute, operator, literal) when
    the expression is just that comparison, so that it can be compared on a whole column of
    ads at once, as ClassAds would (tests check they agree); `ruling_out(n)` says what `n`
    pools it rules out have in common; `relax` proposes the smallest change that lets some in."""

    key: str
    expression: classads.Expression
    simple: tuple[str, str, Any] | None
    ruling_out: Callable[[int], str]
    relax: Relax = _never


def _are(n: int, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


def _suggest(
    field: str, value: Any, change: str, pools: PoolAds, admitted: np.ndarray
) -> Suggestion:
    n = len(admitted)
    names = tuple(pools.ads[row].name for row in admitted[:5])
    return Suggestion(
        field,
        value,
        f"{change}: {n} more {_are(n, 'pool', 'pools')}",
        n,
        names,
        change=change,
        rows=admitted,
    )


def _simple(attribute: str, op: str, bound: Any) -> tuple[classads.Expression, tuple]:
    expression = request_expression(f"TARGET.{attribute} {op} {classads.literal(bound)}")
    return expression, (attribute, op, bound)


def _ect(amount: float) -> str:
    return f"{Decimal(repr(amount)).normalize():f}"


def _whole_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _at_least(
    attribute: str, field: str, label: Callable[[Any], str], *, least: float = 0
) -> Relax:
    """Ask for less: the most that some of them have (if that is at least `least`)."""

    def relax(pools: PoolAds, rows: np.ndarray) -> Suggestion | None:
        values = pools.numbers(attribute)[rows]
        if np.isnan(values).all() or np.nanmax(values) < least:
            return None
        best = np.nanmax(values)
        value = _whole_number(float(best))
        return _suggest(field, value, f"ask for {label(value)}", pools, rows[values >= best])

    return relax


def _at_most(attribute: str, field: str, change: Callable[[float], tuple[Any, str]]) -> Relax:
    """Allow more: the least that some of them need (`change` rounds it and words it)."""

    def relax(pools: PoolAds, rows: np.ndarray) -> Suggestion | None:
        values = pools.numbers(attribute)[rows]
        if np.isnan(values).all():
            return None
        value, words = change(float(np.nanmin(values)))
        bound = float(value) * (60 if field == "deadline_minutes" else 1)
        return _suggest(field, value, words, pools, rows[values <= bound])

    return relax


def _relax_region(names: Mapping[str, str]) -> Relax:
    """Another region: the one most of them are in (said by its name in `names`, if any)."""

    def relax(pools: PoolAds, rows: np.ndarray) -> Suggestion | None:
        codes, distinct = pools.codes("Region")
        codes = codes[rows]
        known = codes[codes >= 0]
        if not len(known):
            return None
        counts = np.bincount(known, minlength=len(distinct))
        best = int(np.argmax(counts))  # the region with most of them (the first on a tie)
        region = distinct[best]
        words = f"choose {names.get(region, region)} instead"
        return _suggest("region", region, words, pools, rows[codes == best])

    return relax


def _relax_energy(pools: PoolAds, rows: np.ndarray) -> Suggestion | None:
    codes, distinct = pools.codes("EnergyClass")
    codes = codes[rows]
    known = codes[codes >= 0]
    if not len(known):
        return None
    best = int(known.min())
    grade = distinct[best].upper()
    admitted = rows[(codes >= 0) & (codes <= best)]
    return _suggest("energy_class", grade, f"accept energy class {grade}", pools, admitted)


def _drop_expression(pools: PoolAds, rows: np.ndarray) -> Suggestion:
    return _suggest("expression", None, "drop your expression", pools, rows)


def _price_change(price: float) -> tuple[str, str]:
    return _ect(price), f"raise max price to {_ect(price)} ECT"


def _deadline_change(seconds: float) -> tuple[int, str]:
    minutes = max(1, math.ceil(seconds / 60))
    return minutes, f"allow {minutes} {_are(minutes, 'minute', 'minutes')}"


def clauses(
    requirements: Requirements,
    *,
    app_requirement: str = "",
    app_name: str = "the app",
    region_names: Mapping[str, str] | None = None,
) -> list[Clause]:
    """The request's conditions on pools, in the order an explanation names them (regions by
    their names in `region_names`, else by their codes)."""
    names = region_names or {}
    r = requirements
    found: list[Clause] = []

    def add(key: str, simple: tuple, ruling_out: Callable[[int], str], relax: Relax) -> None:
        expression, simple = _simple(*simple)
        found.append(Clause(key, expression, simple, ruling_out, relax))

    if r.region:
        add(
            "region",
            ("Region", "==", r.region),
            lambda n: f"{n} {_are(n, 'is', 'are')} outside {names.get(r.region, r.region)}",
            _relax_region(names),
        )
    if r.energy_class:
        add(
            "energy_class",
            ("EnergyClass", "<=", r.energy_class),
            lambda n: f"{n} {_are(n, 'has', 'have')} an energy class below {r.energy_class}",
            _relax_energy,
        )
    if r.cores is not None:
        add(
            "cores",
            ("Cores", ">=", r.cores),
            lambda n: f"{n} {_are(n, 'has', 'have')} fewer than {r.cores} cores",
            _at_least("Cores", "cores", lambda v: f"{v} {_are(v, 'core', 'cores')}"),
        )
    if r.memory_mb is not None:
        add(
            "memory_mb",
            ("Memory", ">=", r.memory_mb),
            lambda n: f"{n} {_are(n, 'has', 'have')} less than {r.memory_mb} MiB of memory",
            _at_least("Memory", "memory_mb", lambda v: f"{v} MiB of memory"),
        )
    if r.max_price is not None:
        bound = float(r.max_price)
        add(
            "max_price",
            ("Price", "<=", bound),
            lambda n: f"{n} {_are(n, 'costs', 'cost')} more than {_ect(bound)} ECT per task",
            _at_most("Price", "max_price", _price_change),
        )
    if r.trust:
        add(
            "trust",
            ("Trust", ">=", r.trust),
            lambda n: f"{n} cannot give trust {r.trust}",
            # Trust 0 is no request at all: a pool that cannot give 1 has no member to run it.
            _at_least("Trust", "trust", lambda v: f"trust {v}", least=1),
        )
    if r.deadline_minutes is not None:
        minutes = r.deadline_minutes
        add(
            "deadline_minutes",
            ("MedianSeconds", "<=", float(minutes * 60)),
            lambda n: (
                f"{n} {_are(n, 'does', 'do')} not finish within {minutes} "
                f"{_are(minutes, 'minute', 'minutes')} (or {_are(n, 'has', 'have')} no timing "
                "yet)"
            ),
            _at_most("MedianSeconds", "deadline_minutes", _deadline_change),
        )
    if app_requirement:
        found.append(
            Clause(
                "app",
                request_expression(app_requirement),
                None,
                lambda n: (
                    f"{n} {_are(n, 'does', 'do')} not meet what {app_name} requires "
                    f"({app_requirement})"
                ),
            )
        )
    if r.expression:
        found.append(
            Clause(
                "expression",
                request_expression(r.expression),
                None,
                lambda n: f"{n} {_are(n, 'does', 'do')} not meet your expression",
                _drop_expression,
            )
        )
    return found


def conjunction(found: Sequence[Clause]) -> classads.Expression | None:
    """The request's Requirements: all its clauses (None: it requires nothing)."""
    if not found:
        return None
    return classads.all_of(clause.expression for clause in found)
