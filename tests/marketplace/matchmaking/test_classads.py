from __future__ import annotations

import re

import classad2
import pytest

from marketplace.matchmaking import classads
from marketplace.matchmaking.attributes import pool_expression, request_expression


def refused(text: object, *, side=request_expression) -> str:
    with pytest.raises(classads.ExpressionRefused) as caught:
        side(text)
    return str(caught.value)


def test_a_good_expression_reads_and_knows_what_each_side_gives():
    expression = request_expression('TARGET.Cores >= 4 && MY.Volume > 1 && Region == "eu-west"')
    assert expression.mine == {"volume"}
    assert expression.theirs == {"cores", "region"}  # Region: only the pool's ad has it
    assert expression.text == 'TARGET.Cores >= 4 && MY.Volume > 1 && Region == "eu-west"'


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "The expression is empty."),
        ("   ", "The expression is empty."),
        (42, "An expression is text."),
        ("TARGET.Cores >= ", "it ends with an operator that has nothing on its right"),
        ("TARGET.Cores = 4", "compare with “==”"),
        ("(TARGET.Cores >= 4", "The “(” at character 1 is never closed"),
        ("TARGET.Cores >= 4)", "The “)” at character 18 closes nothing"),
        ('TARGET.Region == "eu-west', "The string that starts at character 18 never ends"),
        ("TARGET.Region == eu-west", "neither ad has eu, west (text goes in double quotes"),
        ("TARGET.Corez >= 4", "the pool's ad has no Corez"),
        ("MY.Cores >= 4", "the request's ad has no Cores"),
        ("time() > 0", "The function time cannot be used here"),
        ('regexp("(a+)+b", TARGET.Name)', "The function regexp cannot be used here"),
        ('eval("1")', "The function eval cannot be used here"),
        ("random(3) > 1", "The function random cannot be used here"),
        ("x\x00", "NUL"),
    ],
)
def test_bad_expressions_are_refused_saying_what_is_wrong(text, says):
    assert says in refused(text)


def test_huge_and_deeply_nested_expressions_are_refused_before_the_parser_sees_them():
    assert "at most 1000 are accepted" in refused("TARGET.Cores >= 1 || " * 60 + "true")
    deep = "(" * 13 + "true" + ")" * 13
    assert "nests brackets 13 deep; at most 12" in refused(deep)
    assert request_expression("(" * 12 + "true" + ")" * 12).text  # the limit itself is fine
    many = " && ".join(["TARGET.Cores >= 1"] * 41)
    assert "joins 41 conditions" in refused(many)


def test_a_paren_inside_a_string_is_not_a_bracket_and_a_function_name_in_a_string_is_text():
    expression = request_expression('TARGET.Name == "time() ((("')
    assert expression.theirs == {"name"}


def test_a_pool_expression_reads_the_request_as_its_target():
    expression = pool_expression('member(TARGET.Requester, {"0xabc"}) && MY.Cores >= 2')
    assert (expression.mine, expression.theirs) == ({"cores"}, {"requester"})
    assert "the request's ad has no Region" in refused("TARGET.Region == 1", side=pool_expression)


def test_clauses_are_the_top_level_conjunction_only():
    expression = request_expression(
        "TARGET.Cores >= 4 && (TARGET.Memory > 1 || TARGET.Workers > 2)"
    )
    parts = classads.clauses(expression, own=("Volume",), other=("Cores", "Memory", "Workers"))
    assert [part.text for part in parts] == [
        "TARGET.Cores >= 4",
        "(TARGET.Memory > 1 || TARGET.Workers > 2)",
    ]


# ClassAd truth: a Requirements matches only when it is exactly True; UNDEFINED (an attribute
# the other ad lacks) and ERROR (a type clash) never match, whichever side they are on.
@pytest.mark.parametrize(
    ("pool", "request_requirement", "pool_requirement", "match"),
    [
        ({"Cores": 4}, "TARGET.Cores >= 4", "true", True),
        ({"Cores": 2}, "TARGET.Cores >= 4", "true", False),
        ({}, "TARGET.Cores >= 4", "true", False),  # UNDEFINED
        ({"Cores": "four"}, "TARGET.Cores >= 4", "true", False),  # ERROR
        ({}, "isUndefined(TARGET.Cores)", "true", True),
        ({"Cores": 4}, "TARGET.Cores >= 4", "TARGET.Volume >= 10", False),  # the pool refuses
        ({"Cores": 4}, "TARGET.Cores >= 4", "TARGET.Volume >= 3", True),
        ({"Cores": 4}, "TARGET.Cores >= 4", "TARGET.Nothing > 1 || true", True),
        ({"Region": "EU-WEST"}, 'TARGET.Region == "eu-west"', "true", True),  # case-insensitive
        ({"Region": "EU-WEST"}, 'TARGET.Region =?= "eu-west"', "true", False),  # not is
    ],
)
def test_symmetric_match_follows_classad_truth(pool, request_requirement, pool_requirement, match):
    request = classads.ad(
        {"Volume": 3},
        Requirements=classads.Expression(
            request_requirement, classad2.ExprTree(request_requirement), frozenset(), frozenset()
        ),
    )
    pool_ad = classads.ad(
        pool,
        Requirements=classads.Expression(
            pool_requirement, classad2.ExprTree(pool_requirement), frozenset(), frozenset()
        ),
    )
    assert classads.symmetric_match(request, pool_ad) is match
    assert classads.symmetric_match(pool_ad, request) is match  # symmetric, as it says


def test_literals_round_trip_through_the_parser():
    for value in (0.155, 0.1 + 0.2, 3, True, "eu-west", 'say "hi"', ["a", "b"]):
        parsed = classad2.ExprTree(classads.literal(value)).eval()
        assert parsed == (list(value) if isinstance(value, list) else value)


def test_rank_is_a_number_and_zero_when_undefined():
    mine = classads.ad({"Cores": 4})
    other = classads.ad({"Volume": 5})
    assert classads.rank(pool_expression("TARGET.Volume * 2"), mine, other) == 10.0
    assert classads.rank(pool_expression("TARGET.Trust"), mine, other) == 0.0
    assert classads.rank(None, mine, other) == 0.0


def test_a_requirement_is_a_condition_and_a_rank_a_number():
    assert 'this is always the text "yes"' in refused('"yes"')
    assert "this is always the number 2" in refused("1 + 1")
    assert request_expression("true").text == "true"
    assert request_expression("TARGET.Cores >= 4").text  # depends on the pool: may hold
    rank = pool_expression("TARGET.Volume * 2", kind=classads.NUMBER)
    assert rank.text == "TARGET.Volume * 2"
    with pytest.raises(classads.ExpressionRefused, match="A rank is a number"):
        pool_expression('"first"', kind=classads.NUMBER)
    with pytest.raises(classads.ExpressionRefused, match="A requirement is a condition"):
        pool_expression("42", kind=classads.CONDITION)


@pytest.mark.parametrize(
    ("text", "kind", "says"),
    [
        ("UNDEFINED", classads.CONDITION, "this is always undefined"),
        ("ERROR", classads.CONDITION, "this is an error whatever the ads hold"),
        ("false", classads.CONDITION, "This requirement is always false: it would match nothing"),
        ('TARGET.Volume > "abc"', classads.CONDITION, "this is an error for any ads"),
        ('member("x", TARGET.Volume)', classads.CONDITION, "this is an error for any ads"),
        ("TARGET.AppName", classads.CONDITION, 'this gives the text "resvg" and the like'),
        ("UNDEFINED", classads.NUMBER, "A rank is a number, but this is always undefined"),
        ('"text" + 1', classads.NUMBER, "this is an error whatever the ads hold"),
        ("TARGET.AppName", classads.NUMBER, 'this gives the text "resvg" and the like'),
        ("true", classads.NUMBER, "this is always true"),
    ],
)
def test_an_expression_that_can_never_be_of_its_kind_is_refused(text, kind, says):
    with pytest.raises(classads.ExpressionRefused, match=re.escape(says)):
        pool_expression(text, kind=kind)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("true", classads.CONDITION),  # matches everything: allowed, if pointless
        ("TARGET.Volume / (TARGET.Volume - 10) > 2", classads.CONDITION),  # errs for one only
        ("TARGET.Volume <= 0", classads.CONDITION),  # false for both samples, not for all
        ("isUndefined(TARGET.Dataset)", classads.CONDITION),
        ("TARGET.RequesterDeals > 0", classads.NUMBER),  # HTCondor ranks true as 1
        ("ifThenElse(TARGET.Volume > 5, TARGET.Volume, 0)", classads.NUMBER),
    ],
)
def test_an_expression_that_may_be_of_its_kind_for_some_ads_is_kept(text, kind):
    assert pool_expression(text, kind=kind).text


def test_a_buyers_expression_that_is_never_a_condition_is_refused():
    for text, says in (("UNDEFINED", "always undefined"), ("TARGET.Name", "gives the text")):
        with pytest.raises(classads.ExpressionRefused, match=says):
            request_expression(text)
