from __future__ import annotations

import os

import pytest
from django.conf import settings


def pytest_configure(config) -> None:
    # Password hashing is deliberately slow; tests need no protection against brute force.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Persistent connections from the live server's threads would block dropping the test DB.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Under CI the suite must run against the real services, never quietly fall back.
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        engine = settings.DATABASES["default"]["ENGINE"]
        cache = settings.CACHES["default"]["BACKEND"]
        if "postgresql" not in engine or "redis" not in cache.lower():
            pytest.exit(
                f"CI must run against PostgreSQL and Redis; got {engine} and {cache}. "
                "Set DATABASE_URL and REDIS_URL (.ci/run does).",
                returncode=3,
            )


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads of each test go to its own folder, never to the developer's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield
