"""Rate limits in the cache: turns per window per identity, all or none taken, given back."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from marketplace import ratelimit
from marketplace.ratelimit import Limit, Rate


def limit(ident: str = "alice", count: int = 2, seconds: int = 60, scope: str = "t:user"):
    return Limit(scope=scope, ident=ident, rate=Rate(count=count, seconds=seconds))


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("5/min", Rate(5, 60)),
        ("5/m", Rate(5, 60)),
        (" 20/Hour ", Rate(20, 3600)),
        ("1/day", Rate(1, 86400)),
        ("10/s", Rate(10, 1)),
        ("3/15min", Rate(3, 900)),
        ("600/minute", Rate(600, 60)),
    ],
)
def test_rates_parse_as_drf_writes_them(text, rate):
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["", "5", "five/min", "0/min", "5/0min", "5/week", "-1/min"])
def test_a_malformed_rate_names_its_setting_and_the_form(text):
    with pytest.raises(ImproperlyConfigured, match=r"COMMENT_RATE is .*, not a rate: write turns"):
        Rate.parse(text, setting="COMMENT_RATE")


def test_rates_read_as_people_say_them():
    assert str(Rate(5, 60)) == "5 a minute"
    assert str(Rate(3, 3600)) == "3 an hour"
    assert str(Rate(3, 900)) == "3 per 15 min"
    assert Rate(1, 86400).period == "a day"


def test_turns_run_out_and_say_when_they_come_back():
    assert ratelimit.take(limit()) is None
    assert ratelimit.take(limit()) is None

    refused = ratelimit.take(limit())

    assert refused.limit == limit()
    assert 59 <= refused.wait <= 60
    assert refused.wait_text == "1 min"


def test_identities_and_scopes_are_counted_apart():
    ratelimit.take(limit(count=1))

    assert ratelimit.take(limit("bob", count=1)) is None
    assert ratelimit.take(limit(count=1, scope="t:ip")) is None
    assert ratelimit.take(limit(count=1)) is not None


def test_a_refusal_takes_no_turn_of_any_limit():
    user, ip = limit("alice", count=5), limit("203.0.113.7", count=1, scope="t:ip")
    ratelimit.take(ip)

    refused = ratelimit.take(user, ip)

    assert refused.limit == ip
    ratelimit.reset(ip)
    for _ in range(5):  # alice still has all her turns
        assert ratelimit.take(user) is None
    assert ratelimit.take(user) is not None


def test_a_turn_given_back_can_be_taken_again():
    ratelimit.take(limit(count=1))
    ratelimit.give_back(limit(count=1))

    assert ratelimit.take(limit(count=1)) is None
    assert ratelimit.take(limit(count=1)) is not None


def test_giving_back_after_the_window_ended_is_harmless():
    ratelimit.give_back(limit(count=1))

    assert ratelimit.take(limit(count=1)) is None
    assert ratelimit.take(limit(count=1)) is not None


def test_reset_forgets_every_turn():
    ratelimit.take(limit(count=1))

    ratelimit.reset(limit(count=1))

    assert ratelimit.take(limit(count=1)) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "1 s"),
        (1, "1 s"),
        (59, "59 s"),
        (60, "1 min"),
        (61, "2 min"),
        (900, "15 min"),
        (3600, "1 h"),
        (3660, "1 h 1 min"),
        (7499, "2 h 5 min"),
    ],
)
def test_wait_text(seconds, text):
    assert ratelimit.wait_text(seconds) == text
