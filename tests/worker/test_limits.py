"""What a run may consume: a category's limits, and limits that are not limits at all."""

from __future__ import annotations

import pytest

from tests.worker.test_runtime import MIB, limits
from worker.limits import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_OUTPUT_BYTES,
    FUEL_PER_SECOND,
    RunLimits,
    limits_for_category,
)


@pytest.mark.parametrize("time_ref_seconds", [300, 36000])
def test_category_limits_derive_fuel_from_the_reference_time(time_ref_seconds: int) -> None:
    assert limits_for_category(time_ref_seconds) == RunLimits(
        fuel=time_ref_seconds * FUEL_PER_SECOND,
        wall_clock_seconds=float(time_ref_seconds),
        memory_bytes=DEFAULT_MEMORY_BYTES,
        output_bytes=DEFAULT_OUTPUT_BYTES,
    )
    assert DEFAULT_MEMORY_BYTES == 512 * MIB
    assert DEFAULT_OUTPUT_BYTES == 256 * MIB


def test_category_limits_need_a_positive_reference_time() -> None:
    with pytest.raises(ValueError, match="time_ref_seconds must be positive"):
        limits_for_category(0)


@pytest.mark.parametrize(
    "changes",
    [{"fuel": 0}, {"fuel": 1 << 64}, {"wall_clock_seconds": 0}, {"memory_bytes": -1}],
)
def test_run_limits_must_be_positive(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        limits(**changes)


def test_the_fuel_rate_given_sets_the_fuel_budget() -> None:
    assert limits_for_category(300, fuel_per_second=7).fuel == 2100
    with pytest.raises(ValueError, match="fuel_per_second must be positive"):
        limits_for_category(300, fuel_per_second=0)
