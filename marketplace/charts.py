"""Charts drawn on the server as inline SVG: a price history (the median line over the band
from the lowest to the highest price of each bucket) and a market depth (how many tasks are
offered up to each price, and asked down to it, as two step lines).

Like `pareto_svg` (marketplace.matchmaking.choice): no script, no style (presentation
attributes only, which the Content-Security-Policy allows), no outside reference, every text
XML-escaped. Each chart names itself in a <title> and sums itself up in a <desc> (what a screen
reader says); the pages add its numbers as a table. A chart with nothing to draw is "": the
page says "No trades yet" or "Nothing on offer" instead.

Pure Python: amounts are integers (ECT base units) and `money` writes one for people, so that
this module knows no currency.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Protocol

WIDTH, HEIGHT = 640, 240
# Room for the axes' values and titles (left, bottom) and for the last tick's label (right).
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 28, 12, 40


class TimePoint(Protocol):
    """One bucket of a price history (marketplace.indexer.prices.PricePoint is one)."""

    start: datetime.datetime
    median: int
    low: int
    high: int
    deals: int
    tasks: int


class Level(Protocol):
    """Tasks offered or asked at one price (marketplace.orders.depth.DepthLevel is one)."""

    price: int
    tasks: int


def nice_ticks(low: int, high: int, *, count: int = 4) -> list[int]:
    """About `count` round whole numbers (1, 2 or 5 times a power of ten apart, 1 at least)
    covering [low, high]: the first at or below `low`, the last at or above `high`."""
    if not low < high:
        raise ValueError(f"ticks need low < high: {low}, {high}")
    raw = (high - low) / count
    power = 10 ** max(0, math.floor(math.log10(raw)))
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= raw)
    first = low // step * step
    ticks = [first]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def _scale(value: float, low: float, high: float, start: float, end: float) -> float:
    return start + (value - low) / (high - low) * (end - start)


def _frame(
    *, chart_id: str, title: str, desc: str, width: int, height: int, css_class: str
) -> list[str]:
    ids = f"{chart_id}-title {chart_id}-desc"
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" role="img" '
        f'aria-labelledby="{escape(ids)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="11" fill="currentColor">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _axes(
    *, width: int, height: int, y_ticks: list[tuple[float, str]], x_title: str, y_title: str
) -> list[str]:
    left, right, top, bottom = _LEFT, width - _RIGHT, _TOP, height - _BOTTOM
    parts = [f'<path d="M{left} {top}V{bottom}H{right}" fill="none" stroke="currentColor"/>']
    for y, label in y_ticks:
        parts.append(
            f'<path d="M{left - 3} {y:.1f}H{right}" stroke="currentColor" stroke-opacity=".15"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{height - 4}" text-anchor="middle">'
        f"{escape(x_title)}</text>"
        f'<text transform="rotate(-90)" x="{-(top + bottom) / 2:.1f}" y="12" '
        f'text-anchor="middle">{escape(y_title)}</text>'
    )
    return parts


def _time_ticks(
    since: datetime.datetime, until: datetime.datetime, step: datetime.timedelta
) -> list[tuple[datetime.datetime, str]]:
    """Bucket starts to label along the time axis (about six), with their labels: days as
    "3 Mar", hours as "14:00" (a day's first hour by its date)."""
    buckets = max(1, math.ceil((until - since) / step))
    every = next(n for n in (1, 2, 3, 6, 12, 24, 48, 96) if buckets / n <= 6) if buckets > 6 else 1
    daily = step >= datetime.timedelta(days=1)
    ticks = []
    for n in range(0, buckets + 1, every):
        moment = since + n * step
        if moment > until:
            break
        label = (
            f"{moment.day} {moment:%b}"
            if daily or (moment.hour == 0 and moment.minute == 0)
            else f"{moment:%H:%M}"
        )
        ticks.append((moment, label))
    return ticks


def price_history_svg(
    points: Sequence[TimePoint],
    *,
    since: datetime.datetime,
    until: datetime.datetime,
    step: datetime.timedelta,
    money: Callable[[int], str],
    unit: str,
    chart_id: str,
    title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """The price history of [since, until) in buckets of `step`: for each bucket with trades,
    a bar from its lowest to its highest price and a dot at its median, the medians joined
    across consecutive buckets. `money` writes an amount without its unit, `unit` names it
    ("ECT per task"). "" when there is no point."""
    if not points:
        return ""
    left, right, top, bottom = _LEFT, width - _RIGHT, _TOP, height - _BOTTOM
    cheapest, dearest = min(p.low for p in points), max(p.high for p in points)
    low, high = cheapest, dearest
    if low == high:  # one price: give it room above and below
        pad = max(1, low // 10)
        low, high = max(0, low - pad), high + pad
    ticks = nice_ticks(low, high)
    floor, ceiling = min(ticks[0], low), max(ticks[-1], high)

    def x(moment: datetime.datetime) -> float:
        seconds = (moment - since).total_seconds()
        return _scale(seconds, 0, (until - since).total_seconds(), left, right)

    def y(price: float) -> float:
        return _scale(price, floor, ceiling, bottom, top)

    medians = [p.median for p in points]
    desc = (
        f"{sum(p.deals for p in points)} deal(s), {sum(p.tasks for p in points)} task(s) in "
        f"{len(points)} of the buckets shown; medians from {money(min(medians))} to "
        f"{money(max(medians))} {unit}, prices from {money(cheapest)} to {money(dearest)}."
    )
    parts = _frame(
        chart_id=chart_id,
        title=title,
        desc=desc,
        width=width,
        height=height,
        css_class="price-chart",
    )
    parts += _axes(
        width=width,
        height=height,
        y_ticks=[(y(t), money(t)) for t in ticks],
        x_title="UTC",
        y_title=unit,
    )
    for moment, label in _time_ticks(since, until, step):
        parts.append(
            f'<path d="M{x(moment):.1f} {bottom}v4" stroke="currentColor"/>'
            f'<text x="{x(moment):.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    line: list[str] = []
    previous: datetime.datetime | None = None
    for point in points:
        start, end = x(point.start), min(x(point.start + step), right)
        middle = (start + end) / 2
        parts.append(
            f'<rect class="price-range" x="{start + 0.5:.1f}" y="{y(point.high):.1f}" '
            f'width="{max(1.0, end - start - 1):.1f}" '
            f'height="{max(1.0, y(point.low) - y(point.high)):.1f}" fill-opacity=".2"/>'
        )
        joined = previous is not None and point.start - previous == step
        line.append(f"{'L' if joined else 'M'}{middle:.1f} {y(point.median):.1f}")
        previous = point.start
    parts.append(
        f'<path class="price-median" d="{"".join(line)}" fill="none" stroke="currentColor" '
        'stroke-width="2"/>'
    )
    for point in points:
        middle = (x(point.start) + min(x(point.start + step), right)) / 2
        said = (
            f"{point.start:%Y-%m-%d %H:%M}: median {money(point.median)}, from "
            f"{money(point.low)} to {money(point.high)} {unit}; {point.deals} deal(s), "
            f"{point.tasks} task(s)"
        )
        parts.append(
            f'<circle cx="{middle:.1f}" cy="{y(point.median):.1f}" r="3">'
            f"<title>{escape(said)}</title></circle>"
        )
    return "".join([*parts, "</svg>"])


def _cumulative(levels: Sequence[Level]) -> list[tuple[int, int]]:
    total, steps = 0, []
    for level in levels:
        total += level.tasks
        steps.append((level.price, total))
    return steps


def depth_svg(
    offers: Sequence[Level],
    bids: Sequence[Level],
    *,
    money: Callable[[int], str],
    unit: str,
    chart_id: str,
    title: str,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """The depth of a market: for offers (cheapest first), the tasks on offer at each price or
    less as a solid step line rising to the right; for bids (dearest first), the tasks asked at
    each price or more, dashed, rising to the left. `money` writes an amount without its unit,
    `unit` names it. "" when there is neither."""
    if not offers and not bids:
        return ""
    left, right, top, bottom = _LEFT, width - _RIGHT, _TOP, height - _BOTTOM
    offered, asked = _cumulative(offers), _cumulative(bids)
    prices = [price for price, _ in offered + asked]
    low, high = min(prices), max(prices)
    pad = (high - low) // 10 or max(1, low // 10)
    low, high = max(0, low - pad), high + pad
    deepest = max(tasks for _, tasks in offered + asked)
    y_ticks = nice_ticks(0, deepest)
    x_ticks = nice_ticks(low, high, count=5)
    floor, ceiling = min(x_ticks[0], low), max(x_ticks[-1], high)

    def x(price: float) -> float:
        return _scale(price, floor, ceiling, left, right)

    def y(tasks: float) -> float:
        return _scale(tasks, 0, y_ticks[-1], bottom, top)

    said = []
    if offered:
        said.append(
            f"{offered[-1][1]} task(s) offered from {money(offered[0][0])} to "
            f"{money(offered[-1][0])} {unit}"
        )
    else:
        said.append("nothing on offer")
    if asked:
        said.append(
            f"{asked[-1][1]} task(s) asked at up to {money(asked[0][0])} {unit} "
            f"(the lowest bid {money(asked[-1][0])})"
        )
    else:
        said.append("no open request")
    parts = _frame(
        chart_id=chart_id,
        title=title,
        desc="; ".join(said) + ".",
        width=width,
        height=height,
        css_class="depth-chart",
    )
    parts += _axes(
        width=width,
        height=height,
        y_ticks=[(y(t), f"{t:,}") for t in y_ticks],
        x_title=unit,
        y_title="tasks",
    )
    for price in x_ticks:
        parts.append(
            f'<path d="M{x(price):.1f} {bottom}v4" stroke="currentColor"/>'
            f'<text x="{x(price):.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"{escape(money(price))}</text>"
        )
    for steps, edge, look, name in (
        (offered, right, 'stroke-width="2"', "price-offers"),
        (asked, left, 'stroke-width="2" stroke-dasharray="5 3"', "price-bids"),
    ):
        if not steps:
            continue
        path = f"M{x(steps[0][0]):.1f} {bottom}"
        for n, (price, tasks) in enumerate(steps):
            if n:
                path += f"H{x(price):.1f}"
            path += f"V{y(tasks):.1f}"
        path += f"H{edge}"
        parts.append(f'<path class="{name}" d="{path}" fill="none" stroke="currentColor" {look}/>')
    parts.append(
        f'<path d="M{right - 150} {top + 6}h18" stroke="currentColor" stroke-width="2"/>'
        f'<text x="{right - 128}" y="{top + 10}">offers</text>'
        f'<path d="M{right - 80} {top + 6}h18" stroke="currentColor" stroke-width="2" '
        'stroke-dasharray="5 3"/>'
        f'<text x="{right - 58}" y="{top + 10}">requests</text>'
    )
    return "".join([*parts, "</svg>"])
