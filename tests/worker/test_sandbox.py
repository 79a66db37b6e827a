"""Apps run in a child process the agent can always stop (worker.sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.worker.test_runtime import printer, wat_program
from worker.limits import RunLimits
from worker.sandbox import run_isolated

MIB = 1024 * 1024


@pytest.fixture
def folders(tmp_path: Path):
    (tmp_path / "input").mkdir()
    return tmp_path


def _run(folders: Path, wasm: bytes, *, seconds: float = 5.0, progress=None):
    path = folders / "app.wasm"
    path.write_bytes(wasm)
    return run_isolated(
        path,
        cache_dir=folders / "cache",
        args=[],
        input_dir=folders / "input",
        output_dir=folders / "output",
        limits=RunLimits(
            fuel=10**10, wall_clock_seconds=seconds, memory_bytes=16 * MIB, output_bytes=MIB
        ),
        on_progress=progress,
    )


def test_an_app_runs_in_the_child_and_its_progress_and_output_come_back(folders):
    seen = []
    result = _run(folders, wat_program("progress.wat"), progress=seen.append)
    assert (result.ok, result.exit_code, result.failure) == (True, 0, "")
    assert 75.0 in [p.percent for p in seen] and seen[-1].percent == 100.0
    assert "rendering" in result.stdout_path.read_text()
    assert list((folders / "cache").iterdir())  # compiled once, for the next run


def test_an_app_asleep_in_a_system_call_is_killed_past_its_wall_clock(folders):
    result = _run(folders, wat_program("sleeper.wat"), seconds=0.5)
    assert (result.ok, result.exit_code) == (False, None)
    assert result.failure == "out of time (0.5 s): stopped while waiting in a system call"


def test_an_app_executing_webassembly_is_stopped_by_the_runtime_itself(folders):
    result = _run(folders, wat_program("spin.wat"), seconds=0.5)
    assert (result.ok, result.failure) == (False, "out of time (0.5 s)")


def test_a_file_that_is_not_webassembly_is_a_failed_run_with_its_reason(folders):
    result = _run(folders, b"\0asm\x01\0\0\0garbage")
    assert not result.ok and result.failure.startswith("the app cannot run: ")
    assert _run(folders, printer(b"still fine\n")).ok  # the sandbox serves the next run
