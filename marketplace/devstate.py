"""What a development checkout keeps in its var/ folder (settings.VAR_DIR, SUPEREDGE_VAR_DIR):
the SQLite database, uploads, collected static files, and the secrets it made up
(DJANGO_SECRET_KEY, DATASET_KEY_ENCRYPTION_KEY) where the environment gives none.

Reading the settings writes nothing: with DEBUG on, they take a made-up secret from var/, or make
one up in memory. The run commands (manage.py, `python -m marketplace.serve`) call `prepare()`
before anything else: it makes the folders and keeps the made-up secrets in var/ (readable by
their owner only), so every process of the checkout, and its next start, uses the same ones.
A process no run command started (the test suite) keeps what it made up to itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def secret_path(var_dir: Path, variable: str) -> Path:
    """Where the made-up value of the environment variable `variable` is kept."""
    return var_dir / f"{variable.lower()}.secret"


def read_secret(var_dir: Path, variable: str) -> str:
    """The value kept for `variable` in `var_dir`; empty when none is kept yet."""
    try:
        return secret_path(var_dir, variable).read_text().strip()
    except FileNotFoundError:
        return ""


def _keep(path: Path, value: str) -> str:
    """`value` written to `path` (owner only) unless the file is there already: what it holds."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the checkout kept its own first
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as file:
        file.write(value)
    return value


def prepare(config: Any = settings) -> None:
    """With DEBUG on, the folders of var/ made and the made-up secrets kept there (the settings'
    values then are the kept ones). Nothing without DEBUG: production sets its secrets and paths
    itself. Settings that cannot be read are left for the command to report."""
    try:
        debug = config.DEBUG
    except ImproperlyConfigured:
        return
    if not debug:
        return
    for folder in (config.VAR_DIR, config.STATIC_ROOT):
        Path(folder).mkdir(parents=True, exist_ok=True)
    for setting, variable in config.VAR_SECRETS.items():
        kept = _keep(secret_path(config.VAR_DIR, variable), getattr(config, setting))
        setattr(config, setting, kept)
