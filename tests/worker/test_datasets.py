"""The encrypted dataset file (worker.datasets): written in chunks, read back whole, and every
change to it detected."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.datasets import (
    DatasetDecryptError,
    DatasetKeyError,
    EncryptResult,
    decrypt_stream,
    encrypt_stream,
    generate_dataset_key,
)

HEADER_SIZE = 17  # magic (4) + version (1) + chunk size (4) + nonce prefix (8)
TAG_SIZE = 16
CHUNK = 64


def encrypt(plaintext: bytes, key: bytes, chunk_size: int = CHUNK) -> tuple[bytes, EncryptResult]:
    dst = io.BytesIO()
    result = encrypt_stream(io.BytesIO(plaintext), dst, key=key, chunk_size=chunk_size)
    return dst.getvalue(), result


def decrypt(ciphertext: bytes, key: bytes) -> bytes:
    dst = io.BytesIO()
    size = decrypt_stream(io.BytesIO(ciphertext), dst, key=key)
    assert size == len(dst.getvalue())
    return dst.getvalue()


def chunk_span(index: int, chunk_size: int = CHUNK) -> slice:
    start = HEADER_SIZE + index * (chunk_size + TAG_SIZE)
    return slice(start, start + chunk_size + TAG_SIZE)


def test_generated_keys_are_32_random_bytes() -> None:
    first, second = generate_dataset_key(), generate_dataset_key()

    assert len(first) == 32
    assert len(second) == 32
    assert first != second


def test_key_of_wrong_length_is_refused() -> None:
    with pytest.raises(DatasetKeyError) as excinfo:
        encrypt_stream(io.BytesIO(b"data"), io.BytesIO(), key=bytes(16))

    assert str(excinfo.value) == (
        "A dataset key must be 32 bytes (AES-256), got 16 bytes: "
        "create keys with generate_dataset_key()."
    )


@pytest.mark.parametrize(
    ("size", "chunk_count"),
    [(0, 1), (1, 1), (CHUNK - 1, 1), (CHUNK, 2), (CHUNK + 1, 2), (5 * CHUNK + 7, 6)],
    ids=["empty", "one-byte", "under-a-chunk", "exactly-a-chunk", "over-a-chunk", "several"],
)
def test_round_trip(size: int, chunk_count: int) -> None:
    key = generate_dataset_key()
    plaintext = os.urandom(size)

    ciphertext, result = encrypt(plaintext, key)

    assert decrypt(ciphertext, key) == plaintext
    assert result == EncryptResult(
        plain_size=size,
        encrypted_size=HEADER_SIZE + size + chunk_count * TAG_SIZE,
        encrypted_sha256=hashlib.sha256(ciphertext).hexdigest(),
    )
    assert len(ciphertext) == result.encrypted_size


def test_default_chunk_size_round_trip_over_several_megabytes() -> None:
    key = generate_dataset_key()
    plaintext = os.urandom((3 << 20) + 123)
    dst = io.BytesIO()

    result = encrypt_stream(io.BytesIO(plaintext), dst, key=key)

    assert result.encrypted_size == HEADER_SIZE + len(plaintext) + 4 * TAG_SIZE
    assert decrypt(dst.getvalue(), key) == plaintext


@settings(max_examples=60, deadline=None)
@given(plaintext=st.binary(max_size=2000), chunk_size=st.integers(min_value=1, max_value=300))
def test_round_trip_of_any_data_and_chunk_size(plaintext: bytes, chunk_size: int) -> None:
    key = generate_dataset_key()

    ciphertext, result = encrypt(plaintext, key, chunk_size)

    assert decrypt(ciphertext, key) == plaintext
    assert result.plain_size == len(plaintext)
    assert result.encrypted_sha256 == hashlib.sha256(ciphertext).hexdigest()


class TrickleReader(io.BytesIO):
    """A source that returns at most three bytes per read, like a slow socket."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(3 if size is None or size < 0 else min(size, 3))


def test_short_reads_from_the_source_do_not_change_the_chunking() -> None:
    key = generate_dataset_key()
    plaintext = os.urandom(3 * CHUNK + 5)
    dst = io.BytesIO()

    encrypt_stream(TrickleReader(plaintext), dst, key=key, chunk_size=CHUNK)
    decrypted = io.BytesIO()
    decrypt_stream(TrickleReader(dst.getvalue()), decrypted, key=key)

    assert len(dst.getvalue()) == HEADER_SIZE + len(plaintext) + 4 * TAG_SIZE
    assert decrypted.getvalue() == plaintext


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    plaintext = b"patient-id,diagnosis\n" * 50

    ciphertext, _result = encrypt(plaintext, generate_dataset_key())

    assert b"patient-id" not in ciphertext
    assert b"diagnosis" not in ciphertext


def test_encrypting_twice_gives_different_ciphertexts() -> None:
    key = generate_dataset_key()

    first, _ = encrypt(b"same data", key)
    second, _ = encrypt(b"same data", key)

    assert first != second


@pytest.mark.parametrize("offset", [0, 4, 5, 9, HEADER_SIZE, HEADER_SIZE + CHUNK + 3, -1])
def test_tampering_with_any_byte_is_detected(offset: int) -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK + 10), key)
    tampered = bytearray(ciphertext)
    tampered[offset] ^= 0x01

    with pytest.raises(DatasetDecryptError):
        decrypt(bytes(tampered), key)


def test_tampered_chunk_reports_which_chunk_failed() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK + 10), key)
    tampered = bytearray(ciphertext)
    tampered[chunk_span(1).start] ^= 0x80

    with pytest.raises(DatasetDecryptError) as excinfo:
        decrypt(bytes(tampered), key)

    assert str(excinfo.value) == (
        "The encrypted dataset cannot be decrypted (chunk 1 failed its integrity check): the "
        "file was truncated, modified or corrupted, or it was encrypted with a different dataset "
        "key. Restore it from a backup or upload the dataset again."
    )


def test_truncating_the_last_chunk_is_detected() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK + 10), key)

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 2 failed its integrity check\)"):
        decrypt(ciphertext[:-1], key)


def test_dropping_the_final_chunk_is_detected() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK + 10), key)

    with pytest.raises(DatasetDecryptError, match=r"\(it ends after 2 chunks without its final"):
        decrypt(ciphertext[: chunk_span(2).start], key)


def test_truncating_to_a_chunk_shorter_than_a_tag_is_detected() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK), key)

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 2 is cut short\)"):
        decrypt(ciphertext[:-1], key)


def test_dropping_a_middle_chunk_is_detected() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(3 * CHUNK + 10), key)
    span = chunk_span(1)

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 1 failed its integrity check\)"):
        decrypt(ciphertext[: span.start] + ciphertext[span.stop :], key)


def test_swapping_two_chunks_is_detected() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(3 * CHUNK + 10), key)
    first, second = ciphertext[chunk_span(0)], ciphertext[chunk_span(1)]
    swapped = ciphertext[:HEADER_SIZE] + second + first + ciphertext[chunk_span(2).start :]

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 0 failed its integrity check\)"):
        decrypt(swapped, key)


def test_chunks_from_another_file_under_the_same_key_are_detected() -> None:
    key = generate_dataset_key()
    original, _ = encrypt(os.urandom(2 * CHUNK + 10), key)
    other, _ = encrypt(os.urandom(2 * CHUNK + 10), key)
    spliced = original[: chunk_span(1).start] + other[chunk_span(1).start :]

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 1 failed its integrity check\)"):
        decrypt(spliced, key)


@pytest.mark.parametrize(
    "garbage",
    [b"\0", bytes(range(TAG_SIZE)), bytes(i % 251 for i in range(CHUNK + TAG_SIZE))],
    ids=["one-byte", "tag-sized", "chunk-sized"],
)
def test_appended_garbage_is_detected(garbage: bytes) -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK + 10), key)

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 2 failed its integrity check\)"):
        decrypt(ciphertext + garbage, key)


def test_appending_to_a_stream_with_an_empty_final_chunk_is_detected() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(os.urandom(2 * CHUNK), key)

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 2 failed its integrity check\)"):
        decrypt(ciphertext + os.urandom(5), key)


def test_wrong_key_is_detected_and_nothing_is_written() -> None:
    ciphertext, _ = encrypt(b"secret rows", generate_dataset_key())
    dst = io.BytesIO()

    with pytest.raises(DatasetDecryptError, match=r"\(chunk 0 failed its integrity check\)"):
        decrypt_stream(io.BytesIO(ciphertext), dst, key=generate_dataset_key())

    assert dst.getvalue() == b""


def test_stream_shorter_than_the_header_is_refused() -> None:
    with pytest.raises(DatasetDecryptError) as excinfo:
        decrypt(b"SEDS\x01", generate_dataset_key())

    assert str(excinfo.value) == (
        "The encrypted dataset is cut short: it has 5 bytes, less than its 17-byte header. "
        "Upload the dataset again."
    )


def test_file_that_is_not_an_encrypted_dataset_is_refused() -> None:
    with pytest.raises(DatasetDecryptError) as excinfo:
        decrypt(b"PK\x03\x04" + bytes(40), generate_dataset_key())

    assert str(excinfo.value) == (
        "This file is not an encrypted SuperEdge dataset (it starts with 50 4b 03 04, not "
        "53 45 44 53): check that the right file is being read."
    )


def test_unknown_format_version_is_refused() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(b"rows", key)

    with pytest.raises(DatasetDecryptError, match=r"uses format version 9, but only version 1"):
        decrypt(ciphertext[:4] + b"\x09" + ciphertext[5:], key)


def test_forged_huge_chunk_size_is_refused_before_allocating() -> None:
    key = generate_dataset_key()
    ciphertext, _ = encrypt(b"rows", key)
    forged = ciphertext[:5] + (0xFFFFFFFF).to_bytes(4, "big") + ciphertext[9:]

    with pytest.raises(DatasetDecryptError, match=r"chunk size 4294967295 is out of range"):
        decrypt(forged, key)


@pytest.mark.parametrize("chunk_size", [0, -1, (1 << 26) + 1])
def test_chunk_size_out_of_range_is_a_programming_error(chunk_size: int) -> None:
    with pytest.raises(ValueError, match=r"^chunk_size must be between 1 and 67108864"):
        encrypt_stream(
            io.BytesIO(b"x"), io.BytesIO(), key=generate_dataset_key(), chunk_size=chunk_size
        )
