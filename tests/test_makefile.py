"""The Makefile's recipes are shell that only runs on a newcomer's first `make run`: each one
make would run parses as bash (a stray quote in one line would stop `make run` at once)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("target", ["run", "test", "seed", "chain", "lint", "bench"])
def test_the_recipe_parses_as_bash(target):
    make, bash = shutil.which("make"), shutil.which("bash")
    if make is None or bash is None:
        pytest.fail("make and bash are missing: the project's two commands need them.")
    # --always-make: the whole recipe even where its prerequisites are up to date.
    shown = subprocess.run(  # noqa: S603 - our own Makefile, a target of the list above
        [make, "--dry-run", "--always-make", "--no-print-directory", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    parsed = subprocess.run(  # noqa: S603 - only parsed (-n), never run
        [bash, "-n"], input=shown, capture_output=True, text=True
    )
    assert parsed.returncode == 0, f"`make {target}` does not parse: {parsed.stderr}"
