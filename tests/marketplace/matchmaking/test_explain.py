from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matchmaking import classads
from marketplace.matchmaking.adset import PoolAds
from marketplace.matchmaking.attributes import PoolAd, pool_expression, request_ad
from marketplace.matchmaking.explain import _simple_holds, explain
from marketplace.matchmaking.requirements import (
    Requirements,
    RequirementsRefused,
    clauses,
    conjunction,
    parse_requirements,
)

REGIONS = ("eu-west", "us-east", "ap-south")
REQUEST = {
    "Requester": "0x00000000000000000000000000000000000000b0",
    "RequesterDeals": 0,
    "Category": 1,
    "Volume": 2,
    "Trust": 1,
    "AppTags": ["image"],
}


def pool(n: int, **attributes) -> PoolAd:
    requirements = attributes.pop("requirements", None)
    base = {
        "Name": f"Pool {n:02d}",
        "Cores": 4,
        "Memory": 4096,
        "Region": "eu-west",
        "EnergyClass": "B",
        "Price": 0.1,
        "Trust": 5,
        "MedianSeconds": 60.0,
        "Reliability": 0.9,
    }
    base.update(attributes)
    return PoolAd(
        f"p{n}",
        base["Name"],
        base,
        requirements=pool_expression(requirements) if requirements else None,
    )


def catalogue_of_50() -> list[PoolAd]:
    """50 pools, built so that each count below is known:
    0-19 us-east (20), 20-29 ap-south (10), 30-49 eu-west (20); of the eu-west ones
    30-35 cost 0.3 (6), 36-37 have 2 cores (2), 38-39 have no timing (2), 40 refuses
    requesters without deals (1), 41 has no offer (1), 42-49 fit (8)."""
    ads = [pool(n, Region="us-east") for n in range(20)]
    ads += [pool(n, Region="ap-south", Price=0.5) for n in range(20, 30)]
    ads += [pool(n, Price=0.3) for n in range(30, 36)]
    ads += [pool(n, Cores=2) for n in range(36, 38)]
    ads += [pool(n, MedianSeconds=None) for n in range(38, 40)]
    ads += [pool(40, requirements="TARGET.RequesterDeals >= 1")]
    no_offer = pool(41)
    no_offer.no_offer = "no open offer for S tasks"
    ads.append(no_offer)
    ads += [pool(n) for n in range(42, 50)]
    return ads


WANTS = Requirements(region="eu-west", max_price=Decimal("0.2"), cores=4, deadline_minutes=5)


def test_the_explanation_counts_what_each_condition_rules_out_on_50_pools():
    explanation = explain(catalogue_of_50(), request=REQUEST, found=clauses(WANTS))
    assert explanation.total == 50
    assert [ad.key for ad in explanation.fitting] == [f"p{n}" for n in range(42, 50)]
    by_key = {item.key: item for item in explanation.ruled_out}
    # A pool may fail several conditions (count); each is told once, at its first (first).
    assert (by_key["offer"].count, by_key["offer"].first) == (1, 1)
    assert (by_key["region"].count, by_key["region"].first) == (30, 30)
    assert (by_key["cores"].count, by_key["cores"].first) == (2, 2)
    assert (by_key["max_price"].count, by_key["max_price"].first) == (16, 6)  # 10 ap-south too
    assert (by_key["deadline_minutes"].count, by_key["deadline_minutes"].first) == (2, 2)
    assert (by_key["pool"].count, by_key["pool"].first) == (1, 1)
    assert sum(item.first for item in explanation.ruled_out) + 8 == 50
    assert explanation.sentence == (
        "Of 50 pools, 1 has no open offer for S tasks, 30 are outside eu-west, 2 have fewer "
        "than 4 cores, 6 cost more than 0.2 ECT per task, 2 do not finish within 5 minutes "
        "(or have no timing yet), 1 refuses this request by its own requirements; 8 can run "
        "it: Pool 42, Pool 43, Pool 44 and 5 more."
    )
    assert [(r.name, r.condition) for r in explanation.refusals] == [
        ("Pool 40", "TARGET.RequesterDeals >= 1")
    ]


def test_each_suggestion_lets_in_as_many_pools_as_it_says():
    ads = catalogue_of_50()
    before = explain(ads, request=REQUEST, found=clauses(WANTS))
    assert [s.words for s in before.suggestions] == [
        "choose us-east instead: 20 more pools",
        "raise max price to 0.3 ECT: 6 more pools",
        "ask for 2 cores: 2 more pools",
    ]
    for suggestion in before.suggestions:
        changed = dataclasses.replace(WANTS, **{suggestion.field: suggestion.value})
        after = explain(ads, request=REQUEST, found=clauses(changed))
        gained = {ad.key for ad in after.fitting} - {ad.key for ad in before.fitting}
        assert len(gained) == suggestion.count, suggestion.words


def test_nothing_matches_says_none_and_how_to_get_one():
    ads = [pool(1, Price=0.5, Region="us-east"), pool(2, Price=0.3)]
    explanation = explain(
        ads,
        request=REQUEST,
        found=clauses(Requirements(region="eu-west", max_price=Decimal("0.2"))),
    )
    assert explanation.fitting == []
    assert explanation.sentence == (
        "Of 2 pools, 1 is outside eu-west, 1 costs more than 0.2 ECT per task; none can run it."
    )
    assert explanation.suggestions[0].words == "raise max price to 0.3 ECT: 1 more pool"
    assert explanation.suggestions[0].pools == ("Pool 02",)


def test_when_no_one_change_lets_a_pool_in_two_changes_together_are_suggested():
    ads = [pool(1, Price=0.5, Cores=4), pool(2, Price=0.3, Cores=8), pool(3, Region="us-east")]
    wants = Requirements(region="eu-west", cores=64, max_price=Decimal("0.01"))

    before = explain(ads, request=REQUEST, found=clauses(wants))

    assert before.fitting == []
    assert [(s.words, s.field, s.value, s.also) for s in before.suggestions] == [
        (
            "ask for 8 cores and raise max price to 0.3 ECT: 1 more pool",
            "cores",
            8,
            (("max_price", "0.3"),),
        )
    ]
    suggestion = before.suggestions[0]
    changed = dataclasses.replace(
        wants,
        **{suggestion.field: suggestion.value},
        **{field: Decimal(value) for field, value in suggestion.also},
    )
    after = explain(ads, request=REQUEST, found=clauses(changed))
    assert [ad.name for ad in after.fitting] == ["Pool 02"] == list(suggestion.pools)


def test_no_pool_at_all_is_said_plainly():
    explanation = explain([], request=REQUEST, found=clauses(WANTS))
    assert explanation.sentence == "No pool is offering work right now."


def test_the_advanced_expression_and_the_apps_requirement_are_conditions_too():
    ads = [pool(1, Memory=256), pool(2, Memory=8192, Workers=1), pool(3, Memory=8192, Workers=9)]
    found = clauses(
        Requirements(expression="TARGET.Workers >= 3"),
        app_requirement="TARGET.Memory >= 512",
        app_name="resvg",
    )
    explanation = explain(ads, request=REQUEST, found=found)
    assert [ad.key for ad in explanation.fitting] == ["p3"]
    assert [(item.words, item.first_words) for item in explanation.ruled_out] == [
        (
            "1 does not meet what resvg requires (TARGET.Memory >= 512)",
            "1 does not meet what resvg requires (TARGET.Memory >= 512)",
        ),
        # Pool 1 fails both: it is told once in the sentence, at the app's requirement.
        ("2 do not meet your expression", "1 does not meet your expression"),
    ]
    assert explanation.suggestions[0].words == "drop your expression: 1 more pool"


def test_parse_requirements_names_the_field_it_refuses():
    cases = {
        "cores": ("many", "Cores is a whole number"),
        "memory_mb": ("0", "Memory (MiB) is between 1 and"),
        "region": ("mars", "Region is one of eu-west"),
        "energy_class": ("Z", "Energy class is one of A, B, C, D, E."),
        "max_price": ("cheap", "Max price is an amount of ECT"),
        "deadline_minutes": ("-3", "Deadline (minutes) is between 1 and"),
        "expression": ("TARGET.Cores >=", "Not a ClassAd expression"),
    }
    for field, (value, says) in cases.items():
        with pytest.raises(RequirementsRefused) as caught:
            parse_requirements({field: value}, regions=REGIONS)
        assert caught.value.field == field
        assert says in str(caught.value)
    for nan in ("NaN", "Infinity", "-1"):
        with pytest.raises(RequirementsRefused):
            parse_requirements({"max_price": nan}, regions=REGIONS)


@pytest.mark.parametrize("price", ["1e400", "-0.1", "NaN", "Infinity"])
def test_a_max_price_out_of_range_says_the_range(price):
    with pytest.raises(RequirementsRefused) as caught:
        parse_requirements({"max_price": price}, regions=REGIONS)

    assert str(caught.value) == "Max price is an amount of ECT between 0 and 1,000,000,000."


def test_parse_requirements_reads_form_strings():
    wants = parse_requirements(
        {"cores": "4", "region": "EU-West", "energy_class": "b", "max_price": "0.25", "cores2": 1},
        regions=REGIONS,
    )
    assert wants == Requirements(
        cores=4, region="eu-west", energy_class="B", max_price=Decimal("0.25")
    )
    assert wants.as_dict() == {
        "cores": 4,
        "region": "eu-west",
        "energy_class": "B",
        "max_price": "0.25",
    }


# The fast path of the simple fields, the memo by what an expression reads, and the split
# into clauses must give HTCondor's own symmetric match on the whole ads.
pools = st.builds(
    dict,
    Cores=st.sampled_from([None, 1, 2, 4, 8]),
    Memory=st.sampled_from([None, 512, 4096]),
    Region=st.sampled_from([None, *REGIONS, "EU-WEST"]),
    EnergyClass=st.sampled_from([None, "A", "b", "C", "E"]),
    Price=st.sampled_from([None, 0.05, 0.1, 0.2, 0.2000001, 0.3]),
    Trust=st.sampled_from([None, 0, 1, 5, 9]),
    MedianSeconds=st.sampled_from([None, 10.0, 300.0, 301.0]),
    Workers=st.sampled_from([None, 0, 3]),
)
pool_requirements = st.sampled_from(
    [
        None,
        "TARGET.Volume >= 2",
        "TARGET.Volume >= 3",
        "TARGET.RequesterDeals >= 1 || MY.Cores >= 4",
        'member("image", TARGET.AppTags) && TARGET.Trust <= MY.Trust',
        "isUndefined(MY.MedianSeconds) || MY.MedianSeconds < 100",
    ]
)
wants = st.builds(
    Requirements,
    cores=st.sampled_from([None, 2, 4]),
    memory_mb=st.sampled_from([None, 1024]),
    region=st.sampled_from(["", "eu-west"]),
    energy_class=st.sampled_from(["", "B"]),
    max_price=st.sampled_from([None, Decimal("0.2")]),
    trust=st.sampled_from([None, 5]),
    deadline_minutes=st.sampled_from([None, 5]),
    expression=st.sampled_from(["", "TARGET.Workers >= 1", "TARGET.Cores * 1024 <= TARGET.Memory"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(pools, pool_requirements), min_size=1, max_size=12), wants)
def test_the_explanation_fits_exactly_the_pools_htcondor_matches(pool_specs, requirements):
    ads = []
    for n, (attributes, requirement) in enumerate(pool_specs):
        ad = PoolAd(
            f"p{n}",
            f"Pool {n}",
            {k: v for k, v in attributes.items() if v is not None},
            requirements=pool_expression(requirement) if requirement else None,
        )
        ads.append(ad)
    found = clauses(
        requirements, app_requirement="TARGET.Memory >= 512 || isUndefined(TARGET.Memory)"
    )
    explanation = explain(ads, request=REQUEST, found=found)
    request = request_ad(REQUEST, conjunction(found))
    expected = [ad.key for ad in ads if classads.symmetric_match(request, ad.classad())]
    assert [ad.key for ad in explanation.fitting] == expected
    columns = PoolAds(ads)
    for clause in found:  # and each simple field, compared by column, is the expression's value
        if clause.simple is not None:
            held = _simple_holds(columns, *clause.simple).tolist()
            truth = [classads.holds(clause.expression, request, ad.classad()) for ad in ads]
            assert held == truth, (clause.expression.text, [ad.attributes for ad in ads])


def test_pools_sharing_a_requirement_are_each_judged_on_their_own_attributes():
    rule = "TARGET.RequesterDeals >= 1 || MY.Cores >= 4"
    ads = [pool(1, Cores=2, requirements=rule), pool(2, Cores=8, requirements=rule)]
    ads += [pool(3, Memory=256), pool(4, Memory=1024)]
    found = clauses(Requirements(expression="TARGET.Memory >= 512"))
    explanation = explain(ads, request=REQUEST, found=found)
    assert [ad.key for ad in explanation.fitting] == ["p2", "p4"]
    assert [(r.name, r.condition) for r in explanation.refusals] == [("Pool 01", rule)]


def test_a_set_of_ads_asked_again_gives_the_same_answer_for_another_request():
    rule = "TARGET.RequesterDeals >= 1 || MY.Cores >= 4"
    pools = PoolAds([pool(1, Cores=2, requirements=rule), pool(2, Cores=2, requirements=rule)])
    newcomer = explain(pools, request=REQUEST, found=[])
    regular = explain(pools, request={**REQUEST, "RequesterDeals": 3}, found=[])
    assert (len(newcomer.fitting), len(regular.fitting)) == (0, 2)
