from __future__ import annotations

import base64
import os
import secrets
import string

import pytest

from datamarket.crypto import (
    DatasetKeyError,
    generate_dataset_key,
    server_key_weakness,
    unwrap_key,
    wrap_key,
)

SERVER_KEY = "server-secret-for-tests"


def test_wrapped_key_unwraps_to_the_same_key() -> None:
    key = generate_dataset_key()

    wrapped = wrap_key(key, server_key=SERVER_KEY)

    assert unwrap_key(wrapped, server_key=SERVER_KEY) == key
    assert len(wrapped) == 1 + 12 + 32 + 16
    assert wrapped[0] == 1
    assert key not in wrapped


def test_wrapping_twice_uses_fresh_nonces() -> None:
    key = generate_dataset_key()

    assert wrap_key(key, server_key=SERVER_KEY) != wrap_key(key, server_key=SERVER_KEY)


def test_unwrapping_with_another_server_key_is_refused() -> None:
    wrapped = wrap_key(generate_dataset_key(), server_key=SERVER_KEY)

    with pytest.raises(DatasetKeyError) as excinfo:
        unwrap_key(wrapped, server_key="another-server-secret")

    assert str(excinfo.value) == (
        "The dataset key cannot be unwrapped with this server's key: it was wrapped under a "
        "different server secret, or the stored key is corrupted. Configure the server secret "
        "the dataset was stored with."
    )


def test_tampered_wrapped_key_is_refused() -> None:
    wrapped = bytearray(wrap_key(generate_dataset_key(), server_key=SERVER_KEY))
    wrapped[20] ^= 0x01

    with pytest.raises(DatasetKeyError, match=r"^The dataset key cannot be unwrapped"):
        unwrap_key(bytes(wrapped), server_key=SERVER_KEY)


@pytest.mark.parametrize(
    ("wrapped", "described"),
    [
        (b"", "0 bytes, version missing"),
        (b"\x02" + bytes(60), "61 bytes, version 2"),
        (b"\x01" + bytes(10), "11 bytes, version 1"),
    ],
)
def test_wrapped_key_in_unknown_format_is_refused(wrapped: bytes, described: str) -> None:
    with pytest.raises(DatasetKeyError) as excinfo:
        unwrap_key(wrapped, server_key=SERVER_KEY)

    assert str(excinfo.value) == (
        f"The stored dataset key is not in a known format ({described}; expected 61 bytes, "
        "version 1): the key record is corrupted; restore it from a backup."
    )


def test_empty_server_key_is_refused() -> None:
    with pytest.raises(DatasetKeyError) as excinfo:
        wrap_key(generate_dataset_key(), server_key="")

    assert str(excinfo.value) == (
        "The server key used to wrap dataset keys is empty: configure the server secret."
    )


@pytest.mark.parametrize(
    "make_key",
    [
        pytest.param(lambda: secrets.token_urlsafe(32), id="43 base64 characters"),
        pytest.param(lambda: secrets.token_hex(32), id="64 hex digits"),
        pytest.param(lambda: base64.b64encode(os.urandom(32)).decode(), id="padded base64"),
        pytest.param(
            lambda: "".join(secrets.choice(string.printable[:94]) for _ in range(40)),
            id="40 printable characters",
        ),
    ],
)
def test_keys_of_256_random_bits_are_strong_enough(make_key) -> None:
    for _ in range(200):
        key = make_key()
        assert server_key_weakness(key) == "", key


@pytest.mark.parametrize(
    ("key", "weakness"),
    [
        pytest.param(
            "d2ead2d1c246621756619a64a2eecc93",
            "its 32 characters hold at most 128 bits, less than 256 (it needs 64 characters "
            "like these)",
            id="128-bit hex",
        ),
        pytest.param(
            "OlJxXclbU0QRnlejB5YlB9yHgjoEL4qs",
            "its 32 characters hold at most 192 bits, less than 256 (it needs 43 characters "
            "like these)",
            id="32 base64 characters",
        ),
        pytest.param(
            "zyxxyzzyxzyzxxzyyxzzxyxzyyzxxyzyzxzyxxzyzyxzzy",
            "it uses only 3 distinct characters, too few for random text (at least 10)",
            id="few characters",
        ),
        pytest.param("Tr0ub4dor&3" * 4, "it repeats a shorter pattern", id="repeated"),
        pytest.param(
            "my-very-long-dataset-key-change_me-in-production",
            "it contains the placeholder word 'change_me'",
            id="placeholder",
        ),
        pytest.param(
            "django-insecure-OlJxXclbU0QRnlejB5YlB9yHgjoEL4qs",
            "it contains the placeholder word 'insecure'",
            id="django dev key",
        ),
        pytest.param("", "its 0 characters hold at most 0 bits", id="empty"),
    ],
)
def test_weak_server_keys_are_told_why(key: str, weakness: str) -> None:
    assert server_key_weakness(key).startswith(weakness)
