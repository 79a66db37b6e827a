"""Charts drawn on the server: a price history and a market depth as inline SVG that needs no
script and no style, names and sums itself up for screen readers, escapes what strangers wrote,
and draws nothing when there is nothing to draw."""

from __future__ import annotations

import dataclasses
import datetime
import re
import xml.etree.ElementTree as ET

import pytest

from marketplace.charts import depth_svg, nice_ticks, price_history_svg

SVG = "{http://www.w3.org/2000/svg}"
DAY = datetime.timedelta(days=1)
SINCE = datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC)


@dataclasses.dataclass(frozen=True)
class Point:
    start: datetime.datetime
    median: int
    low: int
    high: int
    deals: int
    tasks: int


@dataclasses.dataclass(frozen=True)
class Level:
    price: int
    tasks: int


def parsed(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (the chart under test, not outside input)


def money(units: int) -> str:
    return f"{units / 10:g}"


def history(points, *, title="Prices of Word count by day", until=SINCE + 10 * DAY) -> str:
    return price_history_svg(
        points,
        since=SINCE,
        until=until,
        step=DAY,
        money=money,
        unit="ECT per task",
        chart_id="h",
        title=title,
    )


def test_round_ticks_cover_the_range():
    assert nice_ticks(0, 7) == [0, 2, 4, 6, 8]
    assert nice_ticks(15, 95) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(1_500_000_000, 2_500_000_000) == [1_500_000_000, 2_000_000_000, 2_500_000_000]
    assert nice_ticks(0, 1) == [0, 1]  # whole numbers: never a step below 1
    with pytest.raises(ValueError, match="low < high"):
        nice_ticks(3, 3)


def test_a_price_history_draws_a_bar_and_a_dot_per_bucket_and_joins_consecutive_medians():
    points = [
        Point(SINCE, median=20, low=20, high=40, deals=2, tasks=4),
        Point(SINCE + DAY, median=30, low=30, high=30, deals=1, tasks=2),
        Point(SINCE + 5 * DAY, median=25, low=10, high=50, deals=3, tasks=9),
    ]
    svg = history(points)
    root = parsed(svg)

    assert root.find(f"{SVG}title").text == "Prices of Word count by day"
    assert root.find(f"{SVG}desc").text == (
        "6 deal(s), 15 task(s) in 3 of the buckets shown; medians from 2 to 3 ECT per task, "
        "prices from 1 to 5."
    )
    assert root.get("aria-labelledby") == "h-title h-desc"
    assert len(root.findall(f"{SVG}rect")) == 3
    dots = root.findall(f"{SVG}circle")
    assert [dot.find(f"{SVG}title").text for dot in dots] == [
        "2025-03-01 00:00: median 2, from 2 to 4 ECT per task; 2 deal(s), 4 task(s)",
        "2025-03-02 00:00: median 3, from 3 to 3 ECT per task; 1 deal(s), 2 task(s)",
        "2025-03-06 00:00: median 2.5, from 1 to 5 ECT per task; 3 deal(s), 9 task(s)",
    ]
    # The first two days are joined; the sixth starts a line of its own after the gap.
    median = next(p for p in root.iter(f"{SVG}path") if p.get("class") == "price-median")
    assert re.fullmatch(r"M[\d.]+ [\d.]+L[\d.]+ [\d.]+M[\d.]+ [\d.]+", median.get("d"))
    labels = [text.text for text in root.iter(f"{SVG}text")]
    assert labels[-6:] == ["1 Mar", "3 Mar", "5 Mar", "7 Mar", "9 Mar", "11 Mar"]
    assert "ECT per task" in labels and "UTC" in labels


def test_a_chart_holds_no_script_no_style_and_escapes_names():
    svg = history(
        [Point(SINCE, median=20, low=20, high=20, deals=1, tasks=1)],
        title='Prices of <script>alert("x")</script> & co',
    )
    assert "<script" not in svg and "style" not in svg and "href" not in svg
    # One price: the axis makes room around it, the description says the price itself.
    assert parsed(svg).find(f"{SVG}desc").text.endswith("prices from 2 to 2.")
    assert parsed(svg).find(f"{SVG}title").text == 'Prices of <script>alert("x")</script> & co'


def test_nothing_to_draw_is_no_chart():
    assert history([]) == ""
    assert depth_svg([], [], money=money, unit="ECT per task", chart_id="d", title="t") == ""


def test_a_depth_chart_steps_up_through_the_offers_and_the_bids():
    svg = depth_svg(
        [Level(10, 5), Level(20, 3)],
        [Level(15, 2), Level(5, 4)],
        money=money,
        unit="ECT per task",
        chart_id="d",
        title="Tasks of Pool A on offer",
    )
    root = parsed(svg)
    assert root.find(f"{SVG}desc").text == (
        "8 task(s) offered from 1 to 2 ECT per task; 6 task(s) asked at up to 1.5 ECT per "
        "task (the lowest bid 0.5)."
    )
    paths = {p.get("class"): p.get("d") for p in root.iter(f"{SVG}path") if p.get("class")}
    # Offers: up to 5 tasks at 1, along to 2, up to 8, then on to the right edge; bids: up to 2
    # at 1.5, along (left) to 0.5, up to 6, then on to the left edge.
    assert re.fullmatch(r"M[\d.]+ 200V[\d.]+H[\d.]+V[\d.]+H612", paths["price-offers"])
    assert re.fullmatch(r"M[\d.]+ 200V[\d.]+H[\d.]+V[\d.]+H64", paths["price-bids"])
    offers = [float(n) for n in re.findall(r"[\d.]+", paths["price-offers"])]
    bids = [float(n) for n in re.findall(r"[\d.]+", paths["price-bids"])]
    assert offers[0] < bids[0]  # 1 ECT left of 1.5 ECT
    assert bids[3] < offers[0]  # 0.5 ECT left of 1 ECT
    assert offers[2] > offers[4]  # 8 tasks higher up (smaller y) than 5
    assert bids[4] < offers[2] and bids[2] > offers[2]  # 6 tasks between 5 and 8, 2 below 5


def test_a_depth_chart_of_offers_only_says_no_request_is_open():
    svg = depth_svg(
        [Level(10, 1)], [], money=money, unit="ECT per task", chart_id="d", title="Offers"
    )
    root = parsed(svg)
    assert root.find(f"{SVG}desc").text == (
        "1 task(s) offered from 1 to 1 ECT per task; no open request."
    )
    assert [p.get("class") for p in root.iter(f"{SVG}path") if p.get("class")] == ["price-offers"]
