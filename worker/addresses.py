"""Where a worker may download from: the rules the worker agent applies to every file it
fetches (worker.fetch), and that the site applies early to the input file URLs a buyer gives
(marketplace.orders), so that a deal cannot make the pool's workers reach into their own
machine or network (server-side request forgery).

A URL is fit when it is http(s) and its host is public: not a localhost name, and no address it
stands for is loopback, private (RFC 1918, IPv6 unique local), link-local (where cloud metadata
answers, 169.254.169.254), shared (carrier-grade NAT), multicast, reserved, unspecified or
another special-purpose range, nor an IPv4-mapped, NAT64, 6to4 or Teredo form of one of those.
The agent's own site, and origins its operator allows, are the exceptions (by origin).

Only the standard library here: the agent imports this module and no Django.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from typing import NamedTuple

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = {"http": 80, "https": 443}

# Checked in this order, after the networks below; the first that matches names the rule.
_RULES: tuple[tuple[str, str], ...] = (
    ("is_unspecified", "the unspecified address"),
    ("is_loopback", "a loopback address (the worker's own machine)"),
    (
        "is_link_local",
        "a link-local address (where cloud metadata answers, at 169.254.169.254)",
    ),
    ("is_multicast", "a multicast address"),
    ("is_reserved", "a reserved address"),
)
# Ranges that ipaddress does not count as private, or does not name on every Python version.
_SPECIAL_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.ip_network("100.64.0.0/10"), "a shared address (carrier-grade NAT, RFC 6598)"),
    (ipaddress.ip_network("192.0.0.0/24"), "an IETF protocol address (RFC 6890)"),
    (ipaddress.ip_network("fc00::/7"), "a private address (IPv6 unique local)"),
    (ipaddress.ip_network("fec0::/10"), "a site-local address"),
    (ipaddress.ip_network("64:ff9b:1::/48"), "a local-use NAT64 address (RFC 8215)"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What inet_aton reads as an IPv4 address besides dotted quads: 127.1, 0x7f.0.0.1, 2130706433.
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


class Origin(NamedTuple):
    """A URL's scheme, host (lower case, IPv6 without brackets) and port (the scheme's default
    when the URL gives none): two URLs with the same origin reach the same server."""

    scheme: str
    host: str
    port: int


def origin_of(url: str) -> Origin:
    """The origin of the http(s) URL `url`; ValueError saying what is wrong otherwise (a phrase
    to put after the URL: "only http and https URLs are downloaded, not ftp")."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"it is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(
            f"only http and https URLs are downloaded, not {scheme or 'a URL without a scheme'}"
        )
    if not parts.hostname:
        raise ValueError("the URL names no host")
    if port == 0:
        raise ValueError("its port is 0, which no server listens on")
    return Origin(scheme, parts.hostname, port or SCHEMES[scheme])


def parse_origin(text: str) -> Origin:
    """An origin written as scheme://host[:port], as in an allow-list; ValueError with a sentence
    saying how to write it otherwise."""
    how = "write an origin as http(s)://host[:port], with no path, query or user name"
    try:
        parts = urllib.parse.urlsplit(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not an origin: {how}.") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{text!r} is not an origin: {how}.")
    try:
        return origin_of(text.strip())
    except ValueError as error:
        raise ValueError(f"{text!r} is not an origin: {error}; {how}.") from None


def address_refusal(address: Address) -> str | None:
    """Why a worker may not download from `address` (a phrase: "a loopback address (…)"), or
    None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped, form = address.ipv4_mapped, "IPv4-mapped"
        if mapped is None and address in _NAT64:
            mapped, form = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
        if mapped is not None:  # the IPv4 address itself is reached: only its rules count
            problem = address_refusal(mapped)
            return f"the {form} form of {mapped}, {problem}" if problem else None
        embedded = [("6to4", address.sixtofour)]
        embedded += [("Teredo", inner) for inner in address.teredo or ()]
        for form, inner in embedded:
            problem = address_refusal(inner) if inner is not None else None
            if problem:
                return f"the {form} form of {inner}, {problem}"
    for network, rule in _SPECIAL_NETWORKS:
        if address.version == network.version and address in network:
            return rule
    for attribute, rule in _RULES:
        if getattr(address, attribute):
            return rule
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a special-purpose address that is not public"
    return None


def literal_address(host: str) -> Address | None:
    """The address `host` spells, if it is an address rather than a name (IPv4 in any form
    inet_aton reads, such as 127.1 or 2130706433; IPv6 without brackets); no DNS is asked."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_refusal(host: str) -> str | None:
    """Why a worker may not download from `host` as far as can be told without DNS (a phrase:
    "its host 10.1.2.3 is a private address"): a localhost name, or an address that is not
    public; None otherwise."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return f"its host {host} names the worker's own machine (loopback)"
    address = literal_address(name)
    problem = address_refusal(address) if address is not None else None
    if problem:
        spelled = f"{host} ({address})" if address.version == 4 and str(address) != host else host
        return f"its host {spelled} is {problem}"
    return None


def url_refusal(url: str) -> str | None:
    """Why a worker may not download `url` as far as can be told without DNS (a phrase to put
    after the URL), or None; the agent also checks every address the host resolves to."""
    try:
        origin = origin_of(url)
    except ValueError as error:
        return str(error)
    return host_refusal(origin.host)
