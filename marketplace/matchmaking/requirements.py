"""A buyer's requirements: simple fields (cores, memory, region, energy class, max price, trust,
deadline) that become ClassAd clauses, plus the app's own requirement and an advanced
expression. Each clause knows how to say, in words, what it rules out and how to relax it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from marketplace.matchmaking import classads
from marketplace.matchmaking.attributes import PoolAd, request_expression

ENERGY_CLASSES = ("A", "B", "C", "D", "E")
MAX_CORES = 1024
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
        if not max_price.is_finite() or max_price < 0 or max_price > 10**9:
            raise RequirementsRefused("max_price", "Max price is an amount of ECT, 0 or more.")
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
class Clause:
    """One condition of a request on pools. `test` is its value on a pool ad, exactly as
    the ClassAd expression would hold (a fast path for the simple fields; tests check they
    agree); `ruling_out(n)` says what `n` pools it rules out have in common; `relax` proposes
    the smallest change that lets in some of `pools` (those it alone rules out)."""

    key: str
    expression: classads.Expression
    test: Callable[[PoolAd], bool] | None
    ruling_out: Callable[[int], str]
    relax: Callable[[list[PoolAd]], Suggestion | None] = lambda pools: None


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A change to the request (`field` set to `value`, None: cleared) and the pools it lets in."""

    field: str
    value: Any
    words: str
    count: int
    pools: tuple[str, ...]


def _suggest(field: str, value: Any, change: str, admitted: Sequence[PoolAd]) -> Suggestion:
    n = len(admitted)
    return Suggestion(
        field, value, f"{change}: {n} more {_are(n, 'pool', 'pools')}", n, _names(admitted)
    )


def _are(n: int, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


def _compare(value: Any, op: str, bound: Any) -> bool:
    """What a ClassAd comparison of an attribute's value to a literal gives, as a bool
    (UNDEFINED and ERROR: False). Strings compare case-insensitively, as ClassAds do."""
    if value is None or isinstance(value, bool) != isinstance(bound, bool):
        return False
    if isinstance(value, str) != isinstance(bound, str):
        return False
    if isinstance(value, str):
        value, bound = value.lower(), bound.lower()
    if op == ">=":
        return value >= bound
    if op == "<=":
        return value <= bound
    return value == bound


def _simple(attribute: str, op: str, bound: Any) -> tuple[classads.Expression, Callable]:
    expression = request_expression(f"TARGET.{attribute} {op} {classads.literal(bound)}")
    return expression, lambda ad: _compare(ad.get(attribute), op, bound)


def _ect(amount: float) -> str:
    return f"{Decimal(repr(amount)).normalize():f}"


def _names(pools: Sequence[PoolAd], limit: int = 5) -> tuple[str, ...]:
    return tuple(pool.name for pool in pools[:limit])


def _at_least(attribute: str, field: str, label: Callable[[Any], str]):
    def relax(pools: list[PoolAd]) -> Suggestion | None:
        values = [pool.get(attribute) for pool in pools if pool.get(attribute) is not None]
        if not values:
            return None
        best = max(values)
        admitted = [
            pool
            for pool in pools
            if pool.get(attribute) is not None and pool.get(attribute) >= best
        ]
        return _suggest(field, best, f"ask for {label(best)}", admitted)

    return relax


def clauses(
    requirements: Requirements, *, app_requirement: str = "", app_name: str = "the app"
) -> list[Clause]:
    """The request's conditions on pools, in the order an explanation names them."""
    found: list[Clause] = []
    r = requirements
    if r.region:
        expression, test = _simple("Region", "==", r.region)

        def relax_region(pools: list[PoolAd]) -> Suggestion | None:
            counts: dict[str, list[PoolAd]] = {}
            for pool in pools:
                if pool.get("Region"):
                    counts.setdefault(pool.get("Region"), []).append(pool)
            if not counts:
                return None
            region, admitted = max(counts.items(), key=lambda item: (len(item[1]), item[0]))
            return _suggest("region", region, f"choose {region} instead", admitted)

        found.append(
            Clause(
                "region",
                expression,
                test,
                lambda n, region=r.region: f"{n} {_are(n, 'is', 'are')} outside {region}",
                relax_region,
            )
        )
    if r.energy_class:
        expression, test = _simple("EnergyClass", "<=", r.energy_class)

        def relax_energy(pools: list[PoolAd]) -> Suggestion | None:
            classes = sorted(
                pool.get("EnergyClass").upper() for pool in pools if pool.get("EnergyClass")
            )
            if not classes:
                return None
            grade = classes[0]
            admitted = [pool for pool in pools if (pool.get("EnergyClass") or "Z").upper() <= grade]
            return _suggest("energy_class", grade, f"accept energy class {grade}", admitted)

        found.append(
            Clause(
                "energy_class",
                expression,
                test,
                lambda n,
                grade=r.energy_class: f"{n} {_are(n, 'has', 'have')} an energy class below {grade}",
                relax_energy,
            )
        )
    if r.cores is not None:
        expression, test = _simple("Cores", ">=", r.cores)
        found.append(
            Clause(
                "cores",
                expression,
                test,
                lambda n, cores=r.cores: f"{n} {_are(n, 'has', 'have')} fewer than {cores} cores",
                _at_least("Cores", "cores", lambda v: f"{v} {_are(v, 'core', 'cores')}"),
            )
        )
    if r.memory_mb is not None:
        expression, test = _simple("Memory", ">=", r.memory_mb)
        found.append(
            Clause(
                "memory_mb",
                expression,
                test,
                lambda n,
                mb=r.memory_mb: f"{n} {_are(n, 'has', 'have')} less than {mb} MiB of memory",
                _at_least("Memory", "memory_mb", lambda v: f"{v} MiB of memory"),
            )
        )
    if r.max_price is not None:
        bound = float(r.max_price)
        expression, test = _simple("Price", "<=", bound)

        def relax_price(pools: list[PoolAd]) -> Suggestion | None:
            prices = sorted(pool.get("Price") for pool in pools if pool.get("Price") is not None)
            if not prices:
                return None
            price = prices[0]
            admitted = [
                pool
                for pool in pools
                if pool.get("Price") is not None and pool.get("Price") <= price
            ]
            return _suggest(
                "max_price", _ect(price), f"raise max price to {_ect(price)} ECT", admitted
            )

        found.append(
            Clause(
                "max_price",
                expression,
                test,
                lambda n,
                bound=bound: f"{n} {_are(n, 'costs', 'cost')} more than {_ect(bound)} ECT per task",
                relax_price,
            )
        )
    if r.trust:
        expression, test = _simple("Trust", ">=", r.trust)
        found.append(
            Clause(
                "trust",
                expression,
                test,
                lambda n, trust=r.trust: f"{n} cannot give trust {trust}",
                _at_least("Trust", "trust", lambda v: f"trust {v}"),
            )
        )
    if r.deadline_minutes is not None:
        seconds = r.deadline_minutes * 60
        expression, test = _simple("MedianSeconds", "<=", float(seconds))

        def relax_deadline(pools: list[PoolAd]) -> Suggestion | None:
            timed = sorted(
                pool.get("MedianSeconds") for pool in pools if pool.get("MedianSeconds") is not None
            )
            if not timed:
                return None
            minutes = max(1, math.ceil(timed[0] / 60))
            admitted = [
                pool
                for pool in pools
                if pool.get("MedianSeconds") is not None
                and pool.get("MedianSeconds") <= minutes * 60
            ]
            return _suggest(
                "deadline_minutes",
                minutes,
                f"allow {minutes} {_are(minutes, 'minute', 'minutes')}",
                admitted,
            )

        found.append(
            Clause(
                "deadline_minutes",
                expression,
                test,
                lambda n, minutes=r.deadline_minutes: (
                    f"{n} {_are(n, 'does', 'do')} not finish within {minutes} "
                    f"{_are(minutes, 'minute', 'minutes')} "
                    f"(or {_are(n, 'has', 'have')} no timing yet)"
                ),
                relax_deadline,
            )
        )
    if app_requirement:
        found.append(
            Clause(
                "app",
                request_expression(app_requirement),
                None,
                lambda n, text=app_requirement, name=app_name: (
                    f"{n} {_are(n, 'does', 'do')} not meet what {name} requires ({text})"
                ),
            )
        )
    if r.expression:
        expression = request_expression(r.expression)

        def drop_expression(pools: list[PoolAd]) -> Suggestion:
            return _suggest("expression", None, "drop your expression", pools)

        found.append(
            Clause(
                "expression",
                expression,
                None,
                lambda n: f"{n} {_are(n, 'does', 'do')} not meet your expression",
                drop_expression,
            )
        )
    return found


def conjunction(found: Sequence[Clause]) -> classads.Expression | None:
    """The request's Requirements: all its clauses (None: it requires nothing)."""
    if not found:
        return None
    return classads.all_of(clause.expression for clause in found)
