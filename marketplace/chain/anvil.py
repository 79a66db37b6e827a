"""A local anvil node for development and tests, always on 127.0.0.1 and chain id 31337.

`start_anvil()` runs one in the background and returns once it answers JSON-RPC;
`running_anvil()` is the same as a context manager. `python -m marketplace.chain.anvil --port
8545 [--state var/anvil-state.json]` runs one in the foreground (`make chain`, `make run`), its
chain kept in the state file across restarts.

The anvil binary comes from npm (`@foundry-rs/anvil`, installed by `make install`).
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from marketplace.chain.errors import ChainError

DEV_CHAIN_ID = 31337
DEV_MNEMONIC = "test test test test test test test test test test test junk"
HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]

_LISTENING_RE = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")
# How long a periodic state dump may lag behind when anvil is killed without a clean exit.
_STATE_INTERVAL_SECONDS = 10


class AnvilError(ChainError):
    """The local anvil could not be found or started."""


def anvil_binary(*, root: Path = REPO_ROOT) -> Path:
    """The anvil executable installed by npm under `root`.

    The platform package's native binary is preferred over node_modules/.bin/anvil, a node
    wrapper that would add a process (and its start-up time) between us and anvil."""
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = {"windows": "win32"}.get(platform.system().lower(), platform.system().lower())
    suffix = ".exe" if system == "win32" else ""
    modules = root / "node_modules"
    for candidate in (
        modules / "@foundry-rs" / f"anvil-{system}-{machine}" / "bin" / f"anvil{suffix}",
        modules / ".bin" / "anvil",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise AnvilError(
        f"anvil is not installed under {modules}: run `make install` "
        "(npm installs @foundry-rs/anvil)."
    )


def _rpc(url: str, method: str, params: Sequence[Any] = (), *, timeout: float = 2.0) -> Any:
    """One JSON-RPC call without web3: enough to check that the node is up."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
    request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL built here
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        answer = json.load(response)
    if "error" in answer:
        raise AnvilError(f"{method} failed: {answer['error']}")
    return answer["result"]


@dataclasses.dataclass
class Anvil:
    """A running anvil process."""

    process: subprocess.Popen
    port: int
    log_path: Path
    owns_log: bool = False

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, *, timeout: float = 10.0) -> None:
        """Stop anvil; SIGTERM lets it write its state file first. Idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.owns_log:
            self.log_path.unlink(missing_ok=True)
        atexit.unregister(self.stop)


def _command(
    binary: Path,
    *,
    port: int,
    state_file: Path | None,
    block_time: float | None,
    chain_id: int = DEV_CHAIN_ID,
    extra_args: Sequence[str] = (),
) -> list[str]:
    command = [
        str(binary),
        "--host",
        HOST,
        "--port",
        str(port),
        "--chain-id",
        str(chain_id),
        "--mnemonic",
        DEV_MNEMONIC,
        "--color",
        "never",
    ]
    if state_file is not None:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        command += ["--state", str(state_file), "--state-interval", str(_STATE_INTERVAL_SECONDS)]
    if block_time is not None:
        command += ["--block-time", str(block_time)]
    return command + list(extra_args)


def _wait_until_ready(anvil: Anvil, *, deadline: float) -> None:
    """Read the bound port from anvil's log, then wait until eth_chainId answers there.

    The log line, not a probe of the port, tells that *this* anvil listens: a node already on
    a fixed port would answer the probe while ours fails to bind."""
    while True:
        if anvil.process.poll() is not None:
            raise AnvilError(
                f"anvil exited with status {anvil.process.returncode} while starting. "
                f"Its log ends with:\n{anvil.log_tail()}"
            )
        if not anvil.port and (found := _LISTENING_RE.search(anvil.log_tail(200))):
            anvil.port = int(found[1])
        if anvil.port:
            try:
                _rpc(anvil.url, "eth_chainId", timeout=1.0)
            except (OSError, ValueError):  # URLError is an OSError
                pass
            else:
                return
        if time.monotonic() > deadline:
            raise AnvilError(
                f"anvil did not answer in time. Its log ends with:\n{anvil.log_tail()}"
            )
        time.sleep(0.02)


def start_anvil(
    *,
    port: int = 0,
    state_file: Path | None = None,
    block_time: float | None = None,
    log_path: Path | None = None,
    timeout: float = 15.0,
    chain_id: int = DEV_CHAIN_ID,
    extra_args: Sequence[str] = (),
) -> Anvil:
    """Start anvil on 127.0.0.1 and return once it answers `eth_chainId` (31337 unless
    `chain_id` says otherwise: tests stand in for other chains with it).

    `port` 0 lets the system choose a free one (read back from anvil's log, so parallel test
    workers cannot race for the same port). `state_file` is loaded at start if it exists and
    written on exit (and every few seconds). `block_time` switches from mining each transaction
    at once to interval mining. Anvil's output is appended to `log_path`, else to a temporary
    file removed on stop; its tail is quoted when the start fails. `extra_args` go to anvil as
    they are (benchmarks: `--prune-history`). The process is stopped at interpreter exit at the
    latest; call `stop()` sooner.
    """
    binary = anvil_binary()
    command = _command(
        binary,
        port=port,
        state_file=state_file,
        block_time=block_time,
        chain_id=chain_id,
        extra_args=extra_args,
    )
    owns_log = log_path is None
    if log_path is None:
        descriptor, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
        os.close(descriptor)
        log_path = Path(name)
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    anvil = Anvil(process=process, port=0, log_path=log_path, owns_log=owns_log)
    atexit.register(anvil.stop)
    try:
        _wait_until_ready(anvil, deadline=time.monotonic() + timeout)
    except BaseException:
        anvil.stop()
        raise
    return anvil


@contextmanager
def running_anvil(**options: Any) -> Iterator[Anvil]:
    """`start_anvil(**options)` as a context manager: anvil stops on exit."""
    anvil = start_anvil(**options)
    try:
        yield anvil
    finally:
        anvil.stop()


def main(argv: Sequence[str] | None = None) -> int:
    """Run anvil in the foreground until interrupted, its log on this terminal."""
    parser = argparse.ArgumentParser(
        prog="python -m marketplace.chain.anvil",
        description="Run the local development chain (anvil, chain id 31337, 127.0.0.1 only).",
    )
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--state", type=Path, help="keep the chain in this file across restarts")
    parser.add_argument("--block-time", type=float, help="seconds per block (default: on demand)")
    arguments = parser.parse_args(argv)
    if arguments.port == 0:
        parser.error("--port must name a port: clients need to know where to connect.")

    try:
        binary = anvil_binary()
    except AnvilError as error:
        print(error, file=sys.stderr)
        return 1
    command = _command(
        binary,
        port=arguments.port,
        state_file=arguments.state,
        block_time=arguments.block_time,
    )
    # Its own session: a Ctrl-C on the terminal reaches us alone, and anvil gets exactly one
    # SIGTERM from us, on which it writes its state before exiting.
    process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
        command, stdin=subprocess.DEVNULL, start_new_session=True
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: process.send_signal(signal.SIGTERM))
    return process.wait()


if __name__ == "__main__":
    sys.exit(main())
