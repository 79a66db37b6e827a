"""Serve the site with one Daphne process per core, all accepting on one listening socket.

    python -m marketplace.serve [--host 127.0.0.1] [--port 8000] [--processes N] [--access-log F]

Daphne runs one process; Python runs one thread of it at a time. This binds the socket once and
hands it to N Daphne processes (`daphne --fd`), so a machine's cores all serve. The processes
share nothing in memory, so more than one needs Redis (`REDIS_URL`) for the cache and the channel
layer: without it the default is one process, and asking for more is refused. The access log
(a line per request) goes to standard output, or appended to the file `--access-log` names.

It stops every process when it is stopped (SIGINT, SIGTERM) and when any one of them exits.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from marketplace import devstate

DAPHNE = Path(sys.executable).with_name("daphne")
APPLICATION = "marketplace.asgi:application"


def default_processes(*, shared_state: bool) -> int:
    return max(1, os.cpu_count() or 1) if shared_state else 1


def listening_socket(host: str, port: int) -> socket.socket:
    host = host.strip("[]")  # "[::1]", as URLs write it
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise SystemExit(
            f"Cannot listen on {host}:{port} ({error.strerror}). Is another server running "
            "there? Stop it, or choose another port (PORT=8001 make run)."
        ) from error
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In each child before it runs Daphne: the kernel sends it SIGTERM if this process dies,
    even by SIGKILL, so no server is left holding the port."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's own cleanup still applies
        pass


def _daphne_command(sock: socket.socket, access_log: str = "-") -> list[str]:
    return [str(DAPHNE), "--fd", str(sock.fileno()), "--access-log", access_log, APPLICATION]


def _exit_code(returncode: int) -> int:
    """A child's status as a shell reports it: 128 + the signal that killed it."""
    return 128 - returncode if returncode < 0 else returncode or 1


def serve(host: str, port: int, processes: int, access_log: str = "-") -> int:
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    # Before the children exist: a stop during start-up must reach them too.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    sock = listening_socket(host, port)
    children: list[subprocess.Popen] = []
    exit_code = 0
    try:
        if sock.family == socket.AF_INET6:
            # Daphne adopts only IPv4 sockets (`--fd`): one process binds the address itself.
            sock.close()
            command = [str(DAPHNE), "-b", host.strip("[]"), "-p", str(port)]
            command += ["--access-log", access_log, APPLICATION]
            fds: tuple[int, ...] = ()
        else:
            command, fds = _daphne_command(sock, access_log), (sock.fileno(),)
        for _ in range(processes):
            children.append(
                subprocess.Popen(  # noqa: S603 - fixed arguments
                    command, pass_fds=fds, preexec_fn=_die_with_parent
                )
            )
        sock.close()  # the children hold it
        shared = "sharing Redis" if processes > 1 else "in-process cache and channel layer"
        plural = "es" if processes > 1 else ""
        logged = "" if access_log == "-" else f"; access log in {access_log}"
        print(f"Serving with {processes} Daphne process{plural} ({shared}{logged}).", flush=True)
        while not stopping:
            exited = [child for child in children if child.poll() is not None]
            if exited:
                exit_code = _exit_code(exited[0].returncode)
                print(
                    f"A server process exited ({exited[0].returncode}); stopping the others.",
                    file=sys.stderr,
                )
                break
            time.sleep(0.2)
    finally:
        sock.close()
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return exit_code


def main(argv: list[str] | None = None) -> int:
    shared_state = bool(os.environ.get("REDIS_URL"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--processes",
        type=int,
        default=default_processes(shared_state=shared_state),
        help="Daphne processes (default: one per core with REDIS_URL, else one)",
    )
    parser.add_argument(
        "--access-log",
        default="-",
        metavar="FILE",
        help="append the access log (a line per request) to FILE (default: standard output)",
    )
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.processes > 1 and ":" in args.host:
        parser.error("an IPv6 address is served by one process: add --processes 1")
    if args.processes > 1 and not shared_state:
        parser.error(
            "more than one process needs REDIS_URL: without it each process would keep its "
            "own cache and channel layer, and pages and live updates would disagree"
        )
    # Before the processes start: they all read the secrets a development checkout keeps.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    devstate.prepare()
    return serve(args.host, args.port, args.processes, args.access_log)


if __name__ == "__main__":
    sys.exit(main())
