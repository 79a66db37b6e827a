"""The client address every per-client limit keys on: REMOTE_ADDR, or behind a trusted proxy
the first address of X-Forwarded-For, from the right, that is not a trusted proxy."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from marketplace.clientip import client_ip, parse_address

PROXY = "10.0.0.5"


def request_from(remote_addr: str, forwarded_for: str | None = None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


@pytest.fixture(autouse=True)
def _proxies(settings):
    settings.TRUSTED_PROXIES = [PROXY, "192.168.0.0/24", "2001:db8:ffff::/48"]


def test_without_a_proxy_the_client_is_the_peer():
    assert client_ip(request_from("203.0.113.7")) == "203.0.113.7"


def test_a_forwarded_for_from_an_untrusted_peer_is_ignored():
    spoofed = request_from("203.0.113.7", "198.51.100.1, 198.51.100.2")

    assert client_ip(spoofed) == "203.0.113.7"


def test_nothing_is_trusted_by_default(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from(PROXY, "198.51.100.1")) == PROXY


def test_behind_a_trusted_proxy_the_client_is_what_it_forwarded_for():
    assert client_ip(request_from(PROXY, "198.51.100.1")) == "198.51.100.1"


def test_entries_the_client_wrote_left_of_the_proxys_are_not_believed():
    # The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    assert client_ip(request_from(PROXY, "1.1.1.1, 198.51.100.1")) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right():
    request = request_from(PROXY, "1.1.1.1, 198.51.100.1, 192.168.0.9, 10.0.0.5")

    assert client_ip(request) == "198.51.100.1"


def test_malformed_entries_are_skipped():
    request = request_from(PROXY, "198.51.100.1, unknown, , 999.1.1.1")

    assert client_ip(request) == "198.51.100.1"


def test_only_trusted_proxies_in_the_header_gives_the_farthest_of_them():
    assert client_ip(request_from(PROXY, "192.168.0.3, 192.168.0.9")) == "192.168.0.3"
    assert client_ip(request_from(PROXY)) == PROXY


def test_ports_brackets_and_mapped_addresses_are_understood():
    request = request_from("::ffff:10.0.0.5", "[2001:db8::1]:443, 198.51.100.1:5678")
    assert client_ip(request) == "198.51.100.1"

    request = request_from("2001:db8:ffff::1", "2001:db8::1")
    assert client_ip(request) == "2001:db8::1"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7:80 ", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("::ffff:198.51.100.1", "198.51.100.1"),
        ("unknown", None),
        ("", None),
        ("1.2.3", None),
        ("[2001:db8::1", None),
        ("[2001:db8::1]x", None),
        ("203.0.113.7:http", None),
    ],
)
def test_parse_address(text, address):
    parsed = parse_address(text)

    assert (str(parsed) if parsed else None) == address


def test_a_remote_addr_that_is_no_address_is_kept_as_it_is():
    assert client_ip(request_from("")) == ""


def test_a_malformed_trusted_proxy_setting_says_which_entry(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.internal"]

    with pytest.raises(ImproperlyConfigured, match=r"'proxy\.internal', which is not an IP"):
        client_ip(request_from(PROXY))
