"""Signatures outside orders: who signed a wallet's `personal_sign` message (Sign-In with
Ethereum) or EIP-712 typed data (an ECT permit), and the scheduler's authorization of a worker.

Orders have their own (marketplace.chain.orders: digests, EIP-2098, the Hub's rules). No web3
here: only eth_account, which every process loads at startup (ChainConfig.ready).
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_keys.exceptions import ValidationError as KeyValidationError
from eth_utils import keccak

from marketplace.chain.ids import address_bytes, to_bytes32

# secp256k1's group order: signatures with s above half of it are malleable copies that
# OpenZeppelin's ECDSA refuses (ECDSAInvalidSignatureS).
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def message_signer(text: str, signature: str) -> str:
    """The checksummed address whose key made this `personal_sign` (EIP-191) signature of
    `text`; ValueError when `signature` is no valid signature."""
    try:
        return Account.recover_message(encode_defunct(text=text), signature=signature)
    except BadSignature as error:
        raise ValueError(f"Not a valid signature: {error}") from None


def permit_signer(typed_data: dict[str, Any], signature: bytes) -> str | None:
    """Who signed `typed_data` (EIP-712), None when `signature` is no valid signature by
    OpenZeppelin's rules (v 27 or 28, s in the lower half), which the token applies."""
    low_s = int.from_bytes(signature[32:64], "big") <= _SECP256K1_N // 2
    if not low_s or signature[64] not in (0, 1, 27, 28):
        return None
    try:
        return Account.recover_message(
            encode_typed_data(full_message=typed_data), signature=signature
        )
    except (BadSignature, KeyValidationError, ValueError):
        return None


def scheduler_authorization(
    *, worker: str, taskid: bytes | str, scheduler_key: LocalAccount | str | bytes
) -> bytes:
    """The scheduler's 65-byte EIP-191 signature of keccak256(worker ‖ taskid), which lets
    `worker` contribute to `taskid`. `scheduler_key` is the key of the deal's workerpool owner."""
    key = scheduler_key.key if isinstance(scheduler_key, LocalAccount) else scheduler_key
    message = encode_defunct(primitive=keccak(address_bytes(worker) + to_bytes32(taskid, "taskid")))
    return bytes(Account.sign_message(message, private_key=key).signature)
