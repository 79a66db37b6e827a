"""A long-running command stops on SIGINT or SIGTERM (worker.stopping), also when a second one
follows the first (`make run` signals its process group, then each process it started); the
worker agent ends its loop and exits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings

from tests.worker.listener import Listener, serve


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_the_input_clean_up_loop_stops_at_a_signal_even_twice(signum, tmp_path):
    process = subprocess.Popen(  # noqa: S603 (our own command)
        [sys.executable, "manage.py", "clean_inputs", "--loop", "-v", "2"],
        cwd=settings.BASE_DIR,
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        time.sleep(3)  # started and waiting (or still starting: a signal must stop it either way)
        process.send_signal(signum)
        time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signum)
        out, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode in (0, -signum), out
    assert "Traceback" not in out or (signum == signal.SIGINT and "KeyboardInterrupt" in out), out


def test_the_worker_agent_finishes_its_loop_at_sigterm(tmp_path):
    # A site without a worker API: the agent starts, then asks in vain until it is stopped.
    with Listener(serve(b"")) as site:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, on this project's code
            [sys.executable, "-m", "worker", "--dev-account", "6", "--site", site.origin],
            cwd=settings.BASE_DIR,
            env={"PATH": "/usr/bin:/bin", "WEB3_RPC_URL": "http://127.0.0.1:9"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            lines = []
            while not any(line.startswith("Sandbox ready") for line in lines):
                line = process.stdout.readline()
                assert line, "".join(lines)  # it ended before it was ready
                lines.append(line)
            asked = site.connections
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=30)
        finally:
            process.kill()
    assert process.returncode == 0, "".join(lines) + out
    assert "Traceback" not in out, out
    assert asked >= 1  # it had asked the site for its pools before it was ready
