"""The address rules shared by the worker agent and the site: public addresses pass, every
other range is named, in any form it hides in; origins as an allow-list writes them."""

from __future__ import annotations

import ipaddress

import pytest

from worker.addresses import Origin, address_refusal, parse_origin, url_refusal


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "a loopback address (the worker's own machine)"),
        ("10.0.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address (where cloud metadata answers"),
        ("100.100.100.200", "a shared address (carrier-grade NAT, RFC 6598)"),
        ("192.0.0.8", "an IETF protocol address"),
        ("239.255.255.250", "a multicast address"),
        ("255.255.255.255", "a reserved address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104
        ("198.18.0.1", "a private address"),
        ("::", "the unspecified address"),
        ("fd00:ec2::254", "a private address (IPv6 unique local)"),
        ("fec0::1", "a site-local address"),
        ("ff02::1", "a multicast address"),
        ("64:ff9b:1::a", "a local-use NAT64 address"),
        ("::ffff:169.254.169.254", "the IPv4-mapped form of 169.254.169.254, a link-local"),
        ("64:ff9b::7f00:1", "the NAT64 form of 127.0.0.1, a loopback address"),
        ("2002:a9fe:a9fe::1", "the 6to4 form of 169.254.169.254, a link-local address"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "the Teredo form of 10.0.0.1, a private"),
    ],
)
def test_every_other_range_is_named(address: str, rule: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)).startswith(rule)


@pytest.mark.parametrize(
    "url", ["https://example.org/in.txt", "http://93.184.215.14:8080/x", "http://[2606:4700::1]/"]
)
def test_public_http_urls_pass_without_dns(url: str) -> None:
    assert url_refusal(url) is None


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("http://127.0.0.1:8000", Origin("http", "127.0.0.1", 8000)),
        ("HTTPS://Files.Example/", Origin("https", "files.example", 443)),
        ("http://[::1]:9000", Origin("http", "::1", 9000)),
    ],
)
def test_an_origin_is_scheme_host_and_port(text: str, origin: Origin) -> None:
    assert parse_origin(text) == origin


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("http://127.0.0.1:8000/files", "with no path, query or user name"),
        ("http://user@10.0.0.5", "with no path, query or user name"),
        ("127.0.0.1:8000", "http(s)://host[:port]"),
        ("ftp://files.example", "only http and https URLs are downloaded, not ftp"),
        ("http://", "the URL names no host"),
    ],
)
def test_what_is_not_an_origin_is_refused_with_how_to_write_one(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="write an origin as http") as refused:
        parse_origin(text)
    assert f"{text!r} is not an origin: " in str(refused.value)
    assert problem in str(refused.value)
