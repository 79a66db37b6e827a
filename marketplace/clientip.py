"""The address of the client a request comes from, the key of every per-client limit.

It is REMOTE_ADDR, unless REMOTE_ADDR is one of the proxies in TRUSTED_PROXIES (addresses or
networks): then X-Forwarded-For is read from the right, each trusted proxy's entry skipped, and
the first address that is not a trusted proxy is the client. Entries left of it were written by
the client itself and are never believed, so a client cannot choose its address by sending the
header; a peer that is not a trusted proxy has its header ignored altogether.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(request: HttpRequest) -> str:
    """The client's address as text (IPv4-mapped IPv6 as IPv4); REMOTE_ADDR unchanged when it
    is not an address (e.g. a Unix socket's empty one)."""
    remote = request.META.get("REMOTE_ADDR", "")
    peer = parse_address(remote)
    if peer is None:
        return remote
    proxies = trusted_proxies()
    if not _is_trusted(peer, proxies):
        return str(peer)
    client = peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed(forwarded.split(",")):
        address = parse_address(entry)
        if address is None:
            continue
        client = address
        if not _is_trusted(address, proxies):
            break
    return str(client)


def parse_address(text: str) -> IPAddress | None:
    """An address as proxies write it ("203.0.113.7", "203.0.113.7:5678", "[2001:db8::1]:443",
    "2001:db8::1"), or None when it is none of these."""
    text = text.strip()
    port = ""
    if text.startswith("["):
        text, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            return None
        port = after[1:]
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def trusted_proxies() -> tuple[IPNetwork, ...]:
    """TRUSTED_PROXIES as networks; ImproperlyConfigured naming an entry that is not one."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


def trusted_proxies_problems(entries: Iterable[str]) -> list[str]:
    """What is wrong with each entry of a TRUSTED_PROXIES list (empty: nothing)."""
    problems = []
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            problems.append(
                f"TRUSTED_PROXIES holds {entry!r}, which is not an IP address or network: list "
                "the addresses or CIDR networks of your reverse proxies, separated by commas "
                "(e.g. 10.0.0.5,192.168.0.0/24)."
            )
    return problems


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    if problems := trusted_proxies_problems(entries):
        raise ImproperlyConfigured(" ".join(problems))
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _is_trusted(address: IPAddress, proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)
