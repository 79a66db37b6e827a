"""Encryption of datasets at rest.

Every dataset has its own random AES-256 key. That key is stored *wrapped*: encrypted with
AES-GCM under a key derived from the server secret, so the database alone does not reveal it.

Dataset files are encrypted as a stream of independently authenticated chunks, in the format
worker agents decrypt (worker.datasets, whose names this module also gives).
"""

from __future__ import annotations

import math
import os
import string

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from worker.datasets import (
    DATASET_KEY_SIZE,
    DEFAULT_CHUNK_SIZE,
    MAX_CHUNK_SIZE,
    DatasetCryptoError,
    DatasetDecryptError,
    DatasetKeyError,
    EncryptResult,
    check_dataset_key,
    decrypt_stream,
    encrypt_stream,
    generate_dataset_key,
)

__all__ = [
    "DATASET_KEY_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "DatasetCryptoError",
    "DatasetDecryptError",
    "DatasetKeyError",
    "EncryptResult",
    "decrypt_stream",
    "encrypt_stream",
    "generate_dataset_key",
    "server_key_weakness",
    "unwrap_key",
    "wrap_key",
]

_TAG_SIZE = 16  # AES-GCM's
_WRAP_VERSION = 1
_WRAP_NONCE_SIZE = 12
_WRAPPED_KEY_SIZE = 1 + _WRAP_NONCE_SIZE + DATASET_KEY_SIZE + _TAG_SIZE
_WRAP_KDF_INFO = b"superedge/datamarket/dataset-key-wrapping/v1"

# The wrapping key is HKDF-SHA256 of the server secret's text, with no salt and no stretching:
# it is only as strong as that text is unpredictable, so the text must hold 256 random bits.
SERVER_KEY_MIN_BITS = 256
_SERVER_KEY_MIN_DISTINCT = 10  # 43 random base64 characters hold ~31 distinct; 64 hex ~15.7
_HEX_DIGITS = frozenset(string.hexdigits)
_BASE64_DIGITS = frozenset(string.ascii_letters + string.digits + "+/-_")
# Words of development and placeholder values (django-insecure-…, changeme), 6 letters or
# more: a random 43-character key holds one by chance about once in ten million.
_PLACEHOLDER_WORDS = (
    "insecure",
    "changeme",
    "change-me",
    "change_me",
    "example",
    "placeholder",
    "secret",
    "password",
    "sample",
)


def server_key_weakness(server_key: str) -> str:
    """Why `server_key` is too weak to wrap dataset keys (one phrase), or "" when it is not.

    Its strength is estimated from its length and alphabet (4 bits a hexadecimal digit, 6 a
    base64 one, log2(95) any other), which must reach SERVER_KEY_MIN_BITS: 64 hexadecimal
    digits, 43 base64 characters. Random keys of that size pass the other rules (distinct
    characters, no repeated pattern, no placeholder word) but with negligible odds."""
    key = server_key.strip()
    if set(key.rstrip("=")) <= _BASE64_DIGITS:
        key = key.rstrip("=")  # base64 padding carries nothing
    characters = set(key)
    if characters <= _HEX_DIGITS:
        bits_per_character = 4.0
    elif characters <= _BASE64_DIGITS:
        bits_per_character = 6.0
    else:
        bits_per_character = math.log2(95)
    bits = int(len(key) * bits_per_character)
    if bits < SERVER_KEY_MIN_BITS:
        needed = math.ceil(SERVER_KEY_MIN_BITS / bits_per_character)
        return (
            f"its {len(key)} characters hold at most {bits} bits, less than "
            f"{SERVER_KEY_MIN_BITS} (it needs {needed} characters like these)"
        )
    if len(characters) < _SERVER_KEY_MIN_DISTINCT:
        return (
            f"it uses only {len(characters)} distinct characters, too few for random text "
            f"(at least {_SERVER_KEY_MIN_DISTINCT})"
        )
    if key in (key + key)[1:-1]:
        return "it repeats a shorter pattern"
    lowered = key.lower()
    for word in _PLACEHOLDER_WORDS:
        if word in lowered:
            return f"it contains the placeholder word {word!r}"
    return ""


def wrap_key(key: bytes, *, server_key: str) -> bytes:
    """Encrypt a dataset key under a key derived from the server secret, for storage.

    Preconditions: ``key`` comes from :func:`generate_dataset_key`; ``server_key`` is the
    server's long-lived secret, non-empty. The result is
    ``version (1) || nonce (12) || ciphertext and tag (48)`` with a fresh random nonce.
    """
    check_dataset_key(key)
    nonce = os.urandom(_WRAP_NONCE_SIZE)
    version = bytes([_WRAP_VERSION])
    sealed = AESGCM(_derive_wrapping_key(server_key)).encrypt(nonce, key, version)
    return version + nonce + sealed


def unwrap_key(wrapped: bytes, *, server_key: str) -> bytes:
    """Recover a dataset key stored by :func:`wrap_key`.

    Raises :class:`DatasetKeyError` when ``wrapped`` is not in the expected format or was
    wrapped under a different server key.
    """
    if len(wrapped) != _WRAPPED_KEY_SIZE or wrapped[0] != _WRAP_VERSION:
        raise DatasetKeyError(
            f"The stored dataset key is not in a known format ({len(wrapped)} bytes, version "
            f"{wrapped[0] if wrapped else 'missing'}; expected {_WRAPPED_KEY_SIZE} bytes, "
            f"version {_WRAP_VERSION}): the key record is corrupted; restore it from a backup."
        )
    version = wrapped[:1]
    nonce = wrapped[1 : 1 + _WRAP_NONCE_SIZE]
    sealed = wrapped[1 + _WRAP_NONCE_SIZE :]
    try:
        return AESGCM(_derive_wrapping_key(server_key)).decrypt(nonce, sealed, version)
    except InvalidTag as error:
        raise DatasetKeyError(
            "The dataset key cannot be unwrapped with this server's key: it was wrapped under "
            "a different server secret, or the stored key is corrupted. Configure the server "
            "secret the dataset was stored with."
        ) from error


def _derive_wrapping_key(server_key: str) -> bytes:
    if not server_key:
        raise DatasetKeyError(
            "The server key used to wrap dataset keys is empty: configure the server secret."
        )
    kdf = HKDF(algorithm=hashes.SHA256(), length=DATASET_KEY_SIZE, salt=None, info=_WRAP_KDF_INFO)
    return kdf.derive(server_key.encode("utf-8"))
