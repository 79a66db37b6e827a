from __future__ import annotations

import re

import pytest

from marketplace.matchmaking.choice import (
    CRITERIA,
    PRESET_LABELS,
    PRESETS,
    Option,
    Weights,
    WeightsRefused,
    duration,
    pareto_front,
    pareto_svg,
    rank,
)

# The textbook example, worked by hand (trust and energy unknown for all three):
#            price  seconds  reliability
#   A          3       6        0.6
#   B          4       2        0.8
#   C         12       3        0.0
# Weights price 2, speed 1, reliability 1 -> 0.5, 0.25, 0.25.
# Vector norms: price sqrt(9 + 16 + 144) = 13, speed sqrt(36 + 4 + 9) = 7,
# reliability sqrt(0.36 + 0.64 + 0) = 1.
# Weighted: price  A 1.5/13  B 2/13    C 6/13
#           speed  A 1.5/7   B 0.5/7   C 0.75/7
#           rel.   A 0.15    B 0.2     C 0
# Ideal best (1.5/13, 0.5/7, 0.2); ideal worst (6/13, 1.5/7, 0).
# A: d+ = sqrt(0 + (1/7)^2 + 0.05^2) = sqrt(0.0204082 + 0.0025) = 0.151354
#    d- = sqrt((4.5/13)^2 + 0 + 0.15^2) = sqrt(0.1198225 + 0.0225) = 0.377256
#    closeness = 0.377256 / 0.528610 = 0.713675
# B: d+ = sqrt((0.5/13)^2) = 0.038462
#    d- = sqrt((4/13)^2 + (1/7)^2 + 0.2^2) = sqrt(0.0946746 + 0.0204082 + 0.04) = 0.393806
#    closeness = 0.393806 / 0.432268 = 0.911024
# C: d+ = sqrt((4.5/13)^2 + (0.25/7)^2 + 0.2^2) = sqrt(0.1198225 + 0.0012755 + 0.04) = 0.401370
#    d- = sqrt(0 + (0.75/7)^2 + 0) = 0.107143
#    closeness = 0.107143 / 0.508513 = 0.210698
TEXTBOOK = [
    Option("0xa", "A", price=3, seconds=6, reliability=0.6),
    Option("0xb", "B", price=4, seconds=2, reliability=0.8),
    Option("0xc", "C", price=12, seconds=3, reliability=0.0),
]
TEXTBOOK_WEIGHTS = Weights(price=2, speed=1, reliability=1)

# One winner per preset: cheap but slow, fast but dear, trusted, green. The trusted and the
# green pools share price and time, so only the preset's leading criterion parts them.
FOUR = [
    Option("0xc", "Cheap", price=0.02, seconds=600, trust=2, reliability=0.90, energy="D"),
    Option("0xf", "Fast", price=0.20, seconds=30, trust=2, reliability=0.90, energy="D"),
    Option("0xt", "Trusted", price=0.10, seconds=300, trust=9, reliability=0.99, energy="C"),
    Option("0xg", "Green", price=0.10, seconds=300, trust=2, reliability=0.90, energy="A"),
]


def names(ranking):
    return [ranked.option.name for ranked in ranking.ranked]


def test_topsis_closeness_is_the_hand_computed_one():
    ranking = rank(TEXTBOOK, TEXTBOOK_WEIGHTS)

    assert names(ranking) == ["B", "A", "C"]
    assert [r.position for r in ranking.ranked] == [1, 2, 3]
    assert [r.score for r in ranking.ranked] == pytest.approx(
        [0.911024, 0.713675, 0.210698], abs=1e-6
    )


def test_criteria_no_option_has_are_left_out_and_the_weights_renormalized():
    ranking = rank(TEXTBOOK, Weights(price=2, speed=1, trust=3, reliability=1))

    assert ranking.without_data == ("trust", "energy")
    # trust's 3 of 7 is dropped: price 2/4, speed 1/4, reliability 1/4.
    assert ranking.weights == Weights(price=0.5, speed=0.25, reliability=0.25)
    assert [r.missing for r in ranking.ranked] == [(), (), ()]
    assert ranking.reason == (
        "B is first: among the cheapest (4 ECT per task) and the fastest (median 2 s to "
        "finish); you weighted trust most. No pool states the trust its workers can give, "
        "so trust was left out."
    )


# Closeness under each preset (0.7 on its criterion, 0.075 on each other; cheapest: price
# alone, so (max - price) / (max - min): 1, 0.5556, 0.5556, 0), worked out apart from the
# module with the same steps as the textbook example:
#   cheapest      Cheap 1.0000  Green 0.5556  Trusted 0.5556  Fast 0.0000 (a tie: by name)
#   fastest       Fast 0.8648   Trusted 0.5302  Green 0.5230  Cheap 0.0914
#   most_trusted  Trusted 0.9215  Fast 0.1019   Green 0.0981  Cheap 0.0968
#   greenest      Green 0.8324  Trusted 0.3696  Fast 0.1486   Cheap 0.1413
@pytest.mark.parametrize(
    ("preset", "order", "top_score"),
    [
        ("cheapest", ["Cheap", "Green", "Trusted", "Fast"], 1.0),
        ("fastest", ["Fast", "Trusted", "Green", "Cheap"], 0.8648),
        ("most_trusted", ["Trusted", "Fast", "Green", "Cheap"], 0.9215),
        ("greenest", ["Green", "Trusted", "Fast", "Cheap"], 0.8324),
    ],
)
def test_each_preset_puts_its_own_pool_first(preset, order, top_score):
    ranking = rank(FOUR, PRESETS[preset])

    assert names(ranking) == order
    assert ranking.ranked[0].score == pytest.approx(top_score, abs=5e-5)


def test_presets_lead_with_their_criterion_and_keep_the_others_counting():
    assert PRESETS["cheapest"].as_dict() == {
        "price": 1.0,
        "speed": 0.0,
        "trust": 0.0,
        "reliability": 0.0,
        "energy": 0.0,
    }
    leading = {
        "fastest": "speed",
        "most_trusted": "trust",
        "greenest": "energy",
    }
    for preset, criterion in leading.items():
        weights = PRESETS[preset].as_dict()
        others = [weights[name] for name in CRITERIA if name != criterion]
        assert weights[criterion] > 2 * sum(others)
        assert min(others) > 0
    assert set(PRESETS["balanced"].as_dict().values()) == {0.2}
    assert set(PRESET_LABELS) == set(PRESETS)
    assert PRESET_LABELS["most_trusted"] == "Most trusted"


def test_the_reason_names_the_winner_its_strengths_and_the_heaviest_weight():
    assert rank(FOUR, PRESETS["cheapest"]).reason == (
        "Cheap is first: the cheapest (0.02 ECT per task); you weighted price most."
    )
    assert rank(FOUR, PRESETS["most_trusted"]).reason == (
        "Trusted is first: the most trusted (trust 9) and the most reliable "
        "(99 % of tasks finalized); you weighted trust most."
    )
    assert rank(FOUR, PRESETS["balanced"]).reason == (
        "Trusted is first: the most trusted (trust 9) and the most reliable "
        "(99 % of tasks finalized); you weighted all five criteria equally."
    )


def test_a_winner_sharing_the_best_value_is_among_the_best_not_the_best():
    options = [
        Option("0x1", "Steady", price=1, reliability=0.9),
        Option("0x2", "Shaky", price=1, reliability=0.5),
        Option("0x3", "Dear", price=2, reliability=0.4),
    ]

    ranking = rank(options, Weights(price=2, reliability=1))

    assert ranking.reason == (
        "Steady is first: among the cheapest (1 ECT per task) and the most reliable "
        "(90 % of tasks finalized); you weighted price most."
    )


def test_a_winner_best_at_nothing_is_told_as_the_best_balance():
    # Weighted 1/2 each, norms sqrt(1 + 100 + 16) for both criteria: the middle pool is
    # 0.196 from the ideal and 0.392 from the worst (closeness 2/3), the extremes 1/2.
    options = [
        Option("0x1", "Cheap", price=1, seconds=10),
        Option("0x2", "Fast", price=10, seconds=1),
        Option("0x3", "Middle", price=4, seconds=4),
    ]

    ranking = rank(options, Weights(price=1, speed=1))

    assert names(ranking) == ["Middle", "Cheap", "Fast"]
    assert [r.score for r in ranking.ranked] == pytest.approx([2 / 3, 0.5, 0.5])
    assert ranking.reason == (
        "Middle is first: the best balance of price (4 ECT per task) and speed "
        "(median 4 s to finish); you weighted price and speed equally."
    )


def test_an_option_without_a_value_counts_as_worse_than_every_value_observed():
    unknown = [*TEXTBOOK[:2], Option("0xc", "C", price=12, seconds=None, reliability=None)]
    # The worst observed: 6 seconds (A), reliability 0.6 (A); unknown counts as 6 + 6 = 12
    # seconds (a cost: the slowest seen and as much again) and reliability 0 (below any seen).
    below = [*TEXTBOOK[:2], Option("0xc", "C", price=12, seconds=12, reliability=0.0)]

    with_gaps = rank(unknown, TEXTBOOK_WEIGHTS)
    filled = rank(below, TEXTBOOK_WEIGHTS)

    assert [r.score for r in with_gaps.ranked] == [r.score for r in filled.ranked]
    assert [(r.option.name, r.missing) for r in with_gaps.ranked] == [
        ("B", ()),
        ("A", ()),
        ("C", ("speed", "reliability")),
    ]
    assert with_gaps.without_data == ("trust", "energy")


def test_a_pool_with_no_record_ranks_below_any_record_even_a_poor_one():
    good = Option("0x1", "Good", price=1, seconds=60, reliability=0.9)
    poor = Option("0x2", "Poor", price=1, seconds=600, reliability=0.5)
    new = Option("0x3", "New", price=1)

    ranking = rank([new, poor, good], Weights(speed=1, reliability=1))

    # New counts as 1,200 s and reliability 0: below Poor, never level with it.
    assert [(r.option.name, r.missing) for r in ranking.ranked] == [
        ("Good", ()),
        ("Poor", ()),
        ("New", ("speed", "reliability")),
    ]
    assert ranking.ranked[1].score > ranking.ranked[2].score == 0.0


def test_one_pool_with_a_record_beats_one_without_on_what_the_buyer_weighted():
    """With one time seen, the pool without one is not "alike": it counts as slower."""
    timed = Option("0x1", "Lyon", price=0.1, seconds=3.5)
    new = Option("0x2", "Nordic", price=0.1)
    for weights in (Weights(speed=1), Weights(reliability=1, speed=1)):
        ranking = rank([new, timed], weights)
        assert [r.option.name for r in ranking.ranked] == ["Lyon", "Nordic"]
        assert ranking.ranked[0].score == 1.0 and ranking.ranked[1].score == 0.0
    assert rank([new, timed], Weights(speed=1)).reason.startswith("Lyon is first: the fastest")


def test_speed_is_left_out_when_no_pool_has_finished_deals():
    options = [
        Option("0x1", "Lyon Edge", price=0.05, reliability=0.98),
        Option("0x2", "Oslo", price=0.08, reliability=0.90),
    ]

    ranking = rank(options, Weights(price=3, speed=3, reliability=2))

    assert ranking.without_data == ("speed", "trust", "energy")
    assert ranking.weights == Weights(price=0.6, reliability=0.4)
    assert [r.missing for r in ranking.ranked] == [(), ()]
    assert ranking.reason == (
        "Lyon Edge is first: the cheapest (0.05 ECT per task) and the most reliable "
        "(98 % of tasks finalized); you weighted price and speed most. "
        "No pool has finished deals yet, so speed was left out."
    )


def test_pools_are_ranked_by_price_when_nothing_weighted_has_data():
    options = [
        Option("0x1", "Dear", price=0.3),
        Option("0x2", "Cheap", price=0.1),
        Option("0x3", "Middle", price=0.2),
    ]

    ranking = rank(options, Weights(speed=1, trust=1))

    assert ranking.weights == Weights(price=1)
    assert names(ranking) == ["Cheap", "Middle", "Dear"]
    assert ranking.reason == (
        "Cheap is first: the cheapest (0.1 ECT per task); you weighted speed and trust equally. "
        "No pool has data yet for speed and trust, so the pools were ranked by price alone."
    )


def test_a_criterion_alike_for_every_option_does_not_count():
    # Same trust, and reliability 0 everywhere (a zero vector norm): only price tells them
    # apart, so the cheaper pool is the ideal (1) and the dearer the anti-ideal (0).
    options = [
        Option("0x1", "Dear", price=2, trust=5, reliability=0.0),
        Option("0x2", "Cheap", price=1, trust=5, reliability=0.0),
    ]

    ranking = rank(options, Weights(price=1, trust=5, reliability=5))

    assert [(r.option.name, r.score) for r in ranking.ranked] == [("Cheap", 1.0), ("Dear", 0.0)]


def test_options_alike_on_all_that_is_weighted_all_score_1_and_tie_by_price_name_then_key():
    options = [
        Option("0x4", "Beta", price=2, trust=3),
        Option("0x3", "Alpha", price=2, trust=3),
        Option("0x2", "Alpha", price=2, trust=3),
        Option("0x1", "Zulu", price=1, trust=3),
    ]

    ranking = rank(options, Weights(trust=1))

    assert [(r.option.key, r.score) for r in ranking.ranked] == [
        ("0x1", 1.0),
        ("0x2", 1.0),
        ("0x3", 1.0),
        ("0x4", 1.0),
    ]
    assert ranking.reason == (
        "Zulu is first: the pools are alike on what you weighted, "
        "so it was chosen by price, then by name."
    )


def test_a_single_option_scores_1_and_is_the_only_fit():
    ranking = rank([TEXTBOOK[2]], TEXTBOOK_WEIGHTS)

    assert [(r.option.name, r.position, r.score) for r in ranking.ranked] == [("C", 1, 1.0)]
    assert ranking.reason == "C is the only pool that fits your requirements."


def test_no_options_rank_to_nothing_with_no_reason():
    ranking = rank([], Weights(price=3, speed=1))

    assert ranking.ranked == []
    assert ranking.reason == ""
    assert ranking.weights == Weights(price=0.75, speed=0.25)


def test_ranked_options_say_whether_they_are_on_the_price_time_front():
    ranking = rank(TEXTBOOK, TEXTBOOK_WEIGHTS)

    # C (12, 3 s) is beaten on both by B (4, 2 s).
    assert [(r.option.name, r.pareto) for r in ranking.ranked] == [
        ("B", True),
        ("A", True),
        ("C", False),
    ]


def test_weights_parse_numbers_and_numeric_strings_and_missing_keys_are_0():
    weights = Weights.parse({"price": "0.5", "speed": 2, "trust": " 1e-1 ", "energy": ""})

    assert weights == Weights(price=0.5, speed=2.0, trust=0.1)
    assert weights.as_dict() == {
        "price": 0.5,
        "speed": 2.0,
        "trust": 0.1,
        "reliability": 0.0,
        "energy": 0.0,
    }


def test_normalized_weights_sum_to_1_in_the_same_ratios():
    assert Weights(price=3, speed=1).normalized() == Weights(price=0.75, speed=0.25)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"price": -1},
            "price",
            "The price weight is negative (-1): use 0 to leave price out, "
            "or a number above 0 to count it.",
        ),
        (
            {"price": 0, "speed": "0"},
            "",
            "Every weight is 0: give at least one criterion a weight above 0, for example price 1.",
        ),
        (
            {},
            "",
            "Every weight is 0: give at least one criterion a weight above 0, for example price 1.",
        ),
        (
            {"trust": "abc"},
            "trust",
            "The trust weight must be a number, not 'abc': type a number such as 1 or 0.5.",
        ),
        (
            {"speed": True},
            "speed",
            "The speed weight must be a number, not True: type a number such as 1 or 0.5.",
        ),
        (
            {"reliability": "nan"},
            "reliability",
            "The reliability weight is not a number (NaN): type a number such as 1 or 0.5.",
        ),
        (
            {"energy": "inf"},
            "energy",
            "The energy weight (Infinity) is too large: weights only count relative to each other, "
            "so use numbers up to 1000000.",
        ),
        (
            {"price": 2_000_000},
            "price",
            "The price weight (2000000) is too large: weights only count relative to each other, "
            "so use numbers up to 1000000.",
        ),
        (
            {"speed": "1e308"},
            "speed",
            "The speed weight (1e+308) is too large: weights only count relative to each other, "
            "so use numbers up to 1000000.",
        ),
        (
            {"price": -(10**400)},
            "price",
            "The price weight is negative (-Infinity): use 0 to leave price out, "
            "or a number above 0 to count it.",
        ),
        (
            {"price": 1, "colour": 1},
            "colour",
            "There is no criterion 'colour': weights are for price, speed, trust, reliability "
            "and energy.",
        ),
    ],
)
def test_weights_parse_refuses_what_cannot_rank_naming_the_field(values, field, message):
    with pytest.raises(WeightsRefused) as refused:
        Weights.parse(values)

    assert str(refused.value) == message
    assert refused.value.field == field


@pytest.mark.parametrize(
    "fields",
    [
        {"price": -0.1},
        {"price": float("nan")},
        {"seconds": float("inf")},
        {"trust": -1},
        {"reliability": 1.5},
        {"energy": "F"},
    ],
)
def test_an_option_with_an_impossible_value_is_refused(fields):
    with pytest.raises(ValueError, match=r"^0x1: "):
        Option(**{"key": "0x1", "name": "Bad", "price": 1, **fields})


def test_pareto_front_keeps_the_options_no_other_beats_on_price_and_time():
    options = [
        Option("0x1", "A", price=1, seconds=10),
        Option("0x2", "B", price=2, seconds=5),
        Option("0x3", "C", price=3, seconds=5),  # as quick as B, dearer
        Option("0x4", "D", price=2, seconds=8),  # B's price, slower
        Option("0x5", "E", price=4, seconds=1),
        Option("0x6", "F", price=2, seconds=5),  # alike B: on the front with it
        Option("0x7", "G", price=0.5),  # no time: not on it, though the cheapest
        Option("0x8", "H", price=0.8, seconds=20),
        Option("0x9", "I", price=5, seconds=1),  # as quick as E, dearer
    ]

    assert [o.name for o in pareto_front(options)] == ["H", "A", "B", "F", "E"]


def test_pareto_svg_has_a_dot_per_timed_option_and_escapes_names():
    options = [
        Option("0x1", "<script>alert(1)</script>", price=1, seconds=10),
        Option("0x2", 'Lyon "Edge" & co', price=2, seconds=5),
        Option("0x3", "Slow", price=3, seconds=30),
        Option("0x4", "Untimed", price=0.5),
    ]

    svg = pareto_svg(options, highlight="0x2")

    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    assert 'role="img"' in svg and 'aria-label="' in svg
    assert ">ECT per task</text>" in svg and ">median time to finish</text>" in svg
    assert svg.count("<circle") == 3
    assert "<script" not in svg
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;: 1 ECT per task" in svg
    assert "<title>Lyon &quot;Edge&quot; &amp; co: 2 ECT per task" in svg
    assert "Untimed" not in svg
    assert "href" not in svg and "url(" not in svg and "style" not in svg
    assert svg.count('class="pareto-front"') == 1
    # Only the highlighted option's dot is drawn large, and last (on top).
    assert re.findall(r'<circle [^>]* r="7"[^>]*><title>([^:<]*)', svg) == [
        "Lyon &quot;Edge&quot; &amp; co"
    ]
    assert "pareto-chosen" in svg[svg.rindex("<circle") :]


def test_pareto_svg_is_empty_when_no_option_has_a_time():
    assert pareto_svg([Option("0x1", "New", price=1), Option("0x2", "Newer", price=2)]) == ""
    assert pareto_svg([]) == ""


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.0, "under 0.1 s"), (0.04, "under 0.1 s"), (0.4, "0.4 s"), (40, "40 s"), (150, "2.5 min")],
)
def test_a_time_is_said_as_people_say_it_never_as_0_s(seconds, said):
    assert duration(seconds) == said
