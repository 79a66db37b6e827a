from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta

import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from marketplace.accounts import siwe
from tests.marketplace.accounts.helpers import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    CHAIN_ID,
    DOMAIN,
    URI,
    make_message,
    sign,
)

EIP_EXAMPLE = """\
example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json"""


def _verify(text: str, signature: str, **overrides):
    arguments = {"domain": DOMAIN, "uri": URI, "chain_id": CHAIN_ID, "now": datetime.now(UTC)}
    return siwe.verify(text, signature, **(arguments | overrides))


# Parsing and building


def test_parse_reads_the_eip_4361_example_and_builds_it_back_unchanged():
    message = siwe.parse(EIP_EXAMPLE)

    assert message == siwe.SiweMessage(
        domain="example.com",
        address="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        statement="I accept the ExampleOrg Terms of Service: https://example.com/tos",
        uri="https://example.com/login",
        chain_id=1,
        nonce="32891756",
        issued_at=datetime(2021, 9, 30, 16, 25, 24, tzinfo=UTC),
        resources=(
            "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
            "https://example.com/my-web2-claim.json",
        ),
    )
    assert message.to_text() == EIP_EXAMPLE


def test_build_writes_every_field_in_the_abnf_order():
    message = siwe.SiweMessage(
        scheme="https",
        domain="localhost:8000",
        address=ALICE,
        statement="Sign in.",
        uri="https://localhost:8000/",
        chain_id=31337,
        nonce="abcdEFGH12345678",
        issued_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        expiration_time=datetime(2025, 1, 2, 3, 9, 5, 250000, tzinfo=UTC),
        not_before=datetime(2025, 1, 2, 3, 4, 0, 123456, tzinfo=UTC),
        request_id="req-1",
        resources=("https://localhost:8000/terms",),
    )

    assert message.to_text() == (
        "https://localhost:8000 wants you to sign in with your Ethereum account:\n"
        f"{ALICE}\n"
        "\n"
        "Sign in.\n"
        "\n"
        "URI: https://localhost:8000/\n"
        "Version: 1\n"
        "Chain ID: 31337\n"
        "Nonce: abcdEFGH12345678\n"
        "Issued At: 2025-01-02T03:04:05Z\n"
        "Expiration Time: 2025-01-02T03:09:05.250Z\n"
        "Not Before: 2025-01-02T03:04:00.123456Z\n"
        "Request ID: req-1\n"
        "Resources:\n"
        "- https://localhost:8000/terms"
    )
    assert siwe.parse(message.to_text()) == message


def test_a_message_without_statement_has_two_empty_lines_and_round_trips():
    message = make_message(statement=None)

    assert f"{ALICE}\n\n\nURI: " in message.to_text()
    assert siwe.parse(message.to_text()) == message


def test_a_statement_that_looks_like_a_uri_line_stays_a_statement():
    message = make_message(statement="URI: https://evil.test/")

    assert siwe.parse(message.to_text()).statement == "URI: https://evil.test/"


def test_times_with_an_offset_are_read_as_the_same_instant():
    text = (
        make_message()
        .to_text()
        .replace(
            "Issued At: " + siwe.format_date_time(make_message().issued_at),
            "Issued At: 2025-01-02T05:04:05.5+02:00",
        )
    )

    assert siwe.parse(text).issued_at == datetime(2025, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)


_HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?"
_hosts = st.from_regex(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL}){{0,3}}", fullmatch=True)
_domains = st.builds(
    lambda host, port: host if port is None else f"{host}:{port}",
    _hosts,
    st.none() | st.integers(min_value=1, max_value=65535),
)
_uris = st.builds(
    lambda scheme, domain, path: f"{scheme}://{domain}/{path}",
    st.sampled_from(["http", "https", "ipfs"]),
    _domains,
    st.text(alphabet=string.ascii_letters + string.digits + "-._~/?=&%", max_size=20),
)
_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)


@given(
    scheme=st.none() | st.sampled_from(["http", "https"]),
    domain=_domains,
    address=st.binary(min_size=20, max_size=20).map(to_checksum_address),
    statement=st.none()
    | st.text(alphabet=string.ascii_letters + string.digits + "-._~:/?#[]@!$&'()*+,;= "),
    uri=_uris,
    chain_id=st.integers(min_value=0, max_value=2**256),
    nonce=st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=32),
    issued_at=_times,
    expiration_time=st.none() | _times,
    not_before=st.none() | _times,
    request_id=st.none() | st.text(alphabet=string.ascii_letters + string.digits + "-._~:@!$&"),
    resources=st.lists(_uris, max_size=3).map(tuple),
)
def test_parse_of_build_is_identity_for_valid_fields(**fields):
    message = siwe.SiweMessage(**fields)

    assert siwe.parse(message.to_text()) == message


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda t: t + "\n", siwe.MalformedMessage),
        (lambda t: t.replace("\n", "\r\n"), siwe.MalformedMessage),
        (lambda t: t.replace(" wants you to sign in", " would like you to sign in"), None),
        (lambda t: t.replace(f"{ALICE}\n\n", f"{ALICE}\n"), siwe.MalformedMessage),
        (lambda t: t.replace(ALICE, ALICE[:-1]), siwe.InvalidAddress),
        (lambda t: t.replace(ALICE, ALICE.lower()), siwe.InvalidAddress),
        (lambda t: t.replace("Sign in to SuperEdge", "Sign in\nto SuperEdge"), None),
        (lambda t: t.replace("URI: ", "Uri: "), None),
        (lambda t: t.replace("Version: 1", "Version: 2"), siwe.UnsupportedVersion),
        (lambda t: t.replace("Chain ID: 31337", "Chain ID: 0x7a69"), None),
        (lambda t: t.replace("Chain ID: 31337", "Chain ID: " + "9" * 5000), None),
        (lambda t: t.replace("Nonce: abcdEFGH12345678", "Nonce: abc"), None),
        (lambda t: t.replace("Nonce: abcdEFGH12345678", "Nonce: abcd-EFGH-1234"), None),
        (lambda t: re.sub("Issued At: .*", "Issued At: yesterday", t), None),
        (lambda t: t.replace("Z\nExpiration", "\nExpiration"), None),
        (lambda t: re.sub("Expiration Time: .*", "Expiration Time: 2025-13-40T00:00:00Z", t), None),
        (lambda t: "\n".join(reversed(t.split("\n"))), None),
        (lambda t: t + "\nFavourite Colour: blue", None),
        (lambda t: t.split("\nURI:")[0], None),
        (lambda t: "", None),
    ],
    ids=[
        "trailing line break",
        "CRLF",
        "wrong header",
        "missing empty line",
        "short address",
        "lowercase address",
        "statement with line break",
        "misspelt field",
        "version 2",
        "hex chain id",
        "chain id of 5000 digits",
        "short nonce",
        "nonce with dashes",
        "not a date",
        "time without zone",
        "impossible date",
        "fields out of order",
        "unknown field",
        "truncated",
        "empty",
    ],
)
def test_parse_rejects_malformed_messages(change, error):
    text = change(make_message().to_text())

    with pytest.raises(error or siwe.MalformedMessage) as raised:
        siwe.parse(text)

    assert isinstance(raised.value, siwe.SiweError)
    assert str(raised.value).endswith(("sign it unchanged.", "sign it."))


def test_a_lowercase_address_is_refused_with_its_checksummed_form():
    text = make_message().to_text().replace(ALICE, ALICE.lower())

    with pytest.raises(siwe.InvalidAddress) as raised:
        siwe.parse(text)

    assert str(raised.value) == (
        f"The address {ALICE.lower()} in the message is not EIP-55 checksummed"
        f" (expected {ALICE}): ask for a new message and sign it unchanged."
    )


def test_checksum_address_accepts_any_case_and_refuses_non_addresses():
    assert siwe.checksum_address(ALICE.lower()) == ALICE
    assert siwe.checksum_address(ALICE.upper().replace("0X", "0x")) == ALICE
    with pytest.raises(siwe.InvalidAddress):
        siwe.checksum_address("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")


# Verification


def test_verify_returns_the_message_signed_by_its_address():
    message = make_message()
    text = message.to_text()

    assert _verify(text, sign(text, ALICE_KEY)) == message


def test_verify_accepts_the_same_origin_with_an_explicit_default_port():
    text = make_message(uri="https://superedge.test:443/login").to_text()

    assert _verify(text, sign(text, ALICE_KEY)).uri == "https://superedge.test:443/login"


def test_verify_refuses_a_signature_by_another_address():
    text = make_message().to_text()

    with pytest.raises(siwe.SignerMismatch) as raised:
        _verify(text, sign(text, BOB_KEY))

    assert str(raised.value) == (
        f"The message was signed by {BOB} but claims {ALICE}:"
        f" in MetaMask, switch to {ALICE} and sign again."
    )


def test_verify_refuses_a_signature_of_another_text():
    text = make_message().to_text()

    with pytest.raises(siwe.SignerMismatch):
        _verify(text, sign(text.replace("Sign in", "Log in"), ALICE_KEY))


@pytest.mark.parametrize(
    "signature",
    ["", "0x", "0x1234", "zz" * 65, "0x" + "00" * 65, "0x" + "11" * 65, "0x" + "ab" * 66, 42],
)
def test_verify_refuses_malformed_signatures(signature):
    text = make_message().to_text()

    with pytest.raises(siwe.MalformedSignature) as raised:
        _verify(text, signature)

    assert "sign the message again" in str(raised.value).lower()


def test_verify_refuses_another_domain():
    text = make_message(domain="evil.test").to_text()

    with pytest.raises(siwe.DomainMismatch) as raised:
        _verify(text, sign(text, ALICE_KEY))

    assert str(raised.value) == (
        "This message asks to sign in to evil.test, not superedge.test:"
        " sign in from superedge.test itself."
    )


def test_verify_refuses_another_scheme_in_the_header():
    text = make_message(scheme="http").to_text()

    with pytest.raises(siwe.DomainMismatch):
        _verify(text, sign(text, ALICE_KEY))


@pytest.mark.parametrize(
    "uri",
    ["https://evil.test/", "http://superedge.test/", "https://superedge.test:8443/"],
)
def test_verify_refuses_a_uri_of_another_origin(uri):
    text = make_message(uri=uri).to_text()

    with pytest.raises(siwe.UriMismatch) as raised:
        _verify(text, sign(text, ALICE_KEY))

    assert str(raised.value) == (
        f"This message is for {uri}, not {URI}: reload the page and sign in again."
    )


def test_verify_refuses_another_chain():
    text = make_message(chain_id=1).to_text()

    with pytest.raises(siwe.ChainMismatch) as raised:
        _verify(text, sign(text, ALICE_KEY))

    assert str(raised.value) == (
        "This message is for chain 1, the wrong network:"
        " switch MetaMask to chain 31337 and sign in again."
    )


def test_verify_refuses_an_expired_message():
    now = datetime.now(UTC)
    text = make_message(
        issued_at=now - timedelta(minutes=10), expiration_time=now - timedelta(seconds=1)
    ).to_text()

    with pytest.raises(siwe.MessageExpired) as raised:
        _verify(text, sign(text, ALICE_KEY), now=now)

    assert str(raised.value) == "This sign-in request expired: ask for a new one and sign again."


def test_verify_refuses_a_message_without_expiration_time():
    text = make_message(expiration_time=None).to_text()

    with pytest.raises(siwe.MalformedMessage) as raised:
        _verify(text, sign(text, ALICE_KEY))

    assert "it has no Expiration Time" in str(raised.value)


def test_verify_refuses_a_message_issued_in_the_future():
    now = datetime.now(UTC)
    text = make_message(issued_at=now + siwe.CLOCK_SKEW + timedelta(seconds=1)).to_text()

    with pytest.raises(siwe.MessageNotYetValid) as raised:
        _verify(text, sign(text, ALICE_KEY), now=now)

    assert str(raised.value) == (
        "This message was issued in the future: check your computer's clock and sign in again."
    )


def test_verify_tolerates_a_slightly_fast_browser_clock():
    now = datetime.now(UTC).replace(microsecond=0)
    text = make_message(issued_at=now + siwe.CLOCK_SKEW).to_text()

    assert _verify(text, sign(text, ALICE_KEY), now=now).issued_at == now + siwe.CLOCK_SKEW


def test_verify_refuses_a_message_before_its_not_before_time():
    now = datetime.now(UTC)
    text = make_message(not_before=now + timedelta(minutes=2)).to_text()

    with pytest.raises(siwe.MessageNotYetValid):
        _verify(text, sign(text, ALICE_KEY), now=now)


def test_verify_checks_the_message_before_the_signature():
    text = make_message(domain="evil.test").to_text()

    with pytest.raises(siwe.DomainMismatch):
        _verify(text, "not a signature")
