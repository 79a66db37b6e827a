"""The environment decides the backing services; these run against whatever it configures
(SQLite and in-process by default, PostgreSQL and Redis in CI)."""

from __future__ import annotations

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
