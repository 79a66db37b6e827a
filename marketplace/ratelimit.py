"""Rate limits counted in the Django cache (Redis in production, so every process shares them).

A limit allows `count` turns per window of `seconds`, per identity (a user, a wallet, a client
address): the window opens with the first turn and the count starts again when it ends. Turns
are taken with the cache's atomic increment, so concurrent requests cannot overrun a limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PERIOD_NAMES = {1: "a second", 60: "a minute", 3600: "an hour", 86400: "a day"}
_RATE = re.compile(r"(\d{1,9})/(\d{0,9})(s|sec|second|m|min|minute|h|hour|d|day)")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str, *, setting: str = "") -> Rate:
        """ "5/min", "20/hour", "1/day", "3/15min": turns per period, as DRF writes rates."""
        match = _RATE.fullmatch(text.strip().lower())
        if not match or int(match[1]) < 1 or int(match[2] or 1) < 1:
            raise ImproperlyConfigured(
                f"{setting or 'A rate'} is {text!r}, not a rate: write turns per period, such "
                'as "5/min", "20/hour" or "3/15min" (periods: s, min, hour, day).'
            )
        return cls(count=int(match[1]), seconds=int(match[2] or 1) * _PERIODS[match[3][0]])

    @property
    def period(self) -> str:
        """ "a minute", "an hour", "15 min"."""
        return _PERIOD_NAMES.get(self.seconds) or wait_text(self.seconds)

    def __str__(self) -> str:
        """ "5 a minute", "3 per 15 min"."""
        if self.seconds in _PERIOD_NAMES:
            return f"{self.count} {self.period}"
        return f"{self.count} per {self.period}"


@dataclass(frozen=True)
class Limit:
    """`rate` for one identity: `scope` names what is limited and per what ("comment:ip")."""

    scope: str
    ident: str
    rate: Rate

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.ident.encode()).hexdigest()[:32]
        return f"ratelimit:{self.scope}:{digest}"


@dataclass(frozen=True)
class Refused:
    """The limit that has no turn left, and the seconds until it has one again."""

    limit: Limit
    wait: int

    @property
    def wait_text(self) -> str:
        return wait_text(self.wait)


def take(*limits: Limit, lock: bool = False) -> Refused | None:
    """Take one turn of each of `limits`, or of none: None when all had one left, else the
    first that had none (the turns taken of the others are given back).

    With `lock`, a limit's last turn restarts its window: once reached, a limit lasts a whole
    window from its last turn (a lockout), not what remains of the window it filled."""
    taken: list[Limit] = []
    for limit in limits:
        count = _increment(limit)
        if count > limit.rate.count:
            give_back(limit, *taken)
            return Refused(limit=limit, wait=_seconds_left(limit))
        if lock and count == limit.rate.count:
            _restart_window(limit)
        taken.append(limit)
    return None


def give_back(*limits: Limit) -> None:
    """Return a turn taken (by `take`) of each of `limits`, e.g. when what it paid for failed."""
    for limit in limits:
        with contextlib.suppress(ValueError):  # its window ended meanwhile: nothing to give
            cache.decr(limit.key)


def reset(*limits: Limit) -> None:
    """Forget every turn taken of `limits`."""
    cache.delete_many([key for limit in limits for key in (limit.key, _end_key(limit))])


def wait_text(seconds: int) -> str:
    """A wait for people: "45 s", "15 min", "2 h 5 min" (rounded up, never shorter)."""
    if seconds < 60:
        return f"{max(1, seconds)} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _increment(limit: Limit) -> int:
    seconds = limit.rate.seconds
    if cache.add(limit.key, 0, timeout=seconds):
        cache.set(_end_key(limit), _now() + seconds, timeout=seconds)
    try:
        return cache.incr(limit.key)
    except ValueError:  # the window ended between add and incr: this turn opens the next one
        cache.set(limit.key, 1, timeout=seconds)
        cache.set(_end_key(limit), _now() + seconds, timeout=seconds)
        return 1


def _restart_window(limit: Limit) -> None:
    seconds = limit.rate.seconds
    cache.touch(limit.key, timeout=seconds)
    cache.set(_end_key(limit), _now() + seconds, timeout=seconds)


def _seconds_left(limit: Limit) -> int:
    end = cache.get(_end_key(limit))
    if end is None:
        return limit.rate.seconds
    return max(1, math.ceil(end - _now()))


def _now() -> float:
    """The limiter's clock (wall time: windows end at a moment every process agrees on)."""
    return time.time()


def _end_key(limit: Limit) -> str:
    return f"{limit.key}:ends"
