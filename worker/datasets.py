"""The encrypted dataset file: how the data market stores a dataset, and what a worker agent
decrypts into a task's input folder with the key released for that task.

Every dataset has its own random AES-256 key (:func:`generate_dataset_key`). Dataset files are
encrypted as a stream of independently authenticated chunks, so files of hundreds of megabytes
are processed in bounded memory. The format is::

    header = b"SEDS" || version (1 byte) || chunk size (uint32, big-endian) || nonce prefix (8)
    chunk  = AES-256-GCM(key, nonce = prefix || counter (uint32, big-endian),
                         plaintext = up to chunk size bytes,
                         associated data = header || final flag (1 byte))

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last one holds fewer
(possibly none) and is flagged final, so reordering, truncation, appending and tampering all
fail authentication.

No Django here: the site (datamarket.crypto, which also wraps keys at rest) and the agent share
this module.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "DATASET_KEY_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "DatasetCryptoError",
    "DatasetDecryptError",
    "DatasetKeyError",
    "EncryptResult",
    "check_dataset_key",
    "decrypt_stream",
    "encrypt_stream",
    "generate_dataset_key",
]

DATASET_KEY_SIZE = 32  # AES-256
DEFAULT_CHUNK_SIZE = 1 << 20
MAX_CHUNK_SIZE = 1 << 26  # bounds the memory a (possibly forged) header can make us allocate

_TAG_SIZE = 16
_STREAM_MAGIC = b"SEDS"
_STREAM_VERSION = 1
_STREAM_HEADER = struct.Struct(">4sBI8s")
_NONCE_PREFIX_SIZE = 8
_MAX_CHUNK_COUNT = 1 << 32
_CHUNK_NOT_FINAL = b"\x00"
_CHUNK_FINAL = b"\x01"


class DatasetCryptoError(ValueError):
    """Base class of the errors of dataset files and their keys."""


class DatasetKeyError(DatasetCryptoError):
    """A dataset key is malformed or cannot be unwrapped with this server's key."""


class DatasetDecryptError(DatasetCryptoError):
    """An encrypted dataset is damaged, tampered with, or encrypted under another key."""


@dataclass(frozen=True)
class EncryptResult:
    """Sizes of an encrypted dataset and the digest of the bytes written."""

    plain_size: int
    encrypted_size: int
    encrypted_sha256: str
    """Hex SHA-256 of the encrypted bytes exactly as written to the destination."""


def generate_dataset_key() -> bytes:
    """Return a new random 32-byte AES-256-GCM key for one dataset."""
    return AESGCM.generate_key(bit_length=DATASET_KEY_SIZE * 8)


def encrypt_stream(
    src: BinaryIO, dst: BinaryIO, *, key: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> EncryptResult:
    """Encrypt ``src`` into ``dst`` chunk by chunk, holding about one chunk in memory.

    Preconditions: ``src`` is readable from its current position to its end, ``dst`` is
    writable (both binary); ``key`` is a 32-byte dataset key; ``1 <= chunk_size <=
    MAX_CHUNK_SIZE``. Neither stream is rewound or closed.
    """
    check_dataset_key(key)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}, got {chunk_size}")
    nonce_prefix = os.urandom(_NONCE_PREFIX_SIZE)
    header = _STREAM_HEADER.pack(_STREAM_MAGIC, _STREAM_VERSION, chunk_size, nonce_prefix)
    aead = AESGCM(key)
    digest = hashlib.sha256(header)
    dst.write(header)
    encrypted_size = len(header)
    plain_size = 0
    counter = 0
    while True:
        plaintext = _read_up_to(src, chunk_size)
        # A short read means end of input; a full chunk is followed by at least an empty final.
        is_final = len(plaintext) < chunk_size
        if counter >= _MAX_CHUNK_COUNT:
            raise ValueError(
                f"The file is too large to encrypt with {chunk_size}-byte chunks: "
                "use a larger chunk_size."
            )
        flag = _CHUNK_FINAL if is_final else _CHUNK_NOT_FINAL
        sealed = aead.encrypt(_chunk_nonce(nonce_prefix, counter), plaintext, header + flag)
        dst.write(sealed)
        digest.update(sealed)
        encrypted_size += len(sealed)
        plain_size += len(plaintext)
        counter += 1
        if is_final:
            return EncryptResult(
                plain_size=plain_size,
                encrypted_size=encrypted_size,
                encrypted_sha256=digest.hexdigest(),
            )


def decrypt_stream(src: BinaryIO, dst: BinaryIO, *, key: bytes) -> int:
    """Decrypt a stream written by :func:`encrypt_stream` into ``dst``; return the plain size.

    Preconditions: ``src`` is positioned at the start of the encrypted data; ``key`` is the
    dataset's 32-byte key. Each chunk is authenticated before it is written, but a damaged
    stream is only detected when its bad chunk is reached: on :class:`DatasetDecryptError`,
    ``dst`` holds partial plaintext that the caller must discard.
    """
    check_dataset_key(key)
    header = _read_up_to(src, _STREAM_HEADER.size)
    if len(header) < _STREAM_HEADER.size:
        raise DatasetDecryptError(
            f"The encrypted dataset is cut short: it has {len(header)} bytes, less than its "
            f"{_STREAM_HEADER.size}-byte header. Upload the dataset again."
        )
    magic, version, chunk_size, nonce_prefix = _STREAM_HEADER.unpack(header)
    if magic != _STREAM_MAGIC:
        raise DatasetDecryptError(
            f"This file is not an encrypted SuperEdge dataset (it starts with {magic.hex(' ')}, "
            f"not {_STREAM_MAGIC.hex(' ')}): check that the right file is being read."
        )
    if version != _STREAM_VERSION:
        raise DatasetDecryptError(
            f"The encrypted dataset uses format version {version}, but only version "
            f"{_STREAM_VERSION} is supported: upgrade the server or upload the dataset again."
        )
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DatasetDecryptError(
            f"The encrypted dataset's header is damaged (chunk size {chunk_size} is out of "
            "range): restore the file from a backup or upload the dataset again."
        )
    aead = AESGCM(key)
    record_size = chunk_size + _TAG_SIZE
    plain_size = 0
    counter = 0
    while True:
        record = _read_up_to(src, record_size)
        # Only a short read, which means end of input, ends the stream: bytes appended after the
        # final chunk become part of it (or make it full-sized, so not final) and fail its tag.
        is_final = len(record) < record_size
        if not record:
            raise _damaged(f"it ends after {counter} chunks without its final chunk")
        if len(record) < _TAG_SIZE:
            raise _damaged(f"chunk {counter} is cut short")
        if counter >= _MAX_CHUNK_COUNT:
            raise _damaged(f"it has more than {_MAX_CHUNK_COUNT} chunks")
        flag = _CHUNK_FINAL if is_final else _CHUNK_NOT_FINAL
        try:
            plaintext = aead.decrypt(_chunk_nonce(nonce_prefix, counter), record, header + flag)
        except InvalidTag as error:
            raise _damaged(f"chunk {counter} failed its integrity check") from error
        dst.write(plaintext)
        plain_size += len(plaintext)
        counter += 1
        if is_final:
            return plain_size


def _damaged(detail: str) -> DatasetDecryptError:
    return DatasetDecryptError(
        f"The encrypted dataset cannot be decrypted ({detail}): the file was truncated, "
        "modified or corrupted, or it was encrypted with a different dataset key. Restore it "
        "from a backup or upload the dataset again."
    )


def check_dataset_key(key: bytes) -> None:
    """Raise DatasetKeyError unless `key` has the size of a dataset key."""
    if len(key) != DATASET_KEY_SIZE:
        raise DatasetKeyError(
            f"A dataset key must be {DATASET_KEY_SIZE} bytes (AES-256), got {len(key)} bytes: "
            "create keys with generate_dataset_key()."
        )


def _chunk_nonce(nonce_prefix: bytes, counter: int) -> bytes:
    return nonce_prefix + counter.to_bytes(4, "big")


def _read_up_to(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at end of input (``read`` may return short)."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    remaining = size - len(data)
    while remaining:
        part = src.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
