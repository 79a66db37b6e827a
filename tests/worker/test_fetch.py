"""The agent's downloads: only http(s), only public addresses (the agent's site and the origins
allowed aside), connected to the address checked, redirects checked hop by hop, size and time
capped. Loopback listeners stand for the worker's own services: a refused URL reaches none."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest

from tests.worker.listener import Listener, redirect, serve, tls_for, trickle
from worker.addresses import parse_origin
from worker.fetch import Fetcher, FetchFailed, FetchRefused

BODY = b"the input file\n" * 100


def _fetcher(*allowed: str, **limits) -> Fetcher:
    return Fetcher(
        allowed_origins=[parse_origin(origin) for origin in allowed],
        max_bytes=limits.pop("max_bytes", 1 << 20),
        **limits,
    )


@pytest.fixture
def no_network(monkeypatch):
    """Any name lookup or socket opened fails the test: a refusal must come before both."""

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the network was used: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket, "socket", forbidden)


def test_an_allowed_origin_is_downloaded_with_its_sha256(tmp_path: Path) -> None:
    with Listener(serve(BODY)) as listener:
        digest = _fetcher(listener.origin).download(listener.url("/in.txt?v=1"), tmp_path / "f")
    assert digest == hashlib.sha256(BODY).hexdigest()
    assert (tmp_path / "f").read_bytes() == BODY
    (seen,) = listener.requests
    assert seen.path == "/in.txt?v=1"
    assert seen.headers["Host"] == f"127.0.0.1:{listener.port}"
    assert seen.headers["Accept-Encoding"] == "identity"  # nothing inflates on the way


def test_a_loopback_listener_not_allowed_receives_nothing(tmp_path: Path) -> None:
    with Listener(serve(BODY)) as listener, pytest.raises(FetchRefused) as refused:
        _fetcher().download(listener.url("/x"), tmp_path / "f")
    assert str(refused.value).startswith(f"Refused to download {listener.url('/x')}: its host ")
    assert "127.0.0.1 is a loopback address" in str(refused.value)
    assert (listener.connections, listener.requests) == (0, [])
    assert not (tmp_path / "f").exists()


def test_another_port_of_an_allowed_host_is_not_allowed(tmp_path: Path) -> None:
    with Listener(serve(BODY)) as listener, pytest.raises(FetchRefused, match="loopback"):
        other_port = f"http://127.0.0.1:{listener.port + 1}"
        _fetcher(other_port).download(listener.url(), tmp_path / "f")
    assert listener.connections == 0


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://10.1.2.3/", "its host 10.1.2.3 is a private address"),
        ("http://172.16.0.9/x", "its host 172.16.0.9 is a private address"),
        ("http://[::1]/", "its host ::1 is a loopback address"),
        ("http://[fd00::1]/", "its host fd00::1 is a private address (IPv6 unique local)"),
        ("http://[::ffff:10.0.0.1]/", "the IPv4-mapped form of 10.0.0.1, a private address"),
        ("http://[2002:a00:1::1]/", "the 6to4 form of 10.0.0.1, a private address"),
        ("http://169.254.169.254/latest/meta-data/", "its host 169.254.169.254 is a link-local"),
        ("http://[fe80::1]/", "its host fe80::1 is a link-local address"),
        ("http://100.64.0.1/", "a shared address (carrier-grade NAT"),
        ("http://224.0.0.251/", "a multicast address"),
        ("http://240.0.0.1/", "a reserved address"),
        ("http://0.0.0.0/", "its host 0.0.0.0 is the unspecified address"),
        ("http://2130706433/", "its host 2130706433 (127.0.0.1) is a loopback address"),
        ("http://127.1:8000/", "its host 127.1 (127.0.0.1) is a loopback address"),
        ("http://127.0.0.1./", "its host 127.0.0.1. (127.0.0.1) is a loopback address"),
        ("http://localhost/", "its host localhost names the worker's own machine"),
        ("http://api.localhost./", "names the worker's own machine"),
        ("file:///etc/passwd", "only http and https URLs are downloaded, not file"),
        ("ftp://example.org/x", "only http and https URLs are downloaded, not ftp"),
        ("gopher://example.org:70/", "not gopher"),
        ("example.org/x", "not a URL without a scheme"),
        ("http:///x", "the URL names no host"),
        ("http://[::1/", "it is not a valid URL"),
    ],
)
def test_what_is_not_public_http_is_refused_without_any_connection(
    url: str, rule: str, no_network, tmp_path: Path
) -> None:
    with pytest.raises(FetchRefused) as refused:
        _fetcher().download(url, tmp_path / "f")
    assert str(refused.value).startswith(f"Refused to download {url}: ")
    assert rule in str(refused.value)
    assert not (tmp_path / "f").exists()


def test_a_name_resolving_to_loopback_is_refused_before_connecting(
    monkeypatch, tmp_path: Path
) -> None:
    """DNS is the only thing faked: no resolver here gives a test name a loopback address."""
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "inside.example":
            return real("127.0.0.1", port, *args, **kwargs) + real("8.8.8.8", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with Listener(serve(BODY)) as listener:
        url = f"http://inside.example:{listener.port}/x"
        with pytest.raises(FetchRefused) as refused:
            _fetcher().download(url, tmp_path / "f")
    assert "its host inside.example resolves to 127.0.0.1, a loopback address" in str(refused.value)
    assert listener.connections == 0


def test_the_connection_goes_to_the_address_checked_not_to_a_second_lookup(
    monkeypatch, tmp_path: Path
) -> None:
    """A name that answers loopback once, then an unroutable address (DNS rebinding the other
    way round): the one lookup made is the address connected to, with the name as Host."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host, port, *args, **kwargs):
        if host == "pinned.example":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.255.255.1"
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with Listener(serve(BODY)) as listener:
        url = f"http://pinned.example:{listener.port}/x"
        assert _fetcher(f"http://pinned.example:{listener.port}").download(url, tmp_path / "f")
    assert lookups == ["pinned.example"]
    assert listener.requests[0].headers["Host"] == f"pinned.example:{listener.port}"


def test_a_redirect_from_an_allowed_origin_to_another_listener_is_refused(tmp_path: Path) -> None:
    with (
        Listener(serve(BODY)) as inside,
        Listener(redirect(inside.url("/secret"))) as allowed,
        pytest.raises(FetchRefused) as refused,
    ):
        _fetcher(allowed.origin).download(allowed.url("/start"), tmp_path / "f")
    assert str(refused.value).startswith(
        f"Refused to download {inside.url('/secret')} (redirected from {allowed.url('/start')}): "
        "its host 127.0.0.1 is a loopback address"
    )
    assert [seen.path for seen in allowed.requests] == ["/start"]
    assert (inside.connections, inside.requests) == (0, [])


@pytest.mark.parametrize(
    ("location", "rule"),
    [
        ("file:///etc/passwd", "only http and https URLs are downloaded, not file."),
        ("http://[::1", "it redirects to 'http://[::1', which is not a URL."),
    ],
)
def test_a_redirect_to_what_is_not_an_http_url_is_refused(
    tmp_path: Path, location: str, rule: str
) -> None:
    with Listener(redirect(location)) as allowed, pytest.raises(FetchRefused) as refused:
        _fetcher(allowed.origin).download(allowed.url(), tmp_path / "f")
    assert str(refused.value).endswith(rule)


def test_redirects_within_an_allowed_origin_are_followed(tmp_path: Path) -> None:
    def answer(handler, stopping) -> None:
        if handler.path == "/final":
            serve(BODY)(handler, stopping)
        else:
            redirect("/final", status=307)(handler, stopping)

    with Listener(answer) as listener:
        digest = _fetcher(listener.origin).download(listener.url("/start"), tmp_path / "f")
    assert digest == hashlib.sha256(BODY).hexdigest()
    assert [seen.path for seen in listener.requests] == ["/start", "/final"]


def test_more_than_five_redirects_are_refused(tmp_path: Path) -> None:
    with (
        Listener(redirect("/again")) as listener,
        pytest.raises(FetchRefused, match="it redirects more than 5 times"),
    ):
        _fetcher(listener.origin).download(listener.url("/start"), tmp_path / "f")
    assert len(listener.requests) == 6  # the first request and five redirects followed


def test_a_content_length_above_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    with (
        Listener(serve(b"", length=2_000_000)) as listener,
        pytest.raises(FetchRefused) as refused,
    ):
        _fetcher(listener.origin, max_bytes=1_000_000).download(listener.url(), tmp_path / "f")
    assert str(refused.value) == (
        f"Refused to download {listener.url()}: it is 2,000,000 bytes, more than the 1,000,000 "
        "a download may be."
    )
    assert not (tmp_path / "f").exists()


def test_a_body_growing_past_the_cap_is_refused_and_removed(tmp_path: Path) -> None:
    too_large = "larger than the 100,000 bytes a download may be"
    no_length = serve(b"x" * 300_000, length=-1)
    with Listener(no_length) as listener, pytest.raises(FetchRefused, match=too_large):
        _fetcher(listener.origin, max_bytes=100_000).download(listener.url(), tmp_path / "f")
    assert not (tmp_path / "f").exists()


def test_a_server_trickling_bytes_forever_is_cut_at_the_deadline(tmp_path: Path) -> None:
    with Listener(trickle) as listener:
        fetcher = _fetcher(listener.origin, read_timeout=30, deadline_seconds=1)
        with pytest.raises(FetchFailed) as failed:
            fetcher.download(listener.url(), tmp_path / "f")
    assert str(failed.value) == f"Could not download {listener.url()}: it took more than 1 s."
    assert not (tmp_path / "f").exists()


def test_an_http_error_is_a_failed_download_not_a_refusal(tmp_path: Path) -> None:
    def missing(handler, _stopping) -> None:
        handler.send_error(404)

    with (
        Listener(missing) as listener,
        pytest.raises(FetchFailed, match=r"Could not download .*/x: HTTP 404\."),
    ):
        _fetcher(listener.origin).download(listener.url(), tmp_path / "f")


def test_https_checks_the_certificate_against_the_host_name_not_the_address(
    monkeypatch, tmp_path: Path
) -> None:
    """The connection goes to 127.0.0.1, but TLS asks for (SNI) and verifies `localhost`, the
    URL's host: a certificate for another name is refused."""
    good, authority = tls_for(["localhost"], tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))
    with Listener(serve(BODY), tls=good) as listener:
        origin = f"https://localhost:{listener.port}"
        digest = _fetcher(origin).download(f"{origin}/x", tmp_path / "f")
    assert digest == hashlib.sha256(BODY).hexdigest()
    assert "localhost" in listener.server_names
    assert listener.requests[0].headers["Host"] == f"localhost:{listener.port}"

    other, authority = tls_for(["other.example"], tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))
    with Listener(serve(BODY), tls=other) as listener:
        origin = f"https://localhost:{listener.port}"
        with pytest.raises(FetchFailed, match="certificate"):
            _fetcher(origin).download(f"{origin}/x", tmp_path / "f")
    assert listener.requests == []
