"""Sign-In with Ethereum (EIP-4361): a strict parser and builder of the message text, and the
stateless checks of a signed message.

The `siwe` package pins web3 < 8, so this module implements the parts we use. The server builds
the message (services.siwe_message_build), the wallet signs it with `personal_sign`, and
`verify` checks it here. Nonces live in the database and are consumed by services.siwe_sign_in.

Every failure raises a subclass of `SiweError` whose message says what went wrong and what the
user can do about it.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from eth_utils import is_checksum_address, to_checksum_address

from marketplace.addresses import is_address
from marketplace.chain.signing import message_signer
from marketplace.errors import AppError

# Clocks of the browser's machine and the server differ a little.
CLOCK_SKEW = timedelta(seconds=60)

_HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*"
# RFC 3986 authority: [userinfo "@"] host [":" port], host a reg-name or an IP literal.
_UNRESERVED_SUBDELIMS = r"A-Za-z0-9\-._~!$&'()*+,;="
_DOMAIN_RE = re.compile(
    rf"(?:(?:[{_UNRESERVED_SUBDELIMS}:]|%[0-9A-Fa-f]{{2}})*@)?"
    rf"(?:\[[0-9A-Fa-f:.]+\]|(?:[{_UNRESERVED_SUBDELIMS}]|%[0-9A-Fa-f]{{2}})+)"
    r"(?::[0-9]*)?"
)
_HEADER_RE = re.compile(rf"(?:(?P<scheme>{_SCHEME})://)?(?P<domain>.+)")
_SCHEME_RE = re.compile(_SCHEME)
# reserved / unreserved / " "; no line breaks.
_STATEMENT_RE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;= ]*")
_URI_RE = re.compile(rf"{_SCHEME}:[\x21-\x7e]*")
_CHAIN_ID_RE = re.compile(r"[0-9]{1,78}")  # a uint256, in few enough digits for int()
_NONCE_RE = re.compile(r"[A-Za-z0-9]{8,}")
_REQUEST_ID_RE = re.compile(rf"(?:[{_UNRESERVED_SUBDELIMS}:@]|%[0-9A-Fa-f]{{2}})*")
# RFC 3339 date-time: the offset is required.
_DATE_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_SIGNATURE_RE = re.compile(r"(?:0x)?[0-9a-fA-F]{130}")


class SiweError(AppError):
    """A sign-in message or signature was refused (400); str(error) is shown to the user."""


class MalformedMessage(SiweError):
    pass


class InvalidAddress(MalformedMessage):
    pass


class UnsupportedVersion(SiweError):
    pass


class DomainMismatch(SiweError):
    pass


class UriMismatch(SiweError):
    pass


class ChainMismatch(SiweError):
    pass


class MessageNotYetValid(SiweError):
    pass


class MessageExpired(SiweError):
    pass


class MalformedSignature(SiweError):
    pass


class SignerMismatch(SiweError):
    pass


class NonceExpired(SiweError):
    pass


class NonceNotFound(SiweError):
    pass


def _malformed(detail: str) -> MalformedMessage:
    return MalformedMessage(
        f"The sign-in message is malformed ({detail}): ask for a new one and sign it unchanged."
    )


def checksum_address(address: str) -> str:
    """The EIP-55 form of a 0x-prefixed 40-hex-digit address in any letter case."""
    if not is_address(address):
        raise InvalidAddress(
            f"{address!r} is not an Ethereum address:"
            " expected 0x followed by 40 hexadecimal digits."
        )
    return to_checksum_address(address)


def format_date_time(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, keeping only as many fractional digits as needed."""
    if value.tzinfo is None:
        raise ValueError("SIWE times must be timezone-aware")
    value = value.astimezone(UTC)
    if not value.microsecond:
        timespec = "seconds"
    elif value.microsecond % 1000 == 0:
        timespec = "milliseconds"
    else:
        timespec = "microseconds"
    return value.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def _parse_date_time(value: str, field: str) -> datetime:
    if not _DATE_TIME_RE.fullmatch(value):
        raise _malformed(f"{field} {value!r} is not an RFC 3339 date-time with a time zone")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError:
        raise _malformed(f"{field} {value!r} is not a valid date") from None


@dataclasses.dataclass(frozen=True, kw_only=True)
class SiweMessage:
    """The fields of an EIP-4361 message; constructing one validates them against the ABNF."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str | None = None
    version: str = "1"
    scheme: str | None = None
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scheme is not None and not _SCHEME_RE.fullmatch(self.scheme):
            raise _malformed(f"scheme {self.scheme!r} is not a URI scheme")
        if not _DOMAIN_RE.fullmatch(self.domain):
            raise _malformed(f"domain {self.domain!r} is not a host with an optional port")
        if not is_address(self.address):
            raise InvalidAddress(
                f"The sign-in message names {self.address!r}, which is not an Ethereum address:"
                " ask for a new message and sign it unchanged."
            )
        if not is_checksum_address(self.address):
            raise InvalidAddress(
                f"The address {self.address} in the message is not EIP-55 checksummed"
                f" (expected {to_checksum_address(self.address)}):"
                " ask for a new message and sign it unchanged."
            )
        if self.statement is not None and not _STATEMENT_RE.fullmatch(self.statement):
            raise _malformed("the statement holds a line break or a character EIP-4361 forbids")
        for name, uri in [("URI", self.uri), *(("resource", r) for r in self.resources)]:
            if not _URI_RE.fullmatch(uri):
                raise _malformed(f"{name} {uri!r} is not an absolute URI")
        if self.version != "1":
            raise UnsupportedVersion(
                f"The message uses version {self.version!r} of Sign-In with Ethereum;"
                " only version 1 is supported: ask for a new message and sign it."
            )
        if isinstance(self.chain_id, bool) or not isinstance(self.chain_id, int):
            raise _malformed(f"chain ID {self.chain_id!r} is not a number")
        if self.chain_id < 0:
            raise _malformed(f"chain ID {self.chain_id} is negative")
        if not _NONCE_RE.fullmatch(self.nonce):
            raise _malformed("the nonce must be at least 8 letters or digits")
        for name, value in [
            ("Issued At", self.issued_at),
            ("Expiration Time", self.expiration_time),
            ("Not Before", self.not_before),
        ]:
            if value is not None and value.tzinfo is None:
                raise _malformed(f"{name} has no time zone")
        if self.request_id is not None and not _REQUEST_ID_RE.fullmatch(self.request_id):
            raise _malformed("the request ID holds a character EIP-4361 forbids")

    def to_text(self) -> str:
        """The exact text the wallet signs (no trailing line break)."""
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [f"{prefix}{self.domain}{_HEADER_SUFFIX}", self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines += [
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {format_date_time(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {format_date_time(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {format_date_time(self.not_before)}")
        if self.request_id is not None:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


class _Lines:
    """The remaining lines of a message, consumed in the order the ABNF fixes."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._next = 0

    def peek(self, ahead: int = 0) -> str | None:
        index = self._next + ahead
        return self._lines[index] if index < len(self._lines) else None

    def take(self) -> str:
        line = self.peek()
        if line is None:
            raise _malformed("it ends too early")
        self._next += 1
        return line

    def field(self, label: str) -> str:
        line = self.take()
        if not line.startswith(f"{label}: "):
            raise _malformed(f"expected the line {label!r} but found {line[:40]!r}")
        return line[len(label) + 2 :]

    def optional_field(self, label: str) -> str | None:
        line = self.peek()
        if line is None or not line.startswith(f"{label}: "):
            return None
        return self.field(label)

    def optional_date_time(self, label: str) -> datetime | None:
        value = self.optional_field(label)
        return None if value is None else _parse_date_time(value, label)


def parse(text: str) -> SiweMessage:
    """Parse an EIP-4361 message exactly as the ABNF writes it: LF line breaks, no trailing one."""
    if not isinstance(text, str) or not text:
        raise _malformed("it is empty")
    if "\r" in text:
        raise _malformed("it has carriage returns; lines must end with LF only")
    lines = _Lines(text.split("\n"))

    header = lines.take()
    if not header.endswith(_HEADER_SUFFIX):
        raise _malformed("the first line must end with" + _HEADER_SUFFIX)
    match = _HEADER_RE.fullmatch(header.removesuffix(_HEADER_SUFFIX))
    if match is None:
        raise _malformed("the first line must start with the domain")
    address = lines.take()
    if lines.take() != "":
        raise _malformed("the address must be followed by an empty line")
    # No statement: an empty line then "URI: ". With one: the statement, then an empty line.
    statement: str | None = None
    if lines.peek() == "" and (lines.peek(1) or "").startswith("URI: "):
        lines.take()
    else:
        statement = lines.take()
        if lines.take() != "":
            raise _malformed("the statement must be followed by an empty line")

    uri = lines.field("URI")
    version = lines.field("Version")
    chain_id = lines.field("Chain ID")
    if not _CHAIN_ID_RE.fullmatch(chain_id):
        raise _malformed(f"chain ID {chain_id[:80]!r} is not a number")
    nonce = lines.field("Nonce")
    issued_at = _parse_date_time(lines.field("Issued At"), "Issued At")
    expiration_time = lines.optional_date_time("Expiration Time")
    not_before = lines.optional_date_time("Not Before")
    request_id = lines.optional_field("Request ID")
    resources: list[str] = []
    if lines.peek() == "Resources:":
        lines.take()
        while lines.peek() is not None:
            resource = lines.take()
            if not resource.startswith("- "):
                raise _malformed("each resource must be on a line starting with '- '")
            resources.append(resource[2:])
    if lines.peek() is not None:
        raise _malformed(f"unexpected line {lines.peek()[:40]!r}")

    return SiweMessage(
        scheme=match["scheme"],
        domain=match["domain"],
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_id),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=expiration_time,
        not_before=not_before,
        request_id=request_id,
        resources=tuple(resources),
    )


def _origin(uri: str) -> tuple[str, str, int | None]:
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        port = None
    scheme = parts.scheme.lower()
    default_port = {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or ""), port or default_port


def recover_signer(text: str, signature: str) -> str:
    """The checksummed address whose key made this `personal_sign` signature of `text`."""
    if not isinstance(signature, str) or not _SIGNATURE_RE.fullmatch(signature):
        raise MalformedSignature(
            "The signature is malformed: expected 65 bytes in hexadecimal, as MetaMask returns."
            " Sign the message again."
        )
    try:
        return message_signer(text, signature)
    except ValueError:
        raise MalformedSignature(
            "The signature is not a valid Ethereum signature: sign the message again with your"
            " wallet."
        ) from None


def verify(
    text: str,
    signature: str,
    *,
    domain: str,
    uri: str,
    chain_id: int,
    now: datetime,
) -> SiweMessage:
    """Check a signed message against this site; everything but the nonce, which needs the DB.

    `domain` is the authority the site is served from (host[:port]); `uri` any URL of the site,
    whose origin the message's URI must share.
    """
    message = parse(text)

    expected_scheme = urlsplit(uri).scheme
    if message.domain.lower() != domain.lower() or (
        message.scheme is not None and message.scheme.lower() != expected_scheme.lower()
    ):
        asked, expected = message.domain, domain
        if message.scheme:
            asked, expected = f"{message.scheme}://{asked}", f"{expected_scheme}://{expected}"
        raise DomainMismatch(
            f"This message asks to sign in to {asked}, not {expected}:"
            f" sign in from {domain} itself."
        )
    if _origin(message.uri) != _origin(uri):
        raise UriMismatch(
            f"This message is for {message.uri}, not {uri}: reload the page and sign in again."
        )
    if message.chain_id != chain_id:
        raise ChainMismatch(
            f"This message is for chain {message.chain_id}, the wrong network:"
            f" switch MetaMask to chain {chain_id} and sign in again."
        )
    if message.issued_at > now + CLOCK_SKEW:
        raise MessageNotYetValid(
            "This message was issued in the future: check your computer's clock and sign in again."
        )
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise MessageNotYetValid(
            f"This message is valid only from {format_date_time(message.not_before)}:"
            " ask for a new one and sign again."
        )
    if message.expiration_time is None:
        raise _malformed("it has no Expiration Time")
    if message.expiration_time <= now:
        raise MessageExpired("This sign-in request expired: ask for a new one and sign again.")

    signer = recover_signer(text, signature)
    if signer != message.address:
        raise SignerMismatch(
            f"The message was signed by {signer} but claims {message.address}:"
            f" in MetaMask, switch to {message.address} and sign again."
        )
    return message
