"""`manage.py run_worker`: the origins its agent may download from besides public addresses
(--allow-origin, or WORKER_ALLOWED_ORIGINS), and what it refuses before it starts."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tests.worker.listener import Listener, serve
from worker.agent import ReplicateFailed

# A site without a worker API: the agent starts, prints what it downloads from, and stops at its
# first call (POST: 501), before any work.
NO_API = serve(b"")


def test_allowed_origins_are_taken_from_the_flags_or_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("WORKER_ALLOWED_ORIGINS", "http://10.0.0.5:9000, https://files.lan")
    for flags, allowed in [
        ([], "http://10.0.0.5:9000, https://files.lan"),
        (["--allow-origin", "http://192.168.1.20:8080"], "http://192.168.1.20:8080"),
    ]:
        out = io.StringIO()
        with (
            Listener(NO_API) as site,
            pytest.raises(ReplicateFailed, match="The site answered 501"),
        ):
            call_command(
                "run_worker",
                "--dev-account",
                "6",
                "--site",
                site.origin,
                "--once",
                *flags,
                stdout=out,
            )
        assert f"Files also downloaded from {allowed} (allowed origins)." in out.getvalue()


def test_without_any_only_the_site_and_public_addresses_are_downloaded_from(monkeypatch) -> None:
    monkeypatch.delenv("WORKER_ALLOWED_ORIGINS", raising=False)
    out = io.StringIO()
    with Listener(NO_API) as site, pytest.raises(ReplicateFailed, match="The site answered 501"):
        call_command(
            "run_worker", "--dev-account", "6", "--site", site.origin, "--once", stdout=out
        )
    assert "allowed origins" not in out.getvalue()


@pytest.mark.parametrize(
    ("flags", "environment", "problem"),
    [
        (
            ["--allow-origin", "http://10.0.0.5/files"],
            "",
            "--allow-origin / WORKER_ALLOWED_ORIGINS: 'http://10.0.0.5/files' is not an origin: "
            "write an origin as http(s)://host[:port], with no path, query or user name.",
        ),
        (
            [],
            "http://10.0.0.5, ftp://files.lan",
            "--allow-origin / WORKER_ALLOWED_ORIGINS: 'ftp://files.lan' is not an origin: only "
            "http and https URLs are downloaded, not ftp; write an origin as",
        ),
        (
            ["--site", "127.0.0.1:8000"],
            "",
            "--site must be the site's URL, such as http://127.0.0.1:8000: only http and https "
            "URLs are downloaded, not a URL without a scheme.",
        ),
    ],
)
def test_what_is_not_an_origin_is_refused_before_starting(
    monkeypatch, flags: list[str], environment: str, problem: str
) -> None:
    monkeypatch.setenv("WORKER_ALLOWED_ORIGINS", environment)
    with Listener(NO_API) as site, pytest.raises(CommandError) as refused:
        call_command("run_worker", "--dev-account", "6", "--site", site.origin, "--once", *flags)
    assert str(refused.value).startswith(problem)
    assert site.connections == 0  # refused before the agent started
