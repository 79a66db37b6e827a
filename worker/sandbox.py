"""Runs of an app in a process of their own, which the worker agent can always stop.

`worker.runtime.run_wasi` enforces fuel, memory and the wall clock while the app executes
WebAssembly; while the app waits inside a WASI call (`poll_oneoff` sleeping for an hour, say),
nothing in the process can interrupt it. So the agent runs each app in a child process, forked
from a small server process that has the runtime imported already (a few milliseconds a run):
the child reports progress and its result through a pipe, and is killed when it overruns its
wall clock by more than GRACE_SECONDS. A crash of wasmtime takes the child down, not the agent.

    result = run_isolated(wasm, cache_dir=..., args=[...], input_dir=..., output_dir=...,
                          limits=limits_for_category(300), on_progress=report)
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from worker import runtime
from worker.inspection import InvalidWasm
from worker.limits import RunLimits
from worker.runtime import Progress, RunResult

SANDBOX_FAILURE = "the sandbox process"
"""How a failure of the sandbox itself (not of the app) begins."""
GRACE_SECONDS = 1.0
COMPILE_SECONDS = 300.0
"""The longest compiling an app may take (not counted in its run time)."""
"""How long past its wall clock a child may take before it is killed (run_wasi itself stops
an app that executes WebAssembly at the wall clock; this catches one stuck in a WASI call)."""

_context_lock = threading.Lock()
_context: Any = None


def _forkserver() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["worker.runtime"])
            _context = context
        return _context


def warm_up() -> None:
    """Start the process server now rather than at the first run: it is an interpreter that
    imports the runtime (wasmtime), seconds on a busy machine, which would otherwise come out of
    the first task's deadlines."""
    _forkserver()
    forkserver.ensure_running()


def _child(
    connection: Connection, wasm_path: str, cache_dir: str | None, options: dict[str, Any]
) -> None:
    """In the child process: compile (through the cache), tell the parent the app starts,
    run it, and send its result (or what went wrong)."""
    try:
        compiled = runtime.compile_app(
            Path(wasm_path).read_bytes(), cache_dir=Path(cache_dir) if cache_dir else None
        )
    except InvalidWasm as error:
        connection.send(("invalid", str(error)))
        return
    except Exception as error:
        connection.send(("error", f"{type(error).__name__}: {error}"))
        return
    connection.send(("started", None))
    try:
        result = runtime.run_wasi(
            compiled,
            on_progress=lambda progress: connection.send(("progress", progress)),
            **options,
        )
    except Exception as error:
        connection.send(("error", f"{type(error).__name__}: {error}"))
        return
    connection.send(("result", result))


def run_isolated(
    wasm_path: Path,
    *,
    cache_dir: Path | None,
    args: Sequence[str],
    input_dir: Path,
    output_dir: Path,
    limits: RunLimits,
    env: Mapping[str, str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    app_name: str = "app",
    log_dir: Path | None = None,
) -> RunResult:
    """`worker.runtime.run_wasi` of the app in `wasm_path`, in a child process (see the module
    docstring); the same arguments and the same result. An app that is not valid WebAssembly
    is a failed run with its reason; so is a child that dies, fails or takes more than
    COMPILE_SECONDS to compile (reasons beginning with SANDBOX_FAILURE)."""
    output_dir = Path(output_dir).absolute()
    log_dir = output_dir.parent if log_dir is None else Path(log_dir).absolute()
    options = {
        "args": list(args),
        "input_dir": Path(input_dir).absolute(),
        "output_dir": output_dir,
        "limits": limits,
        "env": dict(env or {}),
        "app_name": app_name,
        "log_dir": log_dir,
    }
    context = _forkserver()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(sender, str(wasm_path), str(cache_dir) if cache_dir else None, options),
        daemon=True,
    )
    started = time.monotonic()
    deadline = started + COMPILE_SECONDS
    running = False
    try:
        child.start()
        sender.close()
        while True:
            if receiver.poll(max(0.0, min(0.5, deadline - time.monotonic()))):
                try:
                    kind, value = receiver.recv()
                except EOFError:
                    child.join(5)
                    return _failed(_died(child), started, log_dir)
                match kind:
                    case "result":
                        return value
                    case "invalid":
                        return _failed(f"the app cannot run: {value}", started, log_dir)
                    case "error":
                        return _failed(f"{SANDBOX_FAILURE} failed: {value}", started, log_dir)
                    case "started":
                        running = True
                        started = time.monotonic()
                        deadline = started + limits.wall_clock_seconds + GRACE_SECONDS
                    case "progress" if on_progress is not None:
                        on_progress(value)
            elif not child.is_alive() and not receiver.poll(0):
                return _failed(_died(child), started, log_dir)
            if time.monotonic() >= deadline:
                child.kill()
                if not running:
                    return _failed(
                        f"{SANDBOX_FAILURE} took more than {COMPILE_SECONDS} s to compile the app",
                        started,
                        log_dir,
                    )
                return _failed(
                    f"out of time ({limits.wall_clock_seconds:g} s): stopped while waiting "
                    "in a system call",
                    started,
                    log_dir,
                )
    finally:
        receiver.close()
        sender.close()
        if child.is_alive():
            child.kill()
        if child.pid is not None:
            child.join(5)


def _died(child) -> str:
    return f"{SANDBOX_FAILURE} ended unexpectedly (exit code {child.exitcode})"


def _failed(reason: str, started: float, log_dir: Path) -> RunResult:
    return RunResult(
        ok=False,
        exit_code=None,
        failure=reason,
        fuel_used=0,
        seconds=time.monotonic() - started,
        stdout_path=log_dir / "stdout.txt",
        stderr_path=log_dir / "stderr.txt",
    )
