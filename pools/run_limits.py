"""The run limits this site's pools send their workers with each replicate: the worker's limits
of the task's category, at the fuel rate the pools' operator calibrated to its workers'
hardware (SANDBOX_FUEL_PER_SECOND)."""

from __future__ import annotations

from django.conf import settings

from worker import limits
from worker.limits import RunLimits


def limits_for_category(time_ref_seconds: int) -> RunLimits:
    """The limits of a category whose reference time is `time_ref_seconds` (worker.limits)."""
    return limits.limits_for_category(
        time_ref_seconds, fuel_per_second=settings.SANDBOX_FUEL_PER_SECOND
    )
