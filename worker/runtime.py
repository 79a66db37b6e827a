"""The WebAssembly runtime, which compiles and runs apps. It and worker.inspection (which checks
uploads) are the only modules of the project that import wasmtime.

- :func:`compile_app` compiles an app for running, through a cache of compiled modules.
- :func:`run_wasi` runs an app in a sandbox, as a worker agent does for a task: WASI preview 1
  only (no sockets, nothing else linked), the input folder read-only at ``/input`` (also the
  working folder, for relative paths), the output folder at ``/output``, only the given
  arguments and environment, stdout and stderr captured to files; bounded by fuel, wall-clock
  time, memory and output size (worker.limits).

Progress convention: an app reports its progress by printing a line on stdout (ended by a
newline) of the form ``progress: <percent>[%] [message]``, e.g. ``progress: 42`` or
``progress: 42.5% page 3 of 7`` (case-insensitive, surrounding spaces ignored, percent clamped
to 0..100). An app that prints none gets its progress estimated from the fuel it burnt against
its fuel budget, capped at 99 % until it succeeds.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.metadata
import logging
import math
import os
import platform
import re
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import wasmtime
from wasmtime import _ffi as wasmtime_ffi

from worker.inspection import ENTRY_POINT, UPLOAD_HINT, InvalidWasm, check_header
from worker.limits import RunLimits
from worker.results import UnsafeOutput, check_output, output_size

__all__ = [
    "INPUT_GUEST_PATH",
    "OUTPUT_GUEST_PATH",
    "CompiledApp",
    "Progress",
    "RunResult",
    "compile_app",
    "run_wasi",
]

logger = logging.getLogger(__name__)

_MEGABYTE = 1024 * 1024

INPUT_GUEST_PATH = "/input"
OUTPUT_GUEST_PATH = "/output"

_EPOCH_TICK_SECONDS = 0.05
_WATCH_INTERVAL_SECONDS = 0.25  # so on_progress is called at most four times a second
_OUTPUT_SCAN_EVERY = 4  # watch polls; stdout and stderr sizes are checked at every poll
_MAX_STDOUT_READ = 1 << 20
_MAX_PROGRESS_LINE = 4096
_MAX_PROGRESS_MESSAGE = 200
_FUEL_PROGRESS_CAP = 99.0  # a fuel estimate never claims the run is done

# The store limits cover linear memories only, so tables and memory counts are capped too: a
# module declaring many memories or huge tables must not get past the memory limit.
_MAX_MEMORIES = 1
_MAX_TABLES = 8
_MAX_TABLE_ELEMENTS = 1 << 20

# Values of the wasmtime C API (wasmtime/trap.h, wasmtime/store.h). wasmtime-py's own trap code
# enums stop before OUT_OF_FUEL (or are off by one), so the raw values are used.
_TRAP_CODE_OUT_OF_FUEL = 12
_UPDATE_DEADLINE_CONTINUE = 0

# wasmtime-py does not wrap the epoch deadline callback of the C API; ctypes caches function
# types, so these are the very types its generated bindings declare.
_EpochDeadlineCallback = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.POINTER(wasmtime_ffi.wasmtime_context_t),
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.POINTER(wasmtime_ffi.wasmtime_update_deadline_kind_t),
)
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()

# Everything that changes the code wasmtime generates; part of the compiled-module cache key.
_ENGINE_SETTINGS = "consume_fuel=1 epoch_interruption=1 wasm_threads=0"

_PROGRESS_LINE = re.compile(
    rb"^\s*progress:\s*(?P<percent>\d+(?:\.\d+)?)\s*%?(?:\s+(?P<message>.*?))?\s*$",
    re.IGNORECASE,
)

ProgressSource = Literal["app", "fuel"]


@dataclass(frozen=True)
class Progress:
    """How far a run has got, as reported to ``on_progress``."""

    percent: float
    source: ProgressSource
    """``"app"`` from the app's progress lines, ``"fuel"`` estimated from the fuel burnt."""
    message: str


@dataclass(frozen=True)
class RunResult:
    """How a run ended. ``failure`` is empty exactly when ``ok``."""

    ok: bool
    exit_code: int | None
    """The app's exit status; None when it did not exit (a trap or a limit stopped it)."""
    failure: str
    fuel_used: int
    seconds: float
    stdout_path: Path
    stderr_path: Path


@dataclass(frozen=True, eq=False)
class CompiledApp:
    """An app compiled by :func:`compile_app`, ready for :func:`run_wasi`."""

    sha256: str
    """Hex SHA-256 of the app's WebAssembly bytes."""
    from_cache: bool
    """Whether the compiled code was loaded from the cache instead of being compiled."""
    module: wasmtime.Module = field(repr=False)


def compile_app(wasm: bytes, *, cache_dir: Path | None) -> CompiledApp:
    """Compile the WebAssembly binary ``wasm`` for :func:`run_wasi`, through a cache.

    Compiling a real app takes seconds; loading its compiled code from ``cache_dir`` takes
    milliseconds. Cache files are named after the sha256 of the app, a fingerprint of the
    wasmtime version and engine settings, and the sha256 of their own content, which is checked
    before loading: a corrupt or incompatible file is deleted and the app compiled again. Writes
    go to a temporary file renamed into place, so concurrent workers never see half a file.
    Failing to write the cache is logged, not raised. ``cache_dir`` None disables the cache.

    Raises :class:`InvalidWasm` when ``wasm`` is not a WebAssembly module wasmtime can compile.
    """
    wasm = bytes(wasm)
    check_header(wasm)
    sha256 = hashlib.sha256(wasm).hexdigest()
    engine = _run_engine()
    if cache_dir is not None:
        module = _load_cached_module(engine, Path(cache_dir), sha256)
        if module is not None:
            return CompiledApp(sha256=sha256, from_cache=True, module=module)
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as error:
        raise InvalidWasm(
            f"The WebAssembly module cannot be compiled ({_error_reason(error)}): {UPLOAD_HINT} "
            "again, built for wasm32-wasip1."
        ) from error
    if cache_dir is not None:
        _store_cached_module(module, Path(cache_dir), sha256)
    return CompiledApp(sha256=sha256, from_cache=False, module=module)


def run_wasi(
    module: CompiledApp | bytes,
    *,
    args: Sequence[str],
    input_dir: Path,
    output_dir: Path,
    limits: RunLimits,
    env: Mapping[str, str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    app_name: str = "app",
    log_dir: Path | None = None,
) -> RunResult:
    """Run a WASI command in the sandbox and report how it ended.

    The app sees ``argv = [app_name, *args]``, exactly the variables of ``env``, ``input_dir``
    read-only at ``/input`` and as its working folder, ``output_dir`` read-write at ``/output``,
    and nothing else: WASI preview 1 has no way to open sockets, and nothing but WASI is linked.
    Its stdout and stderr go to ``stdout.txt`` and ``stderr.txt`` in ``log_dir`` (by default
    the parent of ``output_dir``, the task's work folder); they count towards the output limit.

    The app runs in a thread of its own while the calling thread watches it: ``on_progress`` is
    called from the calling thread, at most four times a second, with percents that never go
    down, and with 100 % once the run succeeded. An exception it raises is logged and ends the
    reporting, not the run. The progress line convention is in the module docstring.
    Ctrl-C (KeyboardInterrupt) during a run stops the app, then is raised again. Runs in several
    threads at once are independent.

    Preconditions: ``input_dir`` is a folder; ``output_dir`` is missing or empty (whatever it
    holds would go into the result); ``log_dir`` and both folders do not overlap. Breaking one
    raises ``ValueError``; so do arguments or environment variables holding NUL bytes. Passing
    bytes instead of a :class:`CompiledApp` compiles them without a cache (:class:`InvalidWasm`).
    Whatever the app does is reported in the :class:`RunResult`, never raised.

    Limitations: limits are checked while the app executes WebAssembly, not while it waits in
    a WASI call: ``poll_oneoff`` may sleep past the wall clock, and ``run_wasi`` waits for it
    (the run then fails, out of time). Output is watched four times a second, so an app may
    overshoot the output limit by what it writes meanwhile before it is stopped. The fuel used
    by a run stopped for time may be under-counted by the fuel of the call-free loop it was
    stopped in (wasmtime keeps the counter in a register there).
    """
    app = module if isinstance(module, CompiledApp) else compile_app(module, cache_dir=None)
    input_dir, output_dir = Path(input_dir).absolute(), Path(output_dir).absolute()
    log_dir = output_dir.parent if log_dir is None else Path(log_dir).absolute()
    _prepare_folders(input_dir, output_dir, log_dir)
    env = dict(env or {})
    _check_strings(app_name, args, env)
    stdout_path, stderr_path = log_dir / "stdout.txt", log_dir / "stderr.txt"

    engine = _run_engine()
    store = wasmtime.Store(engine)
    store.set_wasi(
        _wasi_config(app_name, args, env, input_dir, output_dir, stdout_path, stderr_path)
    )
    store.set_fuel(limits.fuel)
    store.set_limits(
        memory_size=limits.memory_bytes,
        table_elements=_MAX_TABLE_ELEMENTS,
        instances=1,
        tables=_MAX_TABLES,
        memories=_MAX_MEMORIES,
    )
    state = _RunState(limits)
    # Kept referenced until the run is over: wasmtime holds only the raw function pointer.
    callback = _EpochDeadlineCallback(state.on_epoch_deadline)
    wasmtime_ffi.wasmtime_store_epoch_deadline_callback(store.ptr(), callback, None, _NO_FINALIZER)
    store.set_epoch_deadline(1)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    execution = _Execution(store, linker, app.module)
    watcher = _Watcher(state, stdout_path, stderr_path, output_dir, on_progress)

    started = time.monotonic()
    state.deadline = started + limits.wall_clock_seconds
    execution.start()
    try:
        polls = 0
        while not execution.finished.wait(_WATCH_INTERVAL_SECONDS):
            polls += 1
            watcher.poll(scan_output=polls % _OUTPUT_SCAN_EVERY == 0)
        seconds = time.monotonic() - started
        watcher.poll(scan_output=False)  # the app's last progress line counts too
    except BaseException:
        # Ctrl-C while waiting: stop the app (at its next epoch tick) before leaving.
        state.stop("interrupted")
        execution.join()
        raise
    finally:
        watcher.close()
    execution.join()
    if execution.crash is not None:
        raise execution.crash
    fuel_used = limits.fuel - store.get_fuel()

    failure = state.stop_reason or _failure(
        execution.error, execution.exit_code, limits, _memory_size(execution.instance, store)
    )
    if not failure and seconds > limits.wall_clock_seconds:
        # The app overran while waiting in WASI, where no epoch check stops it (see above).
        failure = _out_of_time(limits)
    if not failure:
        failure = _check_final_output(output_dir, stdout_path, stderr_path, limits)
    if not failure:
        watcher.report(Progress(percent=100.0, source=watcher.source, message="finished"))
    del callback  # only now may it go: the store runs no more code
    return RunResult(
        ok=not failure,
        exit_code=execution.exit_code,
        failure=failure,
        fuel_used=fuel_used,
        seconds=seconds,
        stdout_path=stdout_path,
        stderr_path=stderr_path,
    )


_engine_lock = threading.Lock()
_engine: wasmtime.Engine | None = None


def _run_engine() -> wasmtime.Engine:
    """The engine every app is compiled, cached and run with, and its epoch ticker thread.

    Engines are thread-safe; one is shared so that compiled modules can be used by any run.
    """
    global _engine
    with _engine_lock:
        if _engine is None:
            config = wasmtime.Config()
            config.consume_fuel = True
            config.epoch_interruption = True
            # No shared memories: WASI preview 1 cannot start threads anyway.
            config.wasm_threads = False
            engine = wasmtime.Engine(config)
            ticker = threading.Thread(
                target=_tick_epochs, args=(engine,), name="wasm-epoch-ticker", daemon=True
            )
            ticker.start()
            _engine = engine
        return _engine


def _tick_epochs(engine: wasmtime.Engine) -> None:
    """Advance the engine's epoch forever; each tick lets every running store check its limits."""
    while True:
        time.sleep(_EPOCH_TICK_SECONDS)
        engine.increment_epoch()


@functools.cache
def _engine_fingerprint() -> str:
    version = importlib.metadata.version("wasmtime")
    settings = f"wasmtime {version}; {platform.machine()}; {_ENGINE_SETTINGS}"
    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def _cache_prefix(wasm_sha256: str) -> str:
    return f"{wasm_sha256}-{_engine_fingerprint()}-"


_CACHE_SUFFIX = ".cwasm"


def _load_cached_module(
    engine: wasmtime.Engine, cache_dir: Path, wasm_sha256: str
) -> wasmtime.Module | None:
    prefix = _cache_prefix(wasm_sha256)
    for path in sorted(cache_dir.glob(f"{prefix}*{_CACHE_SUFFIX}")):
        expected = path.name[len(prefix) : -len(_CACHE_SUFFIX)]
        try:
            # Deserializing trusts the file to hold code wasmtime generated: check it first.
            with path.open("rb") as file:
                actual = hashlib.file_digest(file, "sha256").hexdigest()
            if actual == expected:
                return wasmtime.Module.deserialize_file(engine, os.fspath(path))
            logger.warning(
                "Compiled module %s is corrupt (sha256 %s): compiling again", path, actual
            )
        except (OSError, wasmtime.WasmtimeError) as error:
            logger.warning("Compiled module %s cannot be loaded (%s): compiling again", path, error)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            logger.warning("Corrupt compiled module %s cannot be deleted: %s", path, error)
    return None


def _store_cached_module(module: wasmtime.Module, cache_dir: Path, wasm_sha256: str) -> None:
    try:
        serialized = module.serialize()
        digest = hashlib.sha256(serialized).hexdigest()
        cache_dir.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=cache_dir, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(serialized)
            os.replace(
                temporary, cache_dir / f"{_cache_prefix(wasm_sha256)}{digest}{_CACHE_SUFFIX}"
            )
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except (OSError, wasmtime.WasmtimeError) as error:
        logger.warning("Compiled app %s cannot be cached in %s: %s", wasm_sha256, cache_dir, error)


def _prepare_folders(input_dir: Path, output_dir: Path, log_dir: Path) -> None:
    if not input_dir.is_dir():
        raise ValueError(f"The input folder {input_dir} does not exist or is not a folder.")
    # The log folder may hold the others (by default it is the task's work folder), but the
    # app must not see the logs, nor the input in its output or the other way round.
    folders = {"input": input_dir, "output": output_dir, "log": log_dir}
    for inner, outer in [
        ("input", "output"),
        ("output", "input"),
        ("log", "input"),
        ("log", "output"),
    ]:
        if folders[inner].resolve().is_relative_to(folders[outer].resolve()):
            raise ValueError(
                f"The {inner} folder {folders[inner]} is inside the {outer} folder "
                f"{folders[outer]}: the app would see or change files it must not."
            )
    output_dir.mkdir(parents=True, exist_ok=True)
    if any(output_dir.iterdir()):
        raise ValueError(
            f"The output folder {output_dir} is not empty: whatever it holds would go into the "
            "result archive."
        )
    log_dir.mkdir(parents=True, exist_ok=True)


def _check_strings(app_name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
    if isinstance(args, str):
        raise TypeError("args must be a sequence of strings, not one string")
    for value in (app_name, *args, *env.values()):
        if "\0" in value:
            raise ValueError(f"Arguments and environment values cannot hold NUL bytes: {value!r}")
    for name in env:
        if not name or "=" in name or "\0" in name:
            raise ValueError(f"Invalid environment variable name: {name!r}")


def _wasi_config(
    app_name: str,
    args: Sequence[str],
    env: Mapping[str, str],
    input_dir: Path,
    output_dir: Path,
    stdout_path: Path,
    stderr_path: Path,
) -> wasmtime.WasiConfig:
    wasi = wasmtime.WasiConfig()
    wasi.argv = [app_name, *args]
    wasi.env = sorted(env.items())
    read_only = (wasmtime.DirPerms.READ_ONLY, wasmtime.FilePerms.READ_ONLY)
    # WASI preview 1 has no working folder: wasi-libc (and Rust's std, built on it) resolves
    # relative paths against a preopen named ".". Absolute paths outside /input and /output land
    # there too, so they reach nothing but the read-only input.
    wasi.preopen_dir(os.fspath(input_dir), ".", *read_only)
    wasi.preopen_dir(os.fspath(input_dir), INPUT_GUEST_PATH, *read_only)
    wasi.preopen_dir(
        os.fspath(output_dir),
        OUTPUT_GUEST_PATH,
        wasmtime.DirPerms.READ_WRITE,
        wasmtime.FilePerms.READ_WRITE,
    )
    # stdin is left unset: the app gets nothing from it.
    wasi.stdout_file = os.fspath(stdout_path)
    wasi.stderr_file = os.fspath(stderr_path)
    return wasi


class _RunState:
    """What the app's thread and the calling thread, which watches it, share about one run.

    Plain attribute reads and writes are atomic in CPython; each attribute has one writer
    except ``stop_reason``, where the first reason set wins.
    """

    def __init__(self, limits: RunLimits) -> None:
        self.limits = limits
        self.deadline = math.inf
        self.fuel_used = 0
        """Sampled at each epoch tick by the app's own thread: a store is not thread-safe."""
        self.stop_reason = ""

    def stop(self, reason: str) -> None:
        """Ask for the run to end at the next epoch tick, with ``reason`` as its failure."""
        if not self.stop_reason:
            self.stop_reason = reason

    def on_epoch_deadline(
        self,
        context: ctypes._Pointer,  # type: ignore[type-arg]
        _data: int | None,
        deadline_delta: ctypes._Pointer,  # type: ignore[type-arg]
        update_kind: ctypes._Pointer,  # type: ignore[type-arg]
    ) -> int:
        """Called by wasmtime in the app's thread at each epoch tick: 0 continues the run."""
        try:
            remaining = ctypes.c_uint64()
            error = wasmtime_ffi.wasmtime_context_get_fuel(context, ctypes.byref(remaining))
            if error:
                wasmtime_ffi.wasmtime_error_delete(error)
            else:
                self.fuel_used = self.limits.fuel - remaining.value
            if time.monotonic() >= self.deadline:
                self.stop(_out_of_time(self.limits))
            if self.stop_reason:
                return _new_error(self.stop_reason)
            deadline_delta[0] = 1
            update_kind[0] = _UPDATE_DEADLINE_CONTINUE
            return 0
        except BaseException:
            # An exception must not unwind into wasmtime: stop the run instead.
            logger.exception("Epoch deadline callback failed")
            self.stop("internal error of the runner")
            return _new_error(self.stop_reason)


def _new_error(message: str) -> int:
    """A new wasmtime error, as the address wasmtime takes ownership of."""
    error = wasmtime_ffi.wasmtime_error_new(ctypes.create_string_buffer(message.encode()))
    return ctypes.cast(error, ctypes.c_void_p).value or 0


class _Execution(threading.Thread):
    """The app's own thread: instantiates the module and calls its entry point.

    The app does not run in the calling thread so that the caller stays free to watch it, and
    so that Ctrl-C reaches the caller: Python handles signals in the main thread, between
    bytecodes, and there they would land in the epoch deadline callback, which must not raise.
    """

    def __init__(self, store: wasmtime.Store, linker: wasmtime.Linker, module: wasmtime.Module):
        super().__init__(name="wasm-app", daemon=True)
        self._store = store
        self._linker = linker
        self._module = module
        self.finished = threading.Event()
        self.instance: wasmtime.Instance | None = None
        self.exit_code: int | None = None
        self.error: wasmtime.Trap | wasmtime.WasmtimeError | None = None
        self.crash: BaseException | None = None
        """An exception that is no fault of the app, raised again in the calling thread."""

    def run(self) -> None:
        try:
            self.instance = self._linker.instantiate(self._store, self._module)
            entry_point = self.instance.exports(self._store).get(ENTRY_POINT)
            if not isinstance(entry_point, wasmtime.Func):
                raise wasmtime.WasmtimeError(f"the module exports no `{ENTRY_POINT}` function")
            entry_point(self._store)
            self.exit_code = 0
        except wasmtime.ExitTrap as exit_trap:
            self.exit_code = exit_trap.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            self.error = error
        except BaseException as crash:
            self.crash = crash
        finally:
            self.finished.set()


class _Watcher:
    """Follows a run from the calling thread: progress lines on stdout, fuel burnt, output size."""

    def __init__(
        self,
        state: _RunState,
        stdout_path: Path,
        stderr_path: Path,
        output_dir: Path,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self._state = state
        self._stdout_path = stdout_path
        self._stderr_path = stderr_path
        self._output_dir = output_dir
        self._on_progress = on_progress
        self._stdout: BinaryIO | None = None
        self._partial_line = b""
        self._skipping_long_line = False
        self._output_bytes = 0
        self._reported = -1.0
        self.source: ProgressSource = "fuel"

    def close(self) -> None:
        if self._stdout is not None:
            self._stdout.close()

    def report(self, progress: Progress) -> None:
        """Pass ``progress`` on unless it would go backwards; on_progress may not raise."""
        if self._on_progress is None or progress.percent < self._reported:
            return
        self._reported = progress.percent
        try:
            self._on_progress(progress)
        except Exception:
            logger.exception("on_progress failed; no more progress is reported for this run")
            self._on_progress = None

    def poll(self, *, scan_output: bool) -> None:
        """Look at the run once: report progress, stop the app if its output is too large."""
        app_progress = self._read_progress_lines()
        if scan_output:
            self._output_bytes = output_size(self._output_dir)
        total = self._output_bytes + _file_size(self._stdout_path) + _file_size(self._stderr_path)
        if total > self._state.limits.output_bytes:
            self._state.stop(_output_too_large(total, self._state.limits))
        if app_progress is not None:
            self.source = "app"
            self.report(app_progress)
        elif self.source == "fuel" and self._state.fuel_used > 0:
            used, budget = self._state.fuel_used, self._state.limits.fuel
            percent = min(_FUEL_PROGRESS_CAP, 100.0 * used / budget)
            if percent > self._reported:
                message = f"{used:,} of {budget:,} instructions of the fuel budget"
                self.report(Progress(percent=percent, source="fuel", message=message))

    def _read_progress_lines(self) -> Progress | None:
        """Read what the app printed since the last poll; return its last progress line."""
        if self._stdout is None:
            try:
                self._stdout = self._stdout_path.open("rb")
            except OSError:
                return None
        unread = os.fstat(self._stdout.fileno()).st_size - self._stdout.tell()
        if unread > _MAX_STDOUT_READ:
            # Keep up with a chatty app: only its latest progress line matters.
            self._stdout.seek(-_MAX_STDOUT_READ, os.SEEK_END)
            self._partial_line = b""
            self._skipping_long_line = True
        chunk = self._stdout.read(_MAX_STDOUT_READ)
        if not chunk:
            return None
        lines = (self._partial_line + chunk).split(b"\n")
        self._partial_line = lines.pop()
        if self._skipping_long_line and lines:
            lines[0] = b""
            self._skipping_long_line = False
        if len(self._partial_line) > _MAX_PROGRESS_LINE:
            # Not a progress line, whatever its end will be.
            self._partial_line = b""
            self._skipping_long_line = True
        progress = None
        for line in lines:
            if len(line) <= _MAX_PROGRESS_LINE and (match := _PROGRESS_LINE.match(line)):
                percent = min(100.0, float(match["percent"]))
                message = (match["message"] or b"").decode("utf-8", "replace")
                progress = Progress(
                    percent=percent, source="app", message=message[:_MAX_PROGRESS_MESSAGE]
                )
        return progress


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _out_of_time(limits: RunLimits) -> str:
    return f"out of time ({limits.wall_clock_seconds:g} s)"


def _output_too_large(size: int, limits: RunLimits) -> str:
    return (
        f"output too large ({size:,} bytes in /output, stdout and stderr; the limit is "
        f"{limits.output_bytes:,} bytes)"
    )


def _check_final_output(
    output_dir: Path, stdout_path: Path, stderr_path: Path, limits: RunLimits
) -> str:
    """Return why the output of a run that succeeded cannot be its result, or ""."""
    try:
        size = check_output(output_dir) + _file_size(stdout_path) + _file_size(stderr_path)
    except UnsafeOutput as error:
        return f"output not archivable: {error}"
    if size > limits.output_bytes:
        return _output_too_large(size, limits)
    return ""


def _memory_size(instance: wasmtime.Instance | None, store: wasmtime.Store) -> int:
    if instance is None:
        return 0
    exports = instance.exports(store)
    return sum(
        export.data_len(store) for export in exports.by_index if isinstance(export, wasmtime.Memory)
    )


def _failure(
    error: wasmtime.Trap | wasmtime.WasmtimeError | None,
    exit_code: int | None,
    limits: RunLimits,
    memory_size: int,
) -> str:
    """Name why a run that the runner did not stop itself failed, or return "" for a success."""
    limit = f"{limits.memory_bytes / _MEGABYTE:g} MiB"
    if error is None:
        if exit_code == 0:
            return ""
        reason = f"exit code {exit_code}"
    elif isinstance(error, wasmtime.Trap):
        if _trap_code(error) == _TRAP_CODE_OUT_OF_FUEL:
            return f"out of fuel ({limits.fuel:,} instructions, the category's budget)"
        reason = f"trap: {_error_reason(error).removeprefix('wasm trap: ')}"
    else:
        message = _error_reason(error)
        if "exceeds memory limits" in message:
            return f"out of memory ({limit}): the app needs more to start ({message})"
        reason = f"cannot start: {message}"
    # A refused memory.grow is invisible to the host: it just returns -1 to the app, which then
    # traps or exits with an error. An app that failed after using half its limit or more is
    # taken to have run out of memory.
    if memory_size * 2 >= limits.memory_bytes:
        used = f"{memory_size / _MEGABYTE:.1f} MiB"
        return f"out of memory ({limit}): the app had {used} when it failed with {reason}"
    return reason


def _trap_code(trap: wasmtime.Trap) -> int | None:
    code = wasmtime_ffi.wasmtime_trap_code_t()
    if wasmtime_ffi.wasmtime_trap_code(trap.ptr(), ctypes.byref(code)):
        return int(code.value)
    return None


def _error_reason(error: wasmtime.Trap | wasmtime.WasmtimeError) -> str:
    """The cause of a wasmtime error on one line, without wasm or Rust backtraces."""
    text = str(error).split("\n\nStack backtrace:", 1)[0]
    _context, caused_by, cause = text.partition("Caused by:")
    text = cause if caused_by else text.split("\n\n", 1)[0]
    return " ".join(text.split())
