"""Errors of the chain layer, and the decoding of revert data into something a person can read.

Failures of the node or of a contract leave `marketplace.chain` as a `ChainError`:
`ChainUnavailable` when the node does not answer, `ChainRevert` when a contract refused a call
or a transaction, `ContractMissing` when no contract of ours is where one was called
(`ContractsNotDeployed`: the site has no deployment at all), plain `ChainError` when the node
refused a transaction (funds, nonce): callers never see web3's own exceptions. A revert
carries the error's name and its named arguments, decoded from the revert data with the ABIs
that declare the error, and a message for people: the one registered for that error name with
`register_message`, else a readable rendering of the name and arguments.

The error classes and the decoding are the worker agent's (`worker.chain`, which imports
nothing of the site): an `except ChainRevert` here catches the agent's reverts too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from worker import chain as worker_chain
from worker.chain import (
    ERROR_STRING_SELECTOR,
    PANIC_REASONS,
    PANIC_SELECTOR,
    ChainError,
    ChainRevert,
    ChainUnavailable,
    describe_error,
    error_selector,
    short_address,
)

__all__ = [
    "ERROR_STRING_SELECTOR",
    "MESSAGES",
    "PANIC_REASONS",
    "PANIC_SELECTOR",
    "ChainError",
    "ChainRevert",
    "ChainUnavailable",
    "ContractMissing",
    "ContractsNotDeployed",
    "decode_revert",
    "describe_error",
    "error_selector",
    "register_message",
    "short_address",
]


class ContractMissing(ChainError):
    """No contract that answers the call is at the address called: nothing is there, or
    something else than ours (a dev chain restarted without its state has lost our contracts)."""


class ContractsNotDeployed(ContractMissing):
    """This site has no deployment of our contracts on the chain it is configured for."""


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


def _find_error(selector: bytes, abis: Iterable[Sequence[dict[str, Any]]]) -> dict | None:
    for abi in abis:
        for entry in abi:
            if entry.get("type") == "error" and error_selector(entry) == selector:
                return entry
    return None


def decode_revert(
    data: bytes, abis: Iterable[Sequence[dict[str, Any]]] = (), *, tx_hash: str | None = None
) -> ChainRevert:
    """The ChainRevert for revert `data` (raw bytes, as returned by the node).

    Custom errors are looked up by selector in `abis` (lists of ABI entries; the first that
    declares the selector names it). Undecodable data gives an "UnknownError" with a readable
    message; the message of a decoded error is the one registered for its name, if any.
    """
    return worker_chain.decode_revert(
        data,
        lambda selector: _find_error(selector, abis),
        messages=MESSAGES,
        reader="this site",
        tx_hash=tx_hash,
    )
