"""The agent's side of the chain: the Hub's few calls a worker makes, over JSON-RPC.

    node = Node("http://127.0.0.1:8545")
    hub = Hub(address=work["hub"], node=node)
    sender = TransactionSender(account, node=node, confirmations=0)
    hub.commit(sender=sender, taskid=..., digest=..., authorization=...)
    if hub.task(taskid).status == TaskStatus.REVEALING: hub.reveal(sender=sender, ...)

A worker reads a task, its own contribution and its bond, and sends `contribute`, `reveal` and
`bond`. The site's client (marketplace.chain) does much more; this one is HTTP (requests), ABI
encoding (eth_abi) and the worker's key (eth_account), so the agent installs on a machine
without the site. The Hub functions and errors it uses are in hub_abi.json, the part of the
Hub's compiled ABI a worker needs (the tests check it against the contracts' build).

Failures come out as `ChainError`: `ChainUnavailable` when the node does not answer,
`ChainRevert` when the Hub refuses (its custom error's name and arguments, decoded), plain
`ChainError` when the node refuses a transaction. The site's client raises these same classes
and decodes reverts with `decode_revert`, so that one `except ChainRevert` catches both sides'.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address

from worker.protocol import (
    ContributionStatus,
    TaskStatus,
    result_hash,
    result_seal,
    to_bytes32,
)

logger = logging.getLogger(__name__)

_Receipt = TypeVar("_Receipt")

HUB_ABI_PATH = Path(__file__).with_name("hub_abi.json")
HUB_FUNCTIONS = ("bond", "contribute", "reveal", "viewBond", "viewContribution", "viewTask")
"""The Hub functions a worker calls: hub_abi.json holds these and the errors."""
DEV_CHAIN_ID = 31337
"""anvil's chain id: the development chain, which never reorganizes."""

# Estimates are exact for the state they ran on; a margin absorbs what changes before mining.
GAS_MARGIN = 0.2
RECEIPT_TIMEOUT = 120.0
RPC_TIMEOUT = 10.0
# Polls start fast (a dev chain mines at once) and slow down to spare a hosted node's quota.
_FIRST_POLL_SECONDS = 0.05
_MAX_POLL_SECONDS = 2.0
# Connection errors are asked again (a keep-alive connection the node dropped, a node
# restarting), after these pauses; timeouts are not (the node answered too slowly once already),
# nor is a transaction sent (a re-post the node already took would come back "nonce too low").
_RETRY_PAUSES = (0.05, 0.1, 0.2)
_NOT_RETRIED = frozenset({"eth_sendRawTransaction"})
NONCE_ERRORS = (
    "nonce too low",
    "nonce too high",
    "already known",
    "already imported",  # anvil, while the first post is still in its pool
    "replacement transaction",
)
"""What nodes answer a transaction sent with a nonce already used (or not yet usable)."""
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
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\]")


def default_confirmations(chain_id: int) -> int:
    """Blocks a worker's transaction must be buried under: none on the development chain,
    which never reorganizes, 12 elsewhere (the site's CHAIN_CONFIRMATIONS default)."""
    return 0 if chain_id == DEV_CHAIN_ID else 12


class ChainError(Exception):
    """Base of every chain error, the agent's and the site's (marketplace.chain raises these
    classes too); str(error) is meant for people."""


class ChainUnavailable(ChainError):
    """The JSON-RPC node did not answer (down, unreachable or too slow)."""


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


class _RpcError(ChainError):
    """The node answered a JSON-RPC error: `message` in its own words, `data` as it gave it."""

    def __init__(self, method: str, message: str, data: Any) -> None:
        super().__init__(f"The node refused {method}: {message}")
        self.message = message
        self.data = data


# ---------------------------------------------------------------------------- pure helpers


def shown_url(url: str) -> str:
    """An RPC URL as messages may show it: scheme, host and port only. Hosted nodes put their
    API key in the path or the query, and credentials go before the host."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if not _PLAIN_HOST.fullmatch(host):
        host = "…"
    try:
        port = parts.port
    except ValueError:
        port = None
        host = "…"
    if port:
        host = f"{host}:{port}"
    hidden = "/…" if parts.path.strip("/") or parts.query or parts.username else ""
    return f"{parts.scheme}://{host}{hidden}"


@functools.cache
def hub_abi() -> dict[str, list[dict[str, Any]]]:
    """{"functions": [...], "errors": [...]}: the Hub functions a worker calls, and every
    error the Hub (and the contracts behind it) can refuse with."""
    return json.loads(HUB_ABI_PATH.read_text(encoding="utf-8"))


def abi_type(entry: dict[str, Any]) -> str:
    """Canonical type of an ABI parameter, tuples spelled out as Solidity hashes them."""
    kind = entry["type"]
    if kind.startswith("tuple"):
        inner = ",".join(abi_type(component) for component in entry["components"])
        return f"({inner}){kind.removeprefix('tuple')}"
    return kind


def _signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(abi_type(item) for item in entry['inputs'])})"


def error_selector(entry: dict[str, Any]) -> bytes:
    """4-byte selector of an ABI `error` entry."""
    return keccak(text=_signature(entry))[:4]


@functools.cache
def _function(name: str) -> dict[str, Any]:
    for entry in hub_abi()["functions"]:
        if entry["name"] == name:
            return entry
    raise KeyError(f"hub_abi.json has no function {name!r}")


@functools.cache
def _errors_by_selector() -> dict[bytes, dict[str, Any]]:
    errors: dict[bytes, dict[str, Any]] = {}
    for entry in hub_abi()["errors"]:
        errors.setdefault(error_selector(entry), entry)
    return errors


def encode_call(function: str, *args: Any) -> bytes:
    """Calldata of the Hub's `function` with `args`."""
    entry = _function(function)
    types = [abi_type(item) for item in entry["inputs"]]
    return keccak(text=_signature(entry))[:4] + encode(types, list(args))


def _decode_result(function: str, data: bytes) -> tuple[Any, ...]:
    types = [abi_type(item) for item in _function(function)["outputs"]]
    try:
        return decode(types, data)
    except (DecodingError, OverflowError, ValueError) as error:
        raise ChainError(
            f"The Hub's answer to {function} cannot be read ({len(data)} bytes): is the "
            "address the Hub's?"
        ) from error


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


def _decoded(
    data: bytes, find_error: Callable[[bytes], dict[str, Any] | None]
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
        entry = find_error(selector)
        if entry is None:
            return None
        values = decode([abi_type(item) for item in entry["inputs"]], payload)
    except (DecodingError, OverflowError, ValueError):
        return None
    arguments = _named(entry["inputs"], values)
    return entry["name"], arguments, describe_error(entry["name"], arguments)


def decode_revert(
    data: bytes,
    find_error: Callable[[bytes], dict[str, Any] | None] | None = None,
    *,
    messages: Mapping[str, Callable[[dict[str, Any]], str]] | None = None,
    reader: str = "the worker",
    tx_hash: str | None = None,
) -> ChainRevert:
    """The ChainRevert for revert `data` (raw bytes, as the node returned them): a require
    message, a panic, or the custom error `find_error` gives for its selector (by default the
    Hub's errors in hub_abi.json), with its arguments by name.

    Its message is the one `messages` builds for its name from its arguments, else a readable
    rendering. Data that cannot be decoded gives an "UnknownError" saying that `reader` cannot
    decode it."""
    data = bytes(data)
    decoded = _decoded(data, find_error or _errors_by_selector().get)
    if decoded is None:
        selector, payload = data[:4], data[4:]
        return ChainRevert(
            "UnknownError",
            {"selector": "0x" + selector.hex(), "data": "0x" + payload.hex()},
            f"The contract refused with an error {reader} cannot decode "
            f"(selector 0x{selector.hex()}, {len(payload)} bytes of arguments).",
            data=data,
            tx_hash=tx_hash,
        )
    name, arguments, default = decoded
    build = (messages or {}).get(name)
    message = build(arguments) if build else default
    return ChainRevert(name, arguments, message, data=data, tx_hash=tx_hash)


def revert_bytes(data: Any) -> bytes | None:
    """The revert data in the `data` of a node's error, however the node puts it (0x hex, maybe
    after "Reverted ", maybe under "data" or "result"); None when it holds none."""
    if isinstance(data, dict):
        data = data.get("data") or data.get("result")
    if isinstance(data, str):
        data = data.removeprefix("Reverted ")
        if data.startswith("0x"):
            try:
                return bytes.fromhex(data[2:])
            except ValueError:
                return None
    return None


def _revert_data(error: _RpcError) -> bytes | None:
    """The revert data of a node's error, or None when the error is not a revert."""
    data = revert_bytes(error.data)
    if data is None and "revert" in error.message.lower():
        return b""
    return data


def transaction_fields(
    *, sender: str | None, to: str | None, data: bytes | str, value: int = 0
) -> dict[str, Any]:
    """A transaction as JSON-RPC takes it: its sender (None: not said), its recipient (None: a
    contract creation), its data and value in 0x hex, addresses checksummed."""
    transaction: dict[str, Any] = {}
    if sender is not None:
        transaction["from"] = to_checksum_address(sender)
    if to is not None:
        transaction["to"] = to_checksum_address(to)
    transaction["data"] = data if isinstance(data, str) else "0x" + data.hex()
    transaction["value"] = hex(value)
    return transaction


def node_unavailable(url: str, reason: str) -> ChainUnavailable:
    """The error for a node at `url` that does not answer, for `reason` ("timed out", ...)."""
    return ChainUnavailable(
        f"The blockchain node at {shown_url(url)} is unavailable ({reason}). For development, "
        "start the local chain with `make chain` (or `make run`); otherwise check WEB3_RPC_URL."
    )


def _poll_pauses() -> Iterator[float]:
    pause = _FIRST_POLL_SECONDS
    while True:
        yield pause
        pause = min(pause * 1.5, _MAX_POLL_SECONDS)


def wait_for_receipt(
    tx_hash: str, receipt: Callable[[], _Receipt | None], *, timeout: float
) -> _Receipt:
    """The receipt of transaction `tx_hash` once it is mined, asked with `receipt()` (None until
    then); a ChainError when it is not mined within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    for pause in _poll_pauses():
        found = receipt()
        if found:
            return found
        if time.monotonic() > deadline:
            break
        time.sleep(pause)
    raise ChainError(
        f"Transaction {tx_hash} was not mined within {timeout:g} s; it may still be, later."
    )


def wait_for_confirmations(
    *,
    tx_hash: str,
    mined: int,
    confirmations: int,
    block_number: Callable[[], int],
    stall_seconds: float,
) -> None:
    """Return once `confirmations` blocks are on top of block `mined` (the one that mined
    `tx_hash`), polling the head with `block_number()`, however slow the chain's blocks; a
    ChainError when the head stands still for `stall_seconds`."""
    target = mined + confirmations
    head = block_number()
    stalled_since = time.monotonic()
    for pause in _poll_pauses():
        if head >= target:
            return
        if time.monotonic() - stalled_since > stall_seconds:
            raise ChainError(
                f"Transaction {tx_hash} has {max(0, head - mined)} of {confirmations} "
                f"confirmations, and no new block came for {stall_seconds:g} s."
            )
        time.sleep(pause)
        latest = block_number()
        if latest > head:
            head, stalled_since = latest, time.monotonic()


# ---------------------------------------------------------------------------- the node


class Node:
    """A JSON-RPC node at `url`: one HTTP session per thread, `timeout` seconds an answer."""

    def __init__(self, url: str, *, timeout: float = RPC_TIMEOUT) -> None:
        self.url = url
        self.timeout = timeout
        self._local = threading.local()
        self._ids = itertools.count(1)

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """The `result` of `method`; _RpcError with the node's own words when it answers an
        error, ChainUnavailable when it does not answer."""
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        pauses = [] if method in _NOT_RETRIED else list(_RETRY_PAUSES)
        while True:
            try:
                response = self._session().post(self.url, json=body, timeout=self.timeout)
                response.raise_for_status()
                answer = response.json()
                break
            except requests.ConnectionError as error:
                if pauses:
                    time.sleep(pauses.pop(0))
                    continue
                raise self._unavailable(error) from None
            except (requests.Timeout, requests.HTTPError, ValueError) as error:
                # Not `from error`: its text holds the full URL, and with it any API key.
                raise self._unavailable(error) from None
        if not isinstance(answer, dict):
            raise ChainError(f"{shown_url(self.url)} answered {method} with something else.")
        if "error" in answer:
            problem = answer["error"] if isinstance(answer["error"], dict) else {}
            message = str(problem.get("message") or answer["error"])
            raise _RpcError(method, message, problem.get("data"))
        return answer.get("result")

    def _unavailable(self, error: Exception) -> ChainUnavailable:
        if isinstance(error, requests.Timeout):
            reason = "timed out"
        elif isinstance(error, requests.HTTPError) and error.response is not None:
            reason = f"HTTP {error.response.status_code}"
        elif isinstance(error, ValueError):
            reason = "not a JSON-RPC answer"
        else:
            reason = "cannot connect"
        return node_unavailable(self.url, reason)

    def call(
        self, *, to: str, data: bytes, sender: str | None = None, block: int | str = "latest"
    ) -> bytes:
        """`eth_call`: the raw return data, or the decoded ChainRevert."""
        transaction = transaction_fields(sender=sender, to=to, data=data)
        try:
            result = self.request(
                "eth_call", [transaction, hex(block) if isinstance(block, int) else block]
            )
        except _RpcError as error:
            reverted = _revert_data(error)
            if reverted is None:
                raise ChainError(
                    f"The node refused a call to {short_address(to)}: {error.message}"
                ) from error
            raise decode_revert(reverted) from error
        return bytes.fromhex(str(result).removeprefix("0x"))

    def chain_id(self) -> int:
        return int(self.request("eth_chainId"), 16)


class TransactionSender:
    """Signs the worker's transactions with its key, sends them and waits for them.

    One agent sends from its key: a lock covers reading the nonce from the node (pending
    transactions included) until the node took the transaction, across the agent's threads. A
    send from the same key elsewhere (a wallet) collides at most once: it is retried with a
    fresh nonce."""

    def __init__(
        self,
        account: LocalAccount,
        *,
        node: Node,
        confirmations: int,
        gas_margin: float = GAS_MARGIN,
        receipt_timeout: float = RECEIPT_TIMEOUT,
    ) -> None:
        self.account = account
        self.node = node
        self.confirmations = confirmations
        self.gas_margin = gas_margin
        self.receipt_timeout = receipt_timeout
        self._lock = threading.Lock()
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        return self.account.address

    def send(self, *, to: str, data: bytes) -> dict[str, Any]:
        """Send a transaction to `to` and return its receipt once mined (and confirmed).

        ChainRevert when the estimate reverts (nothing is sent) or the mined transaction
        failed, ChainUnavailable when the node does not answer, ChainError when the node
        refuses the transaction."""
        transaction = transaction_fields(sender=self.address, to=to, data=data)
        fees, block_gas_limit = self._fees()
        gas = min(self._estimate_gas(transaction), block_gas_limit)
        if self._chain_id is None:
            self._chain_id = self.node.chain_id()
        signable = {
            "to": transaction["to"],
            "data": data,
            "value": 0,
            "gas": gas,
            "chainId": self._chain_id,
            **fees,
        }
        tx_hash = self._sign_and_send(signable)
        logger.info("Sent %s from %s to %s", tx_hash, self.address, to)
        receipt = self._receipt(tx_hash)
        if int(receipt["status"], 16) != 1:
            raise self._mined_revert(transaction, gas, receipt)
        confirmed = self._confirmed(receipt)
        if int(confirmed["status"], 16) != 1:  # a reorganization mined it again, where it failed
            raise self._mined_revert(transaction, gas, confirmed)
        return confirmed

    def _fees(self) -> tuple[dict[str, int], int]:
        """EIP-1559 fees (legacy gas price on chains without a base fee), and the block gas
        limit."""
        block = self.node.request("eth_getBlockByNumber", ["latest", False])
        gas_limit = int(block["gasLimit"], 16)
        if block.get("baseFeePerGas") is None:
            return {"gasPrice": int(self.node.request("eth_gasPrice"), 16)}, gas_limit
        base_fee = int(block["baseFeePerGas"], 16)
        tip = int(self.node.request("eth_maxPriorityFeePerGas"), 16)
        # Twice the base fee stays valid through six full blocks of base-fee increases.
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}, gas_limit

    def _estimate_gas(self, transaction: dict[str, Any]) -> int:
        try:
            estimate = int(self.node.request("eth_estimateGas", [transaction]), 16)
        except _RpcError as error:
            reverted = _revert_data(error)
            if reverted is not None:
                raise decode_revert(reverted) from error
            # Not a revert: insufficient funds, gas above the block limit, ...
            raise ChainError(
                f"The node refused to estimate a transaction from {short_address(self.address)}: "
                f"{error.message}"
            ) from error
        return int(estimate * (1 + self.gas_margin))

    def _sign_and_send(self, transaction: dict[str, Any]) -> str:
        with self._lock:
            for attempt in (1, 2):
                # Read under the lock every time: the node knows what this key has sent (and
                # forgets what a chain reset or a revert undid).
                nonce = int(
                    self.node.request("eth_getTransactionCount", [self.address, "pending"]), 16
                )
                signed = self.account.sign_transaction({**transaction, "nonce": nonce})
                signed_hash = "0x" + bytes(signed.hash).hex()
                try:
                    return str(
                        self.node.request(
                            "eth_sendRawTransaction", ["0x" + bytes(signed.raw_transaction).hex()]
                        )
                    )
                except _RpcError as error:
                    if any(text in error.message.lower() for text in NONCE_ERRORS):
                        if self.node.request("eth_getTransactionByHash", [signed_hash]):
                            # Ours after all (a send the node took before failing to answer):
                            # sending it again with the next nonce would pay twice.
                            return signed_hash
                        if attempt == 1:
                            continue  # sent from this key elsewhere (a wallet): once more
                    raise ChainError(
                        f"The node refused the transaction from {short_address(self.address)}: "
                        f"{error.message}"
                    ) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _receipt(self, tx_hash: str) -> dict[str, Any]:
        return wait_for_receipt(
            tx_hash,
            lambda: self.node.request("eth_getTransactionReceipt", [tx_hash]),
            timeout=self.receipt_timeout,
        )

    def _confirmed(self, receipt: dict[str, Any]) -> dict[str, Any]:
        """The receipt again once `confirmations` blocks are on top of it; fails only when the
        head stands still for `receipt_timeout` seconds, however slow the chain's blocks."""
        if not self.confirmations:
            return receipt
        wait_for_confirmations(
            tx_hash=receipt["transactionHash"],
            mined=int(receipt["blockNumber"], 16),
            confirmations=self.confirmations,
            block_number=lambda: int(self.node.request("eth_blockNumber"), 16),
            stall_seconds=self.receipt_timeout,
        )
        again = self.node.request("eth_getTransactionReceipt", [receipt["transactionHash"]])
        if not again:
            raise ChainError(
                f"Transaction {receipt['transactionHash']} was dropped by a chain reorganization."
            )
        return again

    def _mined_revert(
        self, transaction: dict[str, Any], gas: int, receipt: dict[str, Any]
    ) -> ChainRevert:
        """Why a mined transaction failed: its call replayed on the state of its block."""
        if int(receipt["gasUsed"], 16) >= gas:
            return ChainRevert(
                "OutOfGas", {"gas": gas}, f"The transaction ran out of gas (limit {gas})."
            )
        try:
            self.node.request(
                "eth_call", [{**transaction, "gas": hex(gas)}, receipt["blockNumber"]]
            )
        except _RpcError as error:
            reverted = _revert_data(error)
            if reverted is not None:
                return decode_revert(reverted)
        return ChainRevert(
            "Reverted",
            {},
            "The transaction failed on chain; replaying it did not reproduce the failure, so "
            "its reason is unknown.",
        )


# ---------------------------------------------------------------------------- the Hub


@dataclasses.dataclass(frozen=True)
class Task:
    """What a worker reads of a task (`viewTask`): its status and the agreed result hash."""

    status: TaskStatus
    consensus_value: bytes


class Hub:
    """The Hub at `address`, through `node`: what a worker reads and sends."""

    def __init__(self, *, address: str, node: Node) -> None:
        self.address = to_checksum_address(address)
        self.node = node

    def _view(self, function: str, *args: Any) -> tuple[Any, ...]:
        return _decode_result(
            function, self.node.call(to=self.address, data=encode_call(function, *args))
        )

    def task(self, taskid: bytes | str) -> Task:
        """Task `taskid` (UNSET with zeros when never initialized)."""
        ((status, _dealid, _c, _r, _f, consensus_value, *_rest),) = self._view(
            "viewTask", to_bytes32(taskid, "taskid")
        )
        return Task(status=TaskStatus.from_code(status), consensus_value=bytes(consensus_value))

    def contribution_status(self, taskid: bytes | str, worker: str) -> ContributionStatus:
        """The status of `worker`'s contribution to `taskid` (UNSET when none)."""
        ((status, *_rest),) = self._view(
            "viewContribution", to_bytes32(taskid, "taskid"), to_checksum_address(worker)
        )
        return ContributionStatus.from_code(status)

    def bond(self, *, workerpool: str, worker: str) -> int:
        """The bond `worker` keeps locked for `workerpool`, in ECT base units."""
        amount, _unbond_at = self._view(
            "viewBond", to_checksum_address(workerpool), to_checksum_address(worker)
        )
        return int(amount)

    def lock_bond(self, *, sender: TransactionSender, workerpool: str, amount: int) -> None:
        """Hub `bond`: the sender locks `amount` of its free stake as its bond to `workerpool`
        (adds to it)."""
        sender.send(
            to=self.address,
            data=encode_call("bond", to_checksum_address(workerpool), amount),
        )

    def commit(
        self,
        *,
        sender: TransactionSender,
        taskid: bytes | str,
        digest: bytes | str,
        authorization: bytes,
    ) -> None:
        """`contribute` with the hash and seal of `digest` for the sender, authorized by the
        pool's scheduler."""
        taskid = to_bytes32(taskid, "taskid")
        sender.send(
            to=self.address,
            data=encode_call(
                "contribute",
                taskid,
                result_hash(taskid, digest),
                result_seal(sender.address, taskid, digest),
                authorization,
            ),
        )

    def reveal(
        self, *, sender: TransactionSender, taskid: bytes | str, digest: bytes | str
    ) -> None:
        """Reveal the digest the sender committed to, once the task is REVEALING."""
        sender.send(
            to=self.address,
            data=encode_call("reveal", to_bytes32(taskid, "taskid"), to_bytes32(digest, "digest")),
        )
