"""A buyer's choice among the pool offers that fit their requirements: the offers ranked by the
buyer's weights over five criteria (TOPSIS), the price/time Pareto front, and a small chart of it.

The criteria: price (ECT per task, lower is better), speed (median seconds from deal to finalized
task, lower is better), trust (what the pool's workers can give, higher is better), reliability
(share of tasks finalized, higher is better) and energy (class A, all renewable, to E, grid mix).
Only price is always known: a new pool has no finished deals, so no speed and no reliability yet.
Such gaps are never filled in the pool's favour: an offer without a value where others have one
counts as worse than any of them (so a record, even a poor one, beats none), and a criterion no
offer has is left out and said so.

Pure: the standard library and numpy. Pages, the API and benchmarks may all call it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

import numpy as np

CRITERIA: tuple[str, ...] = ("price", "speed", "trust", "reliability", "energy")
# Lower is better for these; higher is better for the other criteria.
COST_CRITERIA = frozenset({"price", "speed"})
# Energy classes as a benefit: A (100 % renewable) is the best.
ENERGY_SCORES = {"A": 5.0, "B": 4.0, "C": 3.0, "D": 2.0, "E": 1.0}
# Weights only count relative to each other; a bound keeps a typo (or a stranger) from feeding
# numbers whose products overflow.
MAX_WEIGHT = 1e6
# A value within this share of the observed range from the best counts as "among the best".
AMONG_THE_BEST = 0.25
# How many of the winner's strengths the reason names.
STRENGTHS_TOLD = 2

SUPERLATIVES = {
    "price": "cheapest",
    "speed": "fastest",
    "trust": "most trusted",
    "reliability": "most reliable",
    "energy": "greenest",
}
# Why no pool has a value for a criterion, in the buyer's words (every pool has a price).
NO_DATA_CAUSES = {
    "speed": "No pool has finished deals yet",
    "trust": "No pool states the trust its workers can give",
    "reliability": "No pool has finalized or failed a task yet",
    "energy": "No pool states its energy class",
}


class WeightsRefused(ValueError):
    """Weights that cannot rank anything. The message says what is wrong and what to do; `field`
    names the criterion at fault, empty when no one criterion is (every weight 0)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _shown(value: object) -> str:
    """A stranger's input quoted in a message, cut short so a message stays a sentence."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _checked_weight(name: str, value: float) -> float:
    """`value` as a float if it is a weight: a number, 0 or more, at most MAX_WEIGHT."""
    if math.isnan(value):
        raise WeightsRefused(
            f"The {name} weight is not a number (NaN): type a number such as 1 or 0.5.",
            field=name,
        )
    if value < 0:
        raise WeightsRefused(
            f"The {name} weight is negative ({_typed(value)}): use 0 to leave {name} out, "
            f"or a number above 0 to count it.",
            field=name,
        )
    if value > MAX_WEIGHT:
        raise WeightsRefused(
            f"The {name} weight ({_typed(value)}) is too large: weights only count relative "
            f"to each other, so use numbers up to {MAX_WEIGHT:.0f}.",
            field=name,
        )
    return float(value)


def _parsed_weight(name: str, raw: object) -> float:
    """A weight as typed in a form or sent to the API: a number, a numeric string, or blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0.0  # a blank field is a criterion the buyer does not care about
    not_a_number = WeightsRefused(
        f"The {name} weight must be a number, not {_shown(raw)}: type a number such as 1 or 0.5.",
        field=name,
    )
    # bool is an int to Python, but True as a weight is a mistake, not a 1.
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        raise not_a_number
    if isinstance(raw, int) and abs(raw) > 10**300:
        # float() would overflow; its sign is all the refusal needs.
        return math.inf if raw > 0 else -math.inf
    try:
        return float(raw.strip() if isinstance(raw, str) else raw)
    except ValueError:
        raise not_a_number from None


@dataclass(frozen=True)
class Weights:
    """How much the buyer cares about each criterion: numbers of 0 or more, at least one above 0,
    none above MAX_WEIGHT. Only their ratios count (see `normalized`)."""

    price: float = 0.0
    speed: float = 0.0
    trust: float = 0.0
    reliability: float = 0.0
    energy: float = 0.0

    def __post_init__(self) -> None:
        for name in CRITERIA:
            # Stored as floats so that as_dict() and the comparisons see one type.
            object.__setattr__(self, name, _checked_weight(name, getattr(self, name)))
        if not any(getattr(self, name) for name in CRITERIA):
            raise WeightsRefused(
                "Every weight is 0: give at least one criterion a weight above 0, "
                "for example price 1."
            )

    @classmethod
    def parse(cls, values: Mapping[str, object]) -> Weights:
        """Weights from a form's or a request's values, keyed by criterion: numbers or numeric
        strings; a missing key, None or a blank string is 0. Raises WeightsRefused, naming the
        field, for an unknown key, a value that is not a number, NaN or infinity, a negative or
        too large weight, and for weights that are all 0."""
        unknown = sorted(str(key) for key in values if key not in CRITERIA)
        if unknown:
            raise WeightsRefused(
                f"There is no criterion {_shown(unknown[0])}: weights are for "
                f"{_joined(list(CRITERIA))}.",
                field=unknown[0],
            )
        return cls(**{name: _parsed_weight(name, values.get(name)) for name in CRITERIA})

    def normalized(self) -> Weights:
        """The same preferences, summing to 1."""
        total = sum(self.as_dict().values())
        return Weights(**{name: value / total for name, value in self.as_dict().items()})

    def as_dict(self) -> dict[str, float]:
        """The weights keyed by criterion, in CRITERIA's order."""
        return {name: getattr(self, name) for name in CRITERIA}


def _preset(leading: str) -> Weights:
    # The other criteria keep a small weight so that offers alike on the leading one are told
    # apart by the rest rather than by name.
    return Weights(**{name: 0.7 if name == leading else 0.075 for name in CRITERIA})


PRESETS: dict[str, Weights] = {
    # Cheapest means it: the price alone decides (equal prices: by name).
    "cheapest": Weights(price=1.0),
    "fastest": _preset("speed"),
    "most_trusted": _preset("trust"),
    "greenest": _preset("energy"),
    "balanced": Weights(**dict.fromkeys(CRITERIA, 0.2)),
}
# What a request that states no preference is ranked by.
DEFAULT_PRESET = "cheapest"
PRESET_LABELS: dict[str, str] = {
    "cheapest": "Cheapest",
    "fastest": "Fastest",
    "most_trusted": "Most trusted",
    "greenest": "Greenest",
    "balanced": "Balanced",
}


@dataclass(frozen=True)
class Option:
    """One offer that fits the buyer's requirements. `key` is unique among the options ranked
    together (the pool's address); `price` and `seconds` are finite and 0 or more, `trust` is
    finite and 0 or more, `reliability` is within 0..1 and `energy` is one of "A".."E"; None is
    a value the pool has no data for yet."""

    key: str
    name: str
    price: float
    seconds: float | None = None
    trust: float | None = None
    reliability: float | None = None
    energy: str | None = None

    def __post_init__(self) -> None:
        # Options come from the site's own records; a bad one is a bug to stop at, not to rank.
        if not (math.isfinite(self.price) and self.price >= 0):
            raise ValueError(f"{self.key}: price must be finite and 0 or more, not {self.price}")
        for name in ("seconds", "trust"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{self.key}: {name} must be finite and 0 or more, not {value}")
        if self.reliability is not None and not 0 <= self.reliability <= 1:
            raise ValueError(f"{self.key}: reliability must be within 0..1, not {self.reliability}")
        if self.energy is not None and self.energy not in ENERGY_SCORES:
            raise ValueError(f"{self.key}: energy must be one of A..E, not {self.energy!r}")

    def value(self, criterion: str) -> float | None:
        """This option's value for `criterion` (one of CRITERIA) as a number, None if unknown."""
        if criterion == "speed":
            return self.seconds
        if criterion == "energy":
            return None if self.energy is None else ENERGY_SCORES[self.energy]
        return getattr(self, criterion)


@dataclass(frozen=True)
class Ranked:
    """An option's place in a ranking."""

    option: Option
    position: int  # 1-based
    score: float  # TOPSIS closeness, 0..1, higher is better
    missing: tuple[str, ...]  # criteria it has no data for while others do (counted below all)
    pareto: bool  # on the price/speed Pareto front


@dataclass(frozen=True)
class Ranking:
    """The options best first, with what the ranking rests on."""

    ranked: list[Ranked]
    weights: Weights  # the normalized weights actually used
    without_data: tuple[str, ...]  # criteria no option has data for, left out
    reason: str  # why the first option is first, in one or two sentences; "" when none


def _best(criterion: str, values: Sequence[float]) -> float:
    return min(values) if criterion in COST_CRITERIA else max(values)


def _unknown(criterion: str, values: Sequence[float]) -> float:
    """What a value no option states counts as: worse than every value seen (a time: the
    slowest seen and as much again; a benefit: below the least seen, and below nothing)."""
    worst = _worst(criterion, values)
    if criterion in COST_CRITERIA:
        return worst + max(abs(worst), 1.0)
    return worst - 1.0 if worst <= 0 else 0.0


def _worst(criterion: str, values: Sequence[float]) -> float:
    return max(values) if criterion in COST_CRITERIA else min(values)


def _telling(columns: Mapping[str, Sequence[float]], weights: Weights) -> list[str]:
    """The weighted criteria whose values differ among the options, the most weighted first: a
    column of equal values tells no option apart (and would divide by zero in TOPSIS)."""
    return sorted(
        (
            name
            for name, column in columns.items()
            if getattr(weights, name) and len(set(column)) > 1
        ),
        key=lambda name: -getattr(weights, name),
    )


def _closeness(
    columns: Mapping[str, Sequence[float]], telling: Sequence[str], weights: Weights
) -> list[float]:
    """TOPSIS closeness of each option to the ideal, over the `telling` criteria. `columns` holds
    one known value per option for each criterion, price at least. Computed by column (a
    buyer's fitting pools may number thousands)."""
    count = len(columns["price"])
    if not telling:  # nothing tells the options apart: each is as good as the ideal
        return [1.0] * count
    values = np.array([columns[name] for name in telling], dtype=float)  # criteria x options
    # Vector normalization, scaled by each row's largest value first so that squaring cannot
    # overflow (> 0: the values of a telling criterion differ).
    values /= np.abs(values).max(axis=1, keepdims=True)
    values /= np.sqrt((values**2).sum(axis=1, keepdims=True))
    values *= np.array([getattr(weights, name) for name in telling])[:, None]
    cost = np.array([name in COST_CRITERIA for name in telling])[:, None]
    low, high = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
    best, worst = np.where(cost, low, high), np.where(cost, high, low)
    to_best = np.sqrt(((values - best) ** 2).sum(axis=0))
    to_worst = np.sqrt(((values - worst) ** 2).sum(axis=0))
    total = to_best + to_worst
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(total == 0, 1.0, to_worst / total)
    return scores.tolist()


def _weights_used(weights: Weights, without_data: tuple[str, ...]) -> Weights:
    """The buyer's weights without the criteria no option has data for, summing to 1; price alone
    when nothing the buyer weighted has data (every option has a price)."""
    kept = {name: 0.0 if name in without_data else w for name, w in weights.as_dict().items()}
    if not any(kept.values()):
        return Weights(price=1.0)
    return Weights(**kept).normalized()


def rank(options: Sequence[Option], weights: Weights) -> Ranking:
    """The options ranked best first by TOPSIS under `weights`. Options have unique keys.

    A criterion no option has data for is left out (`without_data`) and the other weights are
    renormalized. An option without a value where others have one counts as worse than every
    value and lists the criterion in `missing`. Ties go to the lower price, then the name, then
    the key."""
    if not options:
        return Ranking(ranked=[], weights=weights.normalized(), without_data=(), reason="")
    observed = {name: [option.value(name) for option in options] for name in CRITERIA}
    without_data = tuple(name for name in CRITERIA if all(v is None for v in observed[name]))
    used = _weights_used(weights, without_data)
    columns: dict[str, list[float]] = {}
    for name in CRITERIA:
        if name not in without_data:
            # An unknown value counts as worse than every one seen: a pool is never ranked up,
            # nor level, for having no record.
            unknown = _unknown(name, [v for v in observed[name] if v is not None])
            columns[name] = [unknown if v is None else v for v in observed[name]]
    telling = _telling(columns, used)
    scores = _closeness(columns, telling, used)
    front = set(pareto_front(options))
    # Rounded so that scores equal but for float noise tie, and the tie rule decides.
    order = sorted(
        range(len(options)),
        key=lambda i: (-round(scores[i], 12), options[i].price, options[i].name, options[i].key),
    )
    ranked = [
        Ranked(
            option=options[i],
            position=position,
            score=scores[i],
            missing=tuple(name for name in columns if observed[name][i] is None),
            pareto=options[i] in front,
        )
        for position, i in enumerate(order, start=1)
    ]
    reason = _reason(
        ranked[0].option, options, telling=telling, asked=weights, without_data=without_data
    )
    return Ranking(ranked=ranked, weights=used, without_data=without_data, reason=reason)


def _typed(value: float) -> str:
    """A weight as typed, short: 1e+308 stays an exponent, not 309 digits."""
    return f"{value:.3g}" if math.isfinite(value) and abs(value) >= 1e15 else _number(value)


def _number(value: float) -> str:
    """A number as people write it: six significant digits at most, no exponent, no trailing
    zeros."""
    return format(Decimal(f"{value + 0.0:.6g}").normalize(), "f")  # + 0.0 turns -0.0 into 0.0


def duration(seconds: float) -> str:
    """A time as people say it: "40 s", "2.5 min", "3 h" ("under 0.1 s" rather than 0)."""
    if seconds < 0.05:
        return "under 0.1 s"
    if seconds < 90:
        return f"{_number(round(seconds, 1))} s"
    if seconds < 90 * 60:
        return f"{_number(round(seconds / 60, 1))} min"
    return f"{_number(round(seconds / 3600, 1))} h"


def _described(option: Option, criterion: str) -> str:
    """The option's value for `criterion` in words, as the reason quotes it."""
    value = option.value(criterion)
    if value is None:
        return "no data yet"
    if criterion == "price":
        return f"{_number(value)} ECT per task"
    if criterion == "speed":
        return f"median {duration(value)} to finish"
    if criterion == "trust":
        return f"trust {_number(value)}"
    if criterion == "reliability":
        return f"{_number(round(value * 100, 1))} % of tasks finalized"
    return f"energy class {option.energy}"


def _joined(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _strength(winner: Option, criterion: str, options: Sequence[Option]) -> str:
    """Words such as "the cheapest (…)" or "among the cheapest (…)" when the winner stands out
    on the criterion among the values known, "" when it does not or has no value."""
    mine = winner.value(criterion)
    known = [v for v in (option.value(criterion) for option in options) if v is not None]
    if mine is None:
        return ""
    best, worst = _best(criterion, known), _worst(criterion, known)
    if mine == best and known.count(best) == 1:
        rank_words = "the"
    elif abs(mine - best) <= AMONG_THE_BEST * abs(worst - best):
        rank_words = "among the"
    else:
        return ""
    return f"{rank_words} {SUPERLATIVES[criterion]} ({_described(winner, criterion)})"


def _heaviest(weights: Weights) -> str:
    """Which criteria the buyer weighted most, as the end of the reason's first sentence."""
    by_name = weights.as_dict()
    top = max(by_name.values())
    heaviest = [name for name in CRITERIA if by_name[name] == top]
    if len(heaviest) == 1:
        return f"you weighted {heaviest[0]} most"
    if len(heaviest) == len(CRITERIA):
        return "you weighted all five criteria equally"
    counted = [name for name in CRITERIA if by_name[name] > 0]
    return f"you weighted {_joined(heaviest)} {'equally' if heaviest == counted else 'most'}"


def _left_out(asked: Weights, without_data: tuple[str, ...]) -> str:
    """The sentence on criteria the buyer weighted that no option has data for, "" if none."""
    missing = [name for name in without_data if getattr(asked, name) > 0]
    if not missing:
        return ""
    cause = (
        NO_DATA_CAUSES[missing[0]]
        if len(missing) == 1
        else f"No pool has data yet for {_joined(missing)}"
    )
    if all(name in without_data for name in CRITERIA if getattr(asked, name)):
        return f"{cause}, so the pools were ranked by price alone."
    left = f"{missing[0]} was" if len(missing) == 1 else "they were"
    return f"{cause}, so {left} left out."


def _reason(
    winner: Option,
    options: Sequence[Option],
    *,
    telling: Sequence[str],
    asked: Weights,
    without_data: tuple[str, ...],
) -> str:
    """Why `winner` is first among `options`, told apart by the `telling` criteria."""
    if len(options) == 1:
        return f"{winner.name} is the only pool that fits your requirements."
    if not telling:
        first = (
            f"{winner.name} is first: the pools are alike on what you weighted, "
            f"so it was chosen by price, then by name"
        )
    else:
        strengths = [s for s in (_strength(winner, name, options) for name in telling) if s]
        if strengths:
            why = _joined(strengths[:STRENGTHS_TOLD])
        else:
            balance = [f"{n} ({_described(winner, n)})" for n in telling[:STRENGTHS_TOLD]]
            why = f"the best balance of {_joined(balance)}"
        first = f"{winner.name} is first: {why}; {_heaviest(asked)}"
    return " ".join(s for s in (f"{first}.", _left_out(asked, without_data)) if s)


def _timed(options: Sequence[Option]) -> list[tuple[Option, float]]:
    """The options that have a median time, each with it."""
    return [(option, option.seconds) for option in options if option.seconds is not None]


def pareto_front(options: Sequence[Option]) -> list[Option]:
    """The options no other option beats on both price and median time (lower is better for
    both), sorted by price, then time, name and key. Options without a time are not on it;
    options with the same price and time are on it or off it together."""
    timed = sorted(
        _timed(options), key=lambda pair: (pair[0].price, pair[1], pair[0].name, pair[0].key)
    )
    front: list[Option] = []
    fastest_cheaper = math.inf  # the best time among strictly cheaper options
    for _, same_price in itertools.groupby(timed, key=lambda pair: pair[0].price):
        group = list(same_price)
        quickest = group[0][1]  # sorted: the group's first is its quickest
        # Not beaten by a cheaper option's time, nor by a quicker one at this price.
        if quickest < fastest_cheaper:
            front += [option for option, seconds in group if seconds == quickest]
            fastest_cheaper = quickest
    return front


def pareto_svg(
    options: Sequence[Option], *, width: int = 360, height: int = 220, highlight: str = ""
) -> str:
    """A small inline SVG of price against median time: a dot per option with a time (its name,
    price and time in a <title>), the Pareto front as a step line, the option keyed `highlight`
    emphasized. No script, no style, no outside reference, and names are XML-escaped: they come
    from strangers. "" when no option has a time (the caller says there is no timing data yet).
    `width` is 160 or more, `height` 120 or more."""
    if width < 160 or height < 120:
        raise ValueError(
            f"a chart needs a width of 160 and a height of 120 at least: {width}, {height}"
        )
    timed = _timed(options)
    if not timed:
        return ""
    front = pareto_front(options)
    # Room at the left and the bottom for the axes' values and titles; the inset keeps the
    # extreme dots off the axes.
    left, right, top, bottom, inset = 58, width - 14, 12, height - 40, 8
    low_price, high_price = min(o.price for o, _ in timed), max(o.price for o, _ in timed)
    low_time, high_time = min(s for _, s in timed), max(s for _, s in timed)

    def scaled(value: float, low: float, high: float, start: float, end: float) -> float:
        return (
            (start + end) / 2
            if high == low
            else start + (value - low) / (high - low) * (end - start)
        )

    def x(price: float) -> float:
        return scaled(price, low_price, high_price, left + inset, right - inset)

    def y(seconds: float) -> float:  # quicker is lower: the best trade-offs sit bottom left
        return scaled(seconds, low_time, high_time, bottom - inset, top + inset)

    chosen = next((option for option, _ in timed if highlight and option.key == highlight), None)
    label = (
        f"Price in ECT per task against median time to finish for {len(timed)} "
        f"pool{'s' if len(timed) != 1 else ''}, lower left is better: "
        f"{len(front)} on the line of best trade-offs"
        + (f", {chosen.name} highlighted" if chosen else "")
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="pareto-chart" role="img" '
        f'aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="11" fill="currentColor">',
        f'<path d="M{left} {top}V{bottom}H{right}" fill="none" stroke="currentColor"/>',
        f'<text x="{(left + right) / 2:.1f}" y="{height - 6}" text-anchor="middle">'
        f"ECT per task</text>",
        f'<text transform="rotate(-90)" x="{-(top + bottom) / 2:.1f}" y="14" '
        f'text-anchor="middle">median time to finish</text>',
    ]
    for price in sorted({low_price, high_price}):
        parts.append(
            f'<text x="{x(price):.1f}" y="{bottom + 14}" text-anchor="middle">'
            f"{_number(price)}</text>"
        )
    for seconds in sorted({low_time, high_time}):
        parts.append(
            f'<text x="{left - 4}" y="{y(seconds) + 4:.1f}" text-anchor="end">'
            f"{duration(seconds) if seconds >= 0.05 else '0 s'}</text>"  # a tick: short
        )
    # Options of the front share a corner only when alike in both price and time.
    corners = sorted({(option.price, seconds) for option, seconds in _timed(front)})
    if len(corners) > 1:
        # From each corner right at its time, then down to the next corner's time.
        points = [corners[0]]
        for (_, seconds), (price, next_seconds) in itertools.pairwise(corners):
            points += [(price, seconds), (price, next_seconds)]
        parts.append(
            '<polyline class="pareto-front" points="'
            + " ".join(f"{x(price):.1f},{y(seconds):.1f}" for price, seconds in points)
            + '" fill="none" stroke="currentColor" stroke-dasharray="4 3"/>'
        )
    on_front = set(front)
    # The highlighted dot last, so that no other dot covers it.
    for option, seconds in sorted(timed, key=lambda pair: pair[0] is chosen):
        if option is chosen:
            look = 'class="pareto-dot pareto-chosen" r="7" stroke="currentColor" stroke-width="3"'
        elif option in on_front:
            look = 'class="pareto-dot" r="4.5"'
        else:  # hollow: beaten on both price and time by some other pool
            look = 'class="pareto-dot" r="4.5" fill="none" stroke="currentColor"'
        title = f"{option.name}: {_described(option, 'price')}, {_described(option, 'speed')}"
        parts.append(
            f'<circle cx="{x(option.price):.1f}" cy="{y(seconds):.1f}" {look}>'
            f"<title>{escape(title)}</title></circle>"
        )
    return "".join([*parts, "</svg>"])
