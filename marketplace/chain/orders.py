"""PoCo v5 orders: the four EIP-712 order types, their digests (= order ids), signatures, the
order-operation (presign / close) digests, and the ABI tuples the Hub takes.

The type strings are PROTOCOL.md's, verbatim, so that orders hash as PoCo v5 (and the iexec SDK)
hash them. Hashing uses eth_abi and keccak directly: no web3 contract object is built, so the
order book can hash thousands of orders cheaply.

Field values are normalized on construction: addresses checksummed, bytes32 as 32 raw bytes
(hex strings accepted), uint256 as int. `typed_data` gives the JSON payload MetaMask signs with
`eth_signTypedData_v4`; its digest is `order_digest`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable, Iterable
from enum import IntEnum
from functools import cached_property
from typing import Any, ClassVar

from coincurve import PublicKey
from eth_abi import encode
from eth_account import Account
from eth_utils import is_address, keccak, to_checksum_address

from marketplace.chain.ids import to_bytes32

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = bytes(32)
UINT256_MAX = 2**256 - 1

HUB_DOMAIN_NAME = "SuperEdgeHub"
HUB_DOMAIN_VERSION = "1"

EIP712_DOMAIN_TYPE = (
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
APP_ORDER_TYPE = (
    "AppOrder(address app,uint256 appprice,uint256 volume,bytes32 tag,address datasetrestrict,"
    "address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
)
DATASET_ORDER_TYPE = (
    "DatasetOrder(address dataset,uint256 datasetprice,uint256 volume,bytes32 tag,"
    "address apprestrict,address workerpoolrestrict,address requesterrestrict,bytes32 salt)"
)
WORKERPOOL_ORDER_TYPE = (
    "WorkerpoolOrder(address workerpool,uint256 workerpoolprice,uint256 volume,bytes32 tag,"
    "uint256 category,uint256 trust,address apprestrict,address datasetrestrict,"
    "address requesterrestrict,bytes32 salt)"
)
REQUEST_ORDER_TYPE = (
    "RequestOrder(address app,uint256 appmaxprice,address dataset,uint256 datasetmaxprice,"
    "address workerpool,uint256 workerpoolmaxprice,address requester,uint256 volume,bytes32 tag,"
    "uint256 category,uint256 trust,address beneficiary,address callback,string params,"
    "bytes32 salt)"
)

_MEMBER_RE = re.compile(r"(address|uint256|bytes32|string) ([a-zA-Z]+)")


def _members(type_string: str) -> tuple[tuple[str, str], ...]:
    """((name, solidity type), ...) of an EIP-712 struct type string."""
    inner = type_string[type_string.index("(") + 1 : -1]
    return tuple(
        (match[2], match[1]) for match in (_MEMBER_RE.fullmatch(m) for m in inner.split(","))
    )


class OrderOperation(IntEnum):
    """PoCo's OrderOperationEnum: SIGN presigns an order on chain, CLOSE cancels it."""

    SIGN = 0
    CLOSE = 1


# Tags: bytes32 bitmaps of the features an order requires (or a pool offers).
TAG_TEE_BIT = 0
TAG_TDX_BIT = 3


def tag_from_bits(bits: Iterable[int]) -> bytes:
    """The bytes32 tag with the given bit numbers set (0 = TEE, 3 = TDX)."""
    value = 0
    for bit in bits:
        if not 0 <= bit < 256:
            raise ValueError(f"A tag has bits 0 to 255, not {bit}.")
        value |= 1 << bit
    return value.to_bytes(32, "big")


def tag_bits(tag: bytes | str) -> frozenset[int]:
    """The bit numbers set in a bytes32 tag."""
    value = int.from_bytes(to_bytes32(tag, "tag"), "big")
    return frozenset(bit for bit in range(256) if value >> bit & 1)


def tag_union(*tags: bytes | str) -> bytes:
    """Bitwise OR of tags: what a deal requires from app, dataset and request tags together."""
    value = 0
    for tag in tags:
        value |= int.from_bytes(to_bytes32(tag, "tag"), "big")
    return value.to_bytes(32, "big")


def tag_covers(*, offered: bytes | str, required: bytes | str) -> bool:
    """Whether a pool offering `offered` satisfies `required` (required & ~offered == 0)."""
    offered_value = int.from_bytes(to_bytes32(offered, "tag"), "big")
    return int.from_bytes(to_bytes32(required, "tag"), "big") & ~offered_value == 0


def new_salt() -> bytes:
    """A random bytes32 salt: it makes every order unique, hence its digest (id)."""
    return os.urandom(32)


@functools.lru_cache(maxsize=65536)
def checksummed(value: str) -> str | None:
    """The EIP-55 form of a 0x address (None if `value` is not one). Cached: checksumming
    hashes the address, and an order book sees the same few thousand addresses again and
    again."""
    return to_checksum_address(value) if is_address(value) else None


def _address(value: Any, field: str) -> str:
    address = checksummed(value) if isinstance(value, str) else None
    if address is None:
        raise ValueError(f"{field} must be a 0x address, not {value!r}.")
    return address


def _uint256(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= UINT256_MAX:
        raise ValueError(f"{field} must be an integer from 0 to 2**256-1, not {value!r}.")
    return value


_NORMALIZERS = {"address": _address, "uint256": _uint256, "bytes32": to_bytes32}


class _Order:
    """Normalizes and describes the fields of an order dataclass from its TYPE string."""

    TYPE: ClassVar[str]
    MEMBERS: ClassVar[tuple[tuple[str, str], ...]]

    def __init_subclass__(cls) -> None:
        cls.MEMBERS = _members(cls.TYPE)

    @classmethod
    def primary_type(cls) -> str:
        return cls.TYPE[: cls.TYPE.index("(")]

    def __post_init__(self) -> None:
        for name, kind in self.MEMBERS:
            value = getattr(self, name)
            if kind == "string":
                if not isinstance(value, str):
                    raise ValueError(f"{name} must be a string, not {value!r}.")
            else:
                object.__setattr__(self, name, _NORMALIZERS[kind](value, name))

    def values(self) -> tuple[Any, ...]:
        """The field values in the type's order."""
        return tuple(getattr(self, name) for name, _ in self.MEMBERS)


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppOrder(_Order):
    """An app owner's offer: runs of `app` at `appprice` (ECT base units) each, `volume` of them."""

    TYPE: ClassVar[str] = APP_ORDER_TYPE

    app: str
    appprice: int
    volume: int = 1
    tag: bytes = ZERO_BYTES32
    datasetrestrict: str = ZERO_ADDRESS
    workerpoolrestrict: str = ZERO_ADDRESS
    requesterrestrict: str = ZERO_ADDRESS
    salt: bytes = dataclasses.field(default_factory=new_salt)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetOrder(_Order):
    """A dataset owner's offer: uses of `dataset` inside tasks at `datasetprice` each."""

    TYPE: ClassVar[str] = DATASET_ORDER_TYPE

    dataset: str
    datasetprice: int
    volume: int = 1
    tag: bytes = ZERO_BYTES32
    apprestrict: str = ZERO_ADDRESS
    workerpoolrestrict: str = ZERO_ADDRESS
    requesterrestrict: str = ZERO_ADDRESS
    salt: bytes = dataclasses.field(default_factory=new_salt)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerpoolOrder(_Order):
    """A pool owner's offer: tasks of `category` at `workerpoolprice` each, with `trust`."""

    TYPE: ClassVar[str] = WORKERPOOL_ORDER_TYPE

    workerpool: str
    workerpoolprice: int
    volume: int = 1
    tag: bytes = ZERO_BYTES32
    category: int
    trust: int = 0
    apprestrict: str = ZERO_ADDRESS
    datasetrestrict: str = ZERO_ADDRESS
    requesterrestrict: str = ZERO_ADDRESS
    salt: bytes = dataclasses.field(default_factory=new_salt)


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestOrder(_Order):
    """A requester's bid for `volume` tasks of `app` (with `dataset`, on `workerpool` when
    set), at most the given prices, results to `beneficiary`; `params` is a JSON string."""

    TYPE: ClassVar[str] = REQUEST_ORDER_TYPE

    app: str
    appmaxprice: int
    dataset: str = ZERO_ADDRESS
    datasetmaxprice: int = 0
    workerpool: str = ZERO_ADDRESS
    workerpoolmaxprice: int
    requester: str
    volume: int = 1
    tag: bytes = ZERO_BYTES32
    category: int
    trust: int = 0
    beneficiary: str
    callback: str = ZERO_ADDRESS
    params: str = "{}"
    salt: bytes = dataclasses.field(default_factory=new_salt)


Order = AppOrder | DatasetOrder | WorkerpoolOrder | RequestOrder


@dataclasses.dataclass(frozen=True)
class Domain:
    """An EIP-712 domain: EIP712Domain(string name,string version,uint256 chainId,address
    verifyingContract). Our Hub's is `hub_domain(...)`."""

    name: str
    version: str
    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain_id", _uint256(self.chain_id, "chain_id"))
        address = _address(self.verifying_contract, "verifying_contract")
        object.__setattr__(self, "verifying_contract", address)

    @cached_property
    def separator(self) -> bytes:
        """The domain separator (hashStruct of the domain)."""
        return keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    keccak(text=EIP712_DOMAIN_TYPE),
                    keccak(text=self.name),
                    keccak(text=self.version),
                    self.chain_id,
                    self.verifying_contract,
                ],
            )
        )

    def as_typed_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


def hub_domain(*, chain_id: int, hub_address: str) -> Domain:
    """The EIP-712 domain of our Hub deployed at `hub_address` on chain `chain_id`."""
    return Domain(HUB_DOMAIN_NAME, HUB_DOMAIN_VERSION, chain_id, hub_address)


def operation_type(order_class: type[Order]) -> str:
    """PoCo v5's `<X>OrderOperation(<X>Order order,uint256 operation)<X>Order(...)` type."""
    primary = order_class.primary_type()
    return f"{primary}Operation({primary} order,uint256 operation){order_class.TYPE}"


@functools.cache
def _type_hash(type_string: str) -> bytes:
    return keccak(text=type_string)


def _word(kind: str, value: Any) -> bytes:
    """One 32-byte ABI word of a static EIP-712 member (strings: the hash of their bytes)."""
    if kind == "bytes32":
        return value
    if kind == "uint256":
        return value.to_bytes(32, "big")
    if kind == "address":
        return bytes(12) + bytes.fromhex(value[2:])
    return keccak(text=value)


def order_struct_hash(order: Order) -> bytes:
    """EIP-712 hashStruct of the order (strings hashed as keccak256 of their UTF-8 bytes).

    Every member is one 32-byte word, so the encoding is their concatenation: written out
    here, it costs a tenth of eth_abi's generic encoder (the book hashes every order)."""
    words = [_type_hash(order.TYPE)]
    words += [
        _word(kind, value) for (_, kind), value in zip(order.MEMBERS, order.values(), strict=True)
    ]
    return keccak(b"".join(words))


def _digest(domain: Domain, struct_hash: bytes) -> bytes:
    return keccak(b"\x19\x01" + domain.separator + struct_hash)


def order_digest(order: Order, domain: Domain) -> bytes:
    """The order's EIP-712 digest under `domain`: what its owner signs, and its id on chain
    (`viewConsumed(digest)`)."""
    return _digest(domain, order_struct_hash(order))


def operation_struct_hash(order: Order, operation: OrderOperation) -> bytes:
    """hashStruct of `<X>OrderOperation{order, operation}`."""
    return keccak(
        encode(
            ["bytes32", "bytes32", "uint256"],
            [keccak(text=operation_type(type(order))), order_struct_hash(order), int(operation)],
        )
    )


def operation_digest(order: Order, operation: OrderOperation, domain: Domain) -> bytes:
    """The digest the order's owner signs to presign (SIGN) or cancel (CLOSE) it through
    `manage<X>Order` sent by someone else."""
    return _digest(domain, operation_struct_hash(order, operation))


# How a member of each type is written in a typed-data message; addresses and strings as they
# are. uint256 as a decimal string: JavaScript numbers lose precision above 2**53.
_MESSAGE_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "uint256": str,
    "bytes32": lambda value: "0x" + value.hex(),
}


def _message(order: Order) -> dict[str, Any]:
    return {
        name: _MESSAGE_ENCODERS.get(kind, _as_is)(getattr(order, name))
        for name, kind in order.MEMBERS
    }


def _as_is(value: Any) -> Any:
    return value


def _types(order_class: type[Order]) -> dict[str, list[dict[str, str]]]:
    return {
        "EIP712Domain": [
            {"name": name, "type": kind} for name, kind in _members(EIP712_DOMAIN_TYPE)
        ],
        order_class.primary_type(): [
            {"name": name, "type": kind} for name, kind in order_class.MEMBERS
        ],
    }


def typed_data(order: Order, domain: Domain) -> dict[str, Any]:
    """The JSON payload for `eth_signTypedData_v4` (uint256 as decimal strings, bytes32 as 0x
    hex); signing it signs `order_digest(order, domain)`."""
    return {
        "types": _types(type(order)),
        "primaryType": type(order).primary_type(),
        "domain": domain.as_typed_data(),
        "message": _message(order),
    }


def operation_typed_data(order: Order, operation: OrderOperation, domain: Domain) -> dict[str, Any]:
    """The `eth_signTypedData_v4` payload of an order operation (see `operation_digest`)."""
    primary = type(order).primary_type()
    types = _types(type(order))
    types[f"{primary}Operation"] = [
        {"name": "order", "type": primary},
        {"name": "operation", "type": "uint256"},
    ]
    return {
        "types": types,
        "primaryType": f"{primary}Operation",
        "domain": domain.as_typed_data(),
        "message": {"order": _message(order), "operation": str(int(operation))},
    }


def sign_digest(digest: bytes, private_key: str | bytes) -> bytes:
    """65-byte signature r || s || v (v = 27 or 28) of a digest, as wallets return it."""
    return bytes(Account.unsafe_sign_hash(digest, private_key).signature)


def sign_order(order: Order, domain: Domain, private_key: str | bytes) -> bytes:
    """The order owner's 65-byte signature, as `eth_signTypedData_v4` would give it.

    Only for server-held keys and dev accounts; users sign in their wallet."""
    return sign_digest(order_digest(order, domain), private_key)


def sign_operation(
    order: Order, operation: OrderOperation, domain: Domain, private_key: str | bytes
) -> bytes:
    """The owner's 65-byte signature of an order operation."""
    return sign_digest(operation_digest(order, operation, domain), private_key)


def to_compact_signature(signature: bytes) -> bytes:
    """EIP-2098: the 64-byte r || (yParity << 255 | s) form of a 65-byte signature."""
    if len(signature) != 65:
        raise ValueError(f"A full signature has 65 bytes, not {len(signature)}.")
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    if v not in (0, 1, 27, 28):
        raise ValueError(f"Signature v must be 27 or 28 (or 0 or 1), not {v}.")
    if s >> 255:
        raise ValueError("Signature s is not in the lower half order: no compact form.")
    return r + (((v % 27) << 255) | s).to_bytes(32, "big")


def from_compact_signature(signature: bytes) -> bytes:
    """EIP-2098: the 65-byte r || s || v (v = 27 or 28) form of a 64-byte signature."""
    if len(signature) != 64:
        raise ValueError(f"A compact signature has 64 bytes, not {len(signature)}.")
    y_parity_and_s = int.from_bytes(signature[32:], "big")
    s = y_parity_and_s & ((1 << 255) - 1)
    return signature[:32] + s.to_bytes(32, "big") + bytes([27 + (y_parity_and_s >> 255)])


# Half the order of secp256k1: signatures with a larger s are refused (EIP-2).
_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def recover_signer(digest: bytes, signature: bytes | str) -> str:
    """Checksummed address that signed `digest` with a 65- or 64-byte (EIP-2098) signature.

    Raises ValueError for a malformed signature. ERC-1271 contract signers are not covered:
    ask the Hub (`verifySignature`) for those."""
    if isinstance(signature, str):
        signature = bytes.fromhex(signature.removeprefix("0x"))
    if len(signature) == 64:
        signature = from_compact_signature(signature)
    if len(signature) != 65:
        raise ValueError(f"A signature has 65 or 64 bytes, not {len(signature)}.")
    if signature[64] in (0, 1):
        signature = signature[:64] + bytes([signature[64] + 27])
    if signature[64] not in (27, 28):
        # eth_account would read 35 and above as EIP-155 values; the Hub refuses them.
        raise ValueError(
            f"Invalid signature: its v value is {signature[64]}, not 27 or 28 (or 0 or 1)."
        )
    if int.from_bytes(signature[32:64], "big") > _SECP256K1_HALF_N:
        # (r, n - s) with the other v signs the same digest: the Hub (OpenZeppelin's ECDSA)
        # refuses this twin, so accepting it here would promise what the chain refuses.
        raise ValueError(
            "Invalid signature: its s value is in the upper half (a malleable signature); "
            "sign again with a standard wallet."
        )
    try:
        public_key = PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest, hasher=None
        )
    except ValueError as error:
        raise ValueError(f"Invalid signature: {error}") from error
    return checksummed("0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex())


def order_tuple(order: Order, sign: bytes = b"") -> tuple[Any, ...]:
    """The ABI struct the Hub takes for an order: its fields in type order, then `bytes sign`
    (empty for a presigned order)."""
    return (*order.values(), bytes(sign))


def operation_tuple(order: Order, operation: OrderOperation, sign: bytes = b"") -> tuple[Any, ...]:
    """The `<X>OrderOperation` struct of `manage<X>Order`: (order, uint8 operation, bytes sign).
    `sign` is the owner's operation signature, empty when the owner sends the call."""
    return (order_tuple(order), int(operation), bytes(sign))


def order_from_typed_message(order_class: type[Order], message: dict[str, Any]) -> Order:
    """The order back from the `message` of `typed_data` (as stored or received as JSON)."""
    values = {}
    for name, kind in order_class.MEMBERS:
        value = message[name]
        values[name] = int(value) if kind == "uint256" and isinstance(value, str) else value
    return order_class(**values)
