"""`python -m marketplace.serve`: Daphne processes sharing one listening socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from marketplace import serve

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _wait_healthy(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    pytest.fail("the server did not answer /healthz/ within 60 s")


def test_more_than_one_process_without_redis_is_refused(monkeypatch, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        serve.main(["--processes", "2"])
    assert exit_info.value.code == 2
    assert "needs REDIS_URL" in capsys.readouterr().err


def test_default_is_one_process_per_core_only_with_shared_state():
    assert serve.default_processes(shared_state=False) == 1
    assert serve.default_processes(shared_state=True) == (os.cpu_count() or 1)


def test_a_busy_port_is_reported_with_what_to_do():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=r"Cannot listen on 127\.0\.0\.1:.*another port"):
            serve.listening_socket("127.0.0.1", port)


def test_processes_serve_one_port_and_all_stop_with_the_parent(tmp_path):
    processes = 2 if os.environ.get("REDIS_URL") else 1
    port = _free_port()
    env = {**os.environ, "SUPEREDGE_VAR_DIR": str(tmp_path), "DJANGO_DEBUG": "true"}
    command = [sys.executable, "-m", "marketplace.serve", "--port", str(port)]
    command += ["--processes", str(processes)]
    parent = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)  # noqa: S603
    try:
        _wait_healthy(parent, port)
        children = _children(parent.pid)
        assert len(children) == processes
        for _ in range(20):  # fresh connections, whichever process accepts them
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=5) as r:
                assert r.read() == b"ok"

        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
        for child in children:
            assert not Path(f"/proc/{child}").exists() or _zombie(child)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except FileNotFoundError:
        return True


def _start(tmp_path, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "SUPEREDGE_VAR_DIR": str(tmp_path), "DJANGO_DEBUG": "true"}
    command = [sys.executable, "-m", "marketplace.serve", "--port", str(port), *extra]
    return subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.PIPE)  # noqa: S603


def test_a_killed_parent_takes_its_servers_with_it(tmp_path):
    """Even SIGKILL, which the parent cannot handle: no orphan keeps the port."""
    port = _free_port()
    access_log = tmp_path / "access.log"
    parent = _start(tmp_path, port, "--processes", "1", "--access-log", str(access_log))
    try:
        _wait_healthy(parent, port)
        # The access log goes to the file asked for (`make run` keeps it out of the terminal).
        assert '"GET /healthz/" 200' in access_log.read_text()
        children = _children(parent.pid)
        assert children
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while any(not _zombie(c) and Path(f"/proc/{c}").exists() for c in children):
            assert time.monotonic() < deadline, "a server outlived its parent"
            time.sleep(0.1)
        serve.listening_socket("127.0.0.1", port).close()  # the port is free again
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_ipv6_loopback_is_served(tmp_path):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
            port = probe.getsockname()[1]
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    parent = _start(tmp_path, port, "--host", "[::1]", "--processes", "1")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert parent.poll() is None, parent.stderr.read().decode()
            try:
                with urllib.request.urlopen(f"http://[::1]:{port}/healthz/", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        parent.terminate()
        parent.wait(timeout=20)


def test_a_server_killed_by_a_signal_exits_as_a_shell_reports_it():
    assert serve._exit_code(-signal.SIGKILL) == 137
    assert serve._exit_code(3) == 3
    assert serve._exit_code(0) == 1  # a server that stops by itself is a failure
