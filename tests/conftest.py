from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.chain_fixtures"]

# Properties are checked, never timed: on a loaded machine an example may take seconds.
hypothesis_settings.register_profile(
    "superedge", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("superedge")


def pytest_configure(config) -> None:
    # Password hashing is deliberately slow; tests need no protection against brute force.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Each xdist worker gets its own Redis database: cache.clear() flushes a whole database.
    if settings.REDIS_URL:
        worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
        url = urlsplit(settings.REDIS_URL)._replace(path=f"/{1 + worker % 15}").geturl()
        settings.CACHES["default"]["LOCATION"] = url
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [url]
    # Persistent connections from the live server's threads would block dropping the test DB.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
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


@pytest.fixture(autouse=True, scope="session")
def _static_root_in_tmp(tmp_path_factory):
    """Collected static files (none: pages serve the apps' own, WHITENOISE_USE_FINDERS) in a
    folder of the run's own, which exists: importing the settings makes no folder, and the
    suite leaves the developer's var/ alone."""
    settings.STATIC_ROOT = tmp_path_factory.mktemp("static")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Uploads of each test go to its own folder, never to the developer's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()
    yield


CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never `playwright install`), one per module.

    Module scope: Playwright's sync API keeps an event loop running in this thread for as long
    as it is open, which async tests of other modules must not find."""
    import shutil

    from django.db import connections

    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium.")
        pytest.skip(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    # The test's own ORM calls are plain synchronous code, though a loop is running.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                ],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
        # Connections opened inside Playwright's loop would keep the test database busy.
        connections.close_all()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
