"""A long-running command stops on SIGINT or SIGTERM, also when a second one follows the first
(`make run` signals its process group, then each process it started)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings


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
