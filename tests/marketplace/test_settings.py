"""The environment decides the backing services; these run against whatever it configures
(SQLite and in-process by default, PostgreSQL and Redis in CI)."""

from __future__ import annotations

import ast
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

ROOT = Path(__file__).resolve().parents[2]


def test_cache_round_trip():
    cache.set("probe", {"n": 1}, timeout=30)
    assert cache.get("probe") == {"n": 1}


async def test_channel_layer_round_trip():
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.send(channel, {"type": "probe", "n": 2})
    assert await layer.receive(channel) == {"type": "probe", "n": 2}


def test_services_follow_the_environment():
    engine = settings.DATABASES["default"]["ENGINE"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert engine == "django.db.backends.postgresql"
    else:
        assert engine == "django.db.backends.sqlite3"
    if os.environ.get("REDIS_URL"):
        assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
        assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
        assert os.environ["REDIS_URL"] == settings.CELERY_BROKER_URL
    else:
        assert settings.CELERY_TASK_ALWAYS_EAGER is True


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _deploy_check(tmp_path: Path, dataset_key: str) -> subprocess.CompletedProcess:
    """`make check-deploy`, with `dataset_key` as DATASET_KEY_ENCRYPTION_KEY."""
    return _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATASET_KEY_ENCRYPTION_KEY=dataset_key,
        DJANGO_ALLOWED_HOSTS="market.example.com",
        SUPEREDGE_VAR_DIR=str(tmp_path),
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = _deploy_check(tmp_path, secrets.token_urlsafe(32))  # as `make check-deploy` does
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "weak_key",
    [
        pytest.param("changeme", id="placeholder"),
        pytest.param("d2ead2d1c246621756619a64a2eecc93", id="128-bit hex"),
        pytest.param("0123456789abcdef" * 4, id="pattern"),
    ],
)
def test_the_deploy_check_refuses_a_weak_dataset_key_encryption_key(tmp_path, weak_key):
    result = _deploy_check(tmp_path, weak_key)
    assert result.returncode != 0
    assert "(marketplace.E004) DATASET_KEY_ENCRYPTION_KEY is too weak" in result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DATASET_KEY_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_its_secrets(tmp_path, missing):
    env = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DATASET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "SUPEREDGE_VAR_DIR": str(tmp_path),
    }
    del env[missing]
    result = _manage("check", **env)
    assert result.returncode != 0
    assert missing in result.stderr


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` run by a fresh interpreter at the root, in the environment changed by `env`."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update({"DJANGO_SETTINGS_MODULE": "marketplace.settings", **env})
    return subprocess.run(  # noqa: S603 - our own interpreter with fixed code
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


READ_SECRET_KEY = "from django.conf import settings; print(settings.SECRET_KEY)"


def test_reading_the_settings_writes_no_file_nor_folder(tmp_path):
    var = tmp_path / "var"

    secret = _python(READ_SECRET_KEY, SUPEREDGE_VAR_DIR=str(var), DJANGO_DEBUG="true").stdout

    assert len(secret.strip()) > 40  # made up for this process
    assert list(tmp_path.iterdir()) == []


def test_the_run_command_keeps_the_made_up_secrets_for_every_later_process(tmp_path):
    var = tmp_path / "var"

    _manage("check", SUPEREDGE_VAR_DIR=str(var), DJANGO_DEBUG="true")

    kept = var / "django_secret_key.secret"
    assert sorted(p.name for p in var.iterdir()) == [
        "dataset_key_encryption_key.secret",
        "django_secret_key.secret",
        "static",
    ]
    assert kept.stat().st_mode & 0o777 == 0o600
    later = _python(READ_SECRET_KEY, SUPEREDGE_VAR_DIR=str(var), DJANGO_DEBUG="true").stdout
    assert later.strip() == kept.read_text()


def test_production_writes_nothing_to_var(tmp_path):
    var = tmp_path / "var"

    result = _manage(
        "check",
        SUPEREDGE_VAR_DIR=str(var),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DATASET_KEY_ENCRYPTION_KEY=secrets.token_urlsafe(32),
    )

    assert result.returncode == 0, result.stderr
    assert not var.exists()


# Which .env file the settings read (never the checkout's own: it is only recorded).
READS_DOT_ENV = """
import environ
read = []
environ.Env.read_env = staticmethod(lambda path=None, **kw: read.append(str(path)))
import marketplace.settings
print(read)
"""


def test_the_dot_env_file_is_read_only_when_asked():
    unasked = _python(READS_DOT_ENV).stdout
    asked = _python(READS_DOT_ENV, DJANGO_READ_DOT_ENV_FILE="true").stdout

    assert unasked.strip() == "[]"
    assert asked.strip() == repr([str(ROOT / ".env")])


def test_each_variable_is_read_once():
    tree = ast.parse((ROOT / "marketplace" / "settings.py").read_text())
    read = [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]

    assert len(read) > 50
    assert sorted(name for name in set(read) if read.count(name) > 1) == []
