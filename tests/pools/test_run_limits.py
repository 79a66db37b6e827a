"""The limits the pools' scheduler sends its workers: at the site's calibrated fuel rate."""

from __future__ import annotations

from pools.run_limits import limits_for_category
from worker import limits


def test_the_scheduler_sends_the_category_limits_at_the_sites_fuel_rate(settings) -> None:
    settings.SANDBOX_FUEL_PER_SECOND = 3_000_000

    sent = limits_for_category(300)

    assert sent == limits.limits_for_category(300, fuel_per_second=3_000_000)
    assert sent.fuel == 900_000_000
