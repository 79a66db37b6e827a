"""Errors of the chain layer, and the decoding of revert data into something a person can read.

Failures of the node or of a contract leave `marketplace.chain` as a `ChainError`:
`ChainUnavailable` when the node does not answer, `ChainRevert` when a contract refused a call
or a transaction, `ContractMissing` when no contract of ours is where one was called
(`ContractsNotDeployed`: the site has no deployment at all), plain `ChainError` when the node
refused a transaction (funds, nonce): callers never see web3's own exceptions. A revert
carries the error's name and its named arguments, decoded from the revert data with the ABIs
that declare the error, and a message for people: the one registered for that error name with
`register_message`, else a readable rendering of the name and arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import is_address, keccak, to_checksum_address

ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]
PANIC_SELECTOR = keccak(text="Panic(uint256)")[:4]

# https://docs.soliditylang.org/en/latest/control-structures.html#panic-via-assert-and-error-via-require
PANIC_REASONS: dict[int, str] = {
    0x00: "generic compiler panic",
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "conversion to an invalid enum value",
    0x22: "incorrectly encoded storage byte array",
    0x31: "pop() on an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory (allocation too large)",
    0x51: "call to an uninitialized internal function",
}


class ChainError(Exception):
    """Base of every error raised by marketplace.chain; str(error) is meant for people."""


class ChainUnavailable(ChainError):
    """The JSON-RPC node did not answer (down, unreachable or too slow)."""


class ContractMissing(ChainError):
    """No contract that answers the call is at the address called: nothing is there, or
    something else than ours (a dev chain restarted without its state has lost our contracts)."""


class ContractsNotDeployed(ContractMissing):
    """This site has no deployment of our contracts on the chain it is configured for."""


class ChainRevert(ChainError):
    """A contract refused a call or a transaction.

    `name` is the Solidity error's name ("Error" for require messages, "Panic" for compiler
    checks, "Reverted" when no data came back, "UnknownError" for a selector no given ABI
    declares, "OutOfGas" for a mined transaction that used all its gas), `arguments` its
    arguments by ABI name, `message` the text for people. `data` is the raw revert data and
    `tx_hash` the mined transaction that failed, if any.

    The arguments are not in `.args`: Python keeps that one a tuple, (name, arguments, message).
    """

    def __init__(
        self,
        name: str,
        arguments: dict[str, Any],
        message: str,
        *,
        data: bytes = b"",
        tx_hash: str | None = None,
    ) -> None:
        super().__init__(name, arguments, message)
        self.name = name
        self.arguments = arguments
        self.message = message
        self.data = data
        self.tx_hash = tx_hash

    def __str__(self) -> str:
        return self.message


MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {}


def register_message(
    error_name: str,
) -> Callable[[Callable[[dict[str, Any]], str]], Callable[[dict[str, Any]], str]]:
    """Decorator: the function builds the message for people of the error `error_name` from its
    decoded arguments (keyed by their ABI names). A later registration replaces an earlier one.
    """

    def decorator(build: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
        MESSAGES[error_name] = build
        return build

    return decorator


def short_address(address: str) -> str:
    """ "0x1234…abcd": the checksummed address shortened for messages; other text unchanged."""
    if not is_address(address):
        return address
    checksummed = to_checksum_address(address)
    return f"{checksummed[:6]}…{checksummed[-4:]}"


def _readable(value: Any) -> str:
    if isinstance(value, str) and is_address(value) and value.startswith("0x"):
        return short_address(value)
    if isinstance(value, bytes):
        hexed = "0x" + value.hex()
        return hexed if len(value) <= 8 else f"{hexed[:10]}…{hexed[-4:]}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_readable(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_readable(item) for item in value) + "]"
    return str(value)


def describe_error(name: str, arguments: dict[str, Any]) -> str:
    """The fallback message: the error's name and its arguments, addresses shortened."""
    rendered = ", ".join(f"{key}={_readable(value)}" for key, value in arguments.items())
    return f"The contract refused: {name}({rendered})."


def _abi_type(entry: dict[str, Any]) -> str:
    """Canonical type of an ABI input, tuples spelled out as Solidity hashes them."""
    kind = entry["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in entry["components"])
        return f"({inner}){kind.removeprefix('tuple')}"
    return kind


def _named(entries: Sequence[dict[str, Any]], values: Sequence[Any]) -> dict[str, Any]:
    return {
        entry.get("name") or f"arg{index}": _named_value(entry, value)
        for index, (entry, value) in enumerate(zip(entries, values, strict=True))
    }


def _named_value(entry: dict[str, Any], value: Any) -> Any:
    kind = entry["type"]
    if kind.endswith("]"):
        element = {**entry, "type": kind[: kind.rindex("[")]}
        return [_named_value(element, item) for item in value]
    if kind == "tuple":
        return _named(entry["components"], value)
    if kind == "address":
        return to_checksum_address(value)
    return value


def error_selector(entry: dict[str, Any]) -> bytes:
    """4-byte selector of an ABI `error` entry."""
    signature = f"{entry['name']}({','.join(_abi_type(item) for item in entry['inputs'])})"
    return keccak(text=signature)[:4]


def _find_error(selector: bytes, abis: Iterable[Sequence[dict[str, Any]]]) -> dict | None:
    for abi in abis:
        for entry in abi:
            if entry.get("type") == "error" and error_selector(entry) == selector:
                return entry
    return None


def _decode(
    data: bytes, abis: Iterable[Sequence[dict[str, Any]]]
) -> tuple[str, dict[str, Any], str] | None:
    """(name, arguments, default message) of revert data, None when it cannot be decoded."""
    selector, payload = data[:4], data[4:]
    try:
        if not data:
            return "Reverted", {}, "The contract refused without giving a reason."
        if selector == ERROR_STRING_SELECTOR:
            (reason,) = decode(["string"], payload)
            return "Error", {"message": reason}, reason or "The contract refused."
        if selector == PANIC_SELECTOR:
            (code,) = decode(["uint256"], payload)
            reason = PANIC_REASONS.get(code, "unknown panic code")
            return (
                "Panic",
                {"code": code},
                f"The contract failed an internal check: {reason} (panic 0x{code:02x}).",
            )
        entry = _find_error(selector, abis)
        if entry is None:
            return None
        values = decode([_abi_type(item) for item in entry["inputs"]], payload)
    except (DecodingError, OverflowError, ValueError):
        return None
    arguments = _named(entry["inputs"], values)
    return entry["name"], arguments, describe_error(entry["name"], arguments)


def decode_revert(
    data: bytes, abis: Iterable[Sequence[dict[str, Any]]] = (), *, tx_hash: str | None = None
) -> ChainRevert:
    """The ChainRevert for revert `data` (raw bytes, as returned by the node).

    Custom errors are looked up by selector in `abis` (lists of ABI entries; the first that
    declares the selector names it). Undecodable data gives an "UnknownError" with a readable
    message; the message of a decoded error is the one registered for its name, if any.
    """
    decoded = _decode(bytes(data), abis)
    if decoded is None:
        selector, payload = data[:4], data[4:]
        return ChainRevert(
            "UnknownError",
            {"selector": "0x" + selector.hex(), "data": "0x" + payload.hex()},
            "The contract refused with an error this site cannot decode "
            f"(selector 0x{selector.hex()}, {len(payload)} bytes of arguments).",
            data=bytes(data),
            tx_hash=tx_hash,
        )
    name, arguments, default = decoded
    build = MESSAGES.get(name)
    message = build(arguments) if build else default
    return ChainRevert(name, arguments, message, data=bytes(data), tx_hash=tx_hash)
