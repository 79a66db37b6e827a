"""What one run of an app may consume (:class:`RunLimits`), and the limits of a category
(:func:`limits_for_category`): the same for every worker of a task, so that a limit stops the
app at the same point on each of them and their results agree.

The pool's scheduler sends these with each replicate (the site reads its fuel rate from its
settings); an agent falls back on them for a scheduler that sends none. Only the standard
library here: the site imports this module without the runtime (wasmtime).
"""

from __future__ import annotations

from dataclasses import dataclass

_MEGABYTE = 1024 * 1024

FUEL_PER_SECOND = 10_000_000_000
"""Fuel budget per second of a category's reference time: ten billion WebAssembly instructions.

Wasmtime burns one unit of fuel per WebAssembly instruction (structural ones such as ``block``
and ``end`` are free), including ``local.get``/``local.set`` that compile to no machine code,
so the rate depends on the code: measured on a development machine, 2.7 billion a second for a
call-heavy loop, 13.5 billion for resvg rendering a large SVG. At ten billion the fuel budget
and the wall clock are of the same order: a compute-bound app is stopped by fuel, at the same
instruction on every worker of a task (so their results agree), and the wall clock catches
apps that are slow for other reasons.
"""
DEFAULT_MEMORY_BYTES = 512 * _MEGABYTE
"""Linear memory an app may grow to, whatever its category."""
DEFAULT_OUTPUT_BYTES = 256 * _MEGABYTE
"""What an app may write into /output, stdout and stderr together: the result archive's size."""


@dataclass(frozen=True)
class RunLimits:
    """What one run may consume; every limit hit ends the run with its own failure reason."""

    fuel: int
    """WebAssembly instructions (about one fuel unit each)."""
    wall_clock_seconds: float
    memory_bytes: int
    """Largest size of the app's linear memory."""
    output_bytes: int
    """Largest total size of /output, stdout and stderr."""

    def __post_init__(self) -> None:
        if not 0 < self.fuel < 1 << 64:
            raise ValueError(f"fuel must be positive and fit in 64 bits, got {self.fuel}")
        if not self.wall_clock_seconds > 0:
            raise ValueError(f"wall_clock_seconds must be positive, got {self.wall_clock_seconds}")
        if self.memory_bytes <= 0:
            raise ValueError(f"memory_bytes must be positive, got {self.memory_bytes}")
        if self.output_bytes <= 0:
            raise ValueError(f"output_bytes must be positive, got {self.output_bytes}")


def limits_for_category(
    time_ref_seconds: int, *, fuel_per_second: int = FUEL_PER_SECOND
) -> RunLimits:
    """Return the run limits of a category whose reference time is ``time_ref_seconds``.

    The wall clock is the reference time itself (XS 300 s ... XL 36000 s), the fuel budget
    ``fuel_per_second`` (a pool's operator calibrates it to its workers' hardware) for each of
    those seconds, memory :data:`DEFAULT_MEMORY_BYTES` and output :data:`DEFAULT_OUTPUT_BYTES`.
    """
    if time_ref_seconds <= 0:
        raise ValueError(f"time_ref_seconds must be positive, got {time_ref_seconds}")
    if fuel_per_second <= 0:
        raise ValueError(f"fuel_per_second must be positive, got {fuel_per_second}")
    return RunLimits(
        fuel=time_ref_seconds * fuel_per_second,
        wall_clock_seconds=float(time_ref_seconds),
        memory_bytes=DEFAULT_MEMORY_BYTES,
        output_bytes=DEFAULT_OUTPUT_BYTES,
    )
