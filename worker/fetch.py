"""The worker agent's downloads (app files, dataset files, a task's input files), which a deal
cannot turn against the worker's own machine or network.

    fetcher = Fetcher(allowed_origins=[origin_of("http://127.0.0.1:8000")], max_bytes=2**29)
    sha256_hex = fetcher.download("https://example.org/input.txt", Path("input.txt"))

`download` refuses (FetchRefused: the fault of whoever gave the URL, the same on every worker)
a URL that is not http(s), whose host is a localhost name or resolves to any address that is not
public (worker.addresses), that redirects more than MAX_REDIRECTS times, or whose file is larger
than `max_bytes`; origins given as allowed (the agent's own site, and what its operator allows)
skip the address rule, by their exact scheme, host and port. It fails (FetchFailed: maybe this
worker's network) on a connection error, an HTTP status other than 200, or past a timeout.

How the address checked is the address reached: the host name is resolved once
(getaddrinfo, every address it gives checked), then the TCP connection is made to one of those
very addresses, in order, never by name again, so a DNS answer that changes in between
(rebinding) reaches nothing unchecked. http.client then speaks HTTP over that socket with the
URL's own host in the Host header, and TLS is set up with the host name as SNI and as the name
the certificate must match (ssl.create_default_context: the system's trust store). This takes
one overridden method, http.client's `connect`; requests would need its adapter's connection
pools replaced, and it has no way to bound a whole download in time.

Redirects are followed by hand, each hop checked as the first. Every read of the socket waits
at most `read_timeout` and never past the download's deadline (`deadline_seconds` from its
start), so a server that trickles bytes cannot hold the worker; the content is taken as sent
(Accept-Encoding: identity, so nothing inflates on the way). Proxies from the environment are
not used. Name resolution itself is bounded only by the system resolver's own timeouts.

Only the standard library here: the agent talks to its site over HTTP and imports no Django.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import ipaddress
import socket
import ssl
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from worker.addresses import Origin, address_refusal, host_refusal, origin_of

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
# The longest a whole download may take, redirects included (512 MiB at about 1 MB/s).
DEADLINE_SECONDS = 600.0
MAX_REDIRECTS = 5
CHUNK_BYTES = 1 << 20
USER_AGENT = "superedge-worker"
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# What urllib.parse.quote leaves as it is in a request target (as requests does).
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
# URLs and host names in messages are cut to these lengths, so that the reason fits a report.
_SHOWN_URL_CHARS = 120
_SHOWN_HOST_CHARS = 60
_PUBLIC_ONLY = (
    "Workers download only from public addresses (and from their own site, or origins their "
    "operator allows)."
)


class FetchError(Exception):
    """A download that did not happen; the message names the URL and why."""


class FetchRefused(FetchError):
    """The URL breaks a rule (scheme, address, redirects, size): the fault of whoever gave it,
    and every worker would refuse it too."""


class FetchFailed(FetchError):
    """The download failed on the way (connection, TLS, HTTP status, time): it may work later
    or from another worker."""


class _DeadlinePassed(TimeoutError):
    """No time is left before the download's deadline."""


class Fetcher:
    """Downloads into files under the rules above; `allowed_origins` skip the address rule."""

    def __init__(
        self,
        *,
        allowed_origins: Iterable[Origin] = (),
        max_bytes: int,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        deadline_seconds: float = DEADLINE_SECONDS,
    ) -> None:
        self.allowed_origins = frozenset(allowed_origins)
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline_seconds = deadline_seconds
        self._tls = ssl.create_default_context()

    def download(self, url: str, dest: Path) -> str:
        """Fetch `url` into `dest` and give its sha256 hex; FetchRefused or FetchFailed
        otherwise, with `dest` removed (nothing half-written is left)."""
        deadline = time.monotonic() + self.deadline_seconds
        try:
            return self._download(url, dest, deadline)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise

    def _download(self, url: str, dest: Path, deadline: float) -> str:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            shown = _shown(current, first=url)
            origin, addresses = self._resolved(current, shown)
            connection = _PinnedConnection(
                origin,
                addresses,
                tls=self._tls if origin.scheme == "https" else None,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
                deadline=deadline,
            )
            response = None
            try:
                response = _get(connection, current)
                if response.status in _REDIRECT_STATUSES:
                    location = (response.getheader("Location") or "").strip()
                    if not location:
                        raise FetchFailed(
                            f"Could not download {shown}: HTTP {response.status} without a "
                            "Location to go to."
                        )
                    try:
                        current = urllib.parse.urljoin(current, location)
                    except ValueError:
                        raise FetchRefused(
                            f"Refused to download {shown}: it redirects to {_shown(location)!r}, "
                            "which is not a URL."
                        ) from None
                    continue
                if response.status != 200:
                    raise FetchFailed(f"Could not download {shown}: HTTP {response.status}.")
                return self._save(response, dest, shown)
            except (OSError, ValueError, http.client.HTTPException) as error:
                reason = str(error) or type(error).__name__
                if time.monotonic() >= deadline:  # a wait cut short by the deadline
                    reason = f"it took more than {self.deadline_seconds:g} s"
                raise FetchFailed(f"Could not download {shown}: {reason}.") from None
            finally:
                if response is not None:
                    response.close()
                connection.close()
        raise FetchRefused(
            f"Refused to download {_shown(url)}: it redirects more than {MAX_REDIRECTS} times."
        )

    def _resolved(self, url: str, shown: str) -> tuple[Origin, list[tuple]]:
        """The origin of `url` and the addresses its host resolves to (getaddrinfo entries),
        every one checked unless the origin is allowed."""
        try:
            origin = origin_of(url)
        except ValueError as error:
            raise FetchRefused(f"Refused to download {shown}: {error}.") from None
        allowed = origin in self.allowed_origins
        problem = None if allowed else host_refusal(origin.host)
        if problem:
            raise FetchRefused(f"Refused to download {shown}: {problem}. {_PUBLIC_ONLY}")
        try:
            found = socket.getaddrinfo(
                origin.host, origin.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, ValueError) as error:  # UnicodeError too: a name IDNA cannot encode
            raise FetchFailed(
                f"Could not download {shown}: its host does not resolve ({error})."
            ) from None
        if allowed:
            return origin, found
        for *_, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
            problem = address_refusal(address)
            if problem:
                raise FetchRefused(
                    f"Refused to download {shown}: its host {_cut(origin.host, _SHOWN_HOST_CHARS)} "
                    f"resolves to {address}, {problem}. {_PUBLIC_ONLY}"
                )
        return origin, found

    def _save(self, response: http.client.HTTPResponse, dest: Path, shown: str) -> str:
        if response.length is not None and response.length > self.max_bytes:
            raise FetchRefused(
                f"Refused to download {shown}: it is {response.length:,} bytes, more than the "
                f"{self.max_bytes:,} a download may be."
            )
        digest = hashlib.sha256()
        size = 0
        with dest.open("wb") as file:
            while chunk := response.read(CHUNK_BYTES):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchRefused(
                        f"Refused to download {shown}: it is larger than the "
                        f"{self.max_bytes:,} bytes a download may be."
                    )
                digest.update(chunk)
                file.write(chunk)
        return digest.hexdigest()


def _shown(url: str, *, first: str | None = None) -> str:
    """`url` for a message: cut when long, with the URL that redirected to it."""
    cut = _cut(url, _SHOWN_URL_CHARS)
    return cut if first in (None, url) else f"{cut} (redirected from {_shown(first)})"


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _get(connection: _PinnedConnection, url: str) -> http.client.HTTPResponse:
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection.request(
        "GET",
        urllib.parse.quote(target, safe=_TARGET_SAFE),
        headers={"User-Agent": USER_AGENT, "Connection": "close"},
    )
    return connection.getresponse()


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection to `origin.host` made to one of the addresses resolved (and
    checked) beforehand instead of resolving the name again; the Host header, TLS SNI and
    the certificate's name are the host name's."""

    def __init__(
        self,
        origin: Origin,
        addresses: list[tuple],
        *,
        tls: ssl.SSLContext | None,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
    ) -> None:
        super().__init__(origin.host, origin.port, timeout=connect_timeout)
        self.default_port = 443 if tls is not None else 80  # no :port in Host when default
        self._addresses = addresses
        self._tls = tls
        self._read_timeout = read_timeout
        self._deadline = deadline

    def connect(self) -> None:
        failure: OSError = OSError(f"{self.host} has no address")
        for family, kind, proto, _, sockaddr in self._addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(_bounded(self.timeout, self._deadline))
                sock.connect(sockaddr)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except OSError as error:
                sock.close()
                failure = error
                continue
            self.sock = _BoundedSocket(
                sock, read_timeout=self._read_timeout, deadline=self._deadline
            )
            return
        raise failure


def _bounded(timeout: float, deadline: float) -> float:
    """`timeout`, shortened to what is left before `deadline`; _DeadlinePassed when nothing."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise _DeadlinePassed
    return min(timeout, left)


class _BoundedSocket:
    """The connected socket as http.client uses it (sendall, makefile, close), every send and
    read waiting at most the read timeout and never past the deadline. Closed once both the
    connection and the response's file let go of it, as socket.socket does."""

    def __init__(self, sock: socket.socket, *, read_timeout: float, deadline: float) -> None:
        self._sock = sock
        self._read_timeout = read_timeout
        self._deadline = deadline
        self._files = 0
        self._closed = False

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_bounded(self._read_timeout, self._deadline))
        self._sock.sendall(data)

    def recv_into(self, buffer) -> int:
        self._sock.settimeout(_bounded(self._read_timeout, self._deadline))
        return self._sock.recv_into(buffer)

    def makefile(self, mode: str = "rb") -> io.BufferedReader:
        self._files += 1
        return io.BufferedReader(_SocketReader(self))

    def close(self) -> None:
        self._closed = True
        self._release()

    def _file_closed(self) -> None:
        self._files -= 1
        self._release()

    def _release(self) -> None:
        if self._closed and not self._files:
            self._sock.close()


class _SocketReader(io.RawIOBase):
    def __init__(self, owner: _BoundedSocket) -> None:
        self._owner = owner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._owner.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._owner._file_closed()
        super().close()
