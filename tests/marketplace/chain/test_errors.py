"""Decoding revert data into named errors with messages people can read."""

from __future__ import annotations

import pickle

import pytest
from eth_abi import encode
from eth_utils import keccak

from marketplace.chain.errors import (
    MESSAGES,
    ChainError,
    ChainRevert,
    ChainUnavailable,
    decode_revert,
    describe_error,
    error_selector,
    register_message,
    short_address,
)
from worker import chain as worker_chain

ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

HUB_ABI = [
    {"type": "function", "name": "deposit", "inputs": [], "outputs": []},
    {
        "type": "error",
        "name": "InsufficientStake",
        "inputs": [
            {"name": "account", "type": "address", "internalType": "address"},
            {"name": "needed", "type": "uint256", "internalType": "uint256"},
            {"name": "available", "type": "uint256", "internalType": "uint256"},
        ],
    },
    {
        "type": "error",
        "name": "OrderMismatch",
        "inputs": [
            {"name": "digest", "type": "bytes32"},
            {
                "name": "prices",
                "type": "tuple",
                "components": [
                    {"name": "asked", "type": "uint256"},
                    {"name": "offered", "type": "uint256"},
                ],
            },
            {"name": "", "type": "address[]"},
        ],
    },
]
TOKEN_ABI = [{"type": "error", "name": "Paused", "inputs": []}]


def _data(signature: str, types: list[str], values: list) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_error_string_gives_its_message():
    revert = decode_revert(_data("Error(string)", ["string"], ["Escrow: stake too low"]))

    assert (revert.name, revert.arguments) == ("Error", {"message": "Escrow: stake too low"})
    assert str(revert) == "Escrow: stake too low"


def test_panic_0x11_is_arithmetic_overflow():
    revert = decode_revert(_data("Panic(uint256)", ["uint256"], [0x11]))

    assert (revert.name, revert.arguments) == ("Panic", {"code": 0x11})
    assert str(revert) == (
        "The contract failed an internal check: arithmetic overflow or underflow (panic 0x11)."
    )


def test_panic_with_an_unknown_code_still_names_it():
    revert = decode_revert(_data("Panic(uint256)", ["uint256"], [0x99]))

    assert str(revert) == "The contract failed an internal check: unknown panic code (panic 0x99)."


def test_custom_error_is_named_from_the_abi_with_named_checksummed_arguments():
    data = _data(
        "InsufficientStake(address,uint256,uint256)",
        ["address", "uint256", "uint256"],
        [ALICE.lower(), 3_000, 1_000],
    )

    revert = decode_revert(data, [TOKEN_ABI, HUB_ABI])

    assert revert.name == "InsufficientStake"
    assert revert.arguments == {"account": ALICE, "needed": 3_000, "available": 1_000}
    assert str(revert) == (
        "The contract refused: InsufficientStake(account=0xf39F…2266, needed=3000, available=1000)."
    )
    assert revert.data == data


def test_custom_error_with_tuple_and_unnamed_array_arguments():
    digest = keccak(text="order")
    data = _data(
        "OrderMismatch(bytes32,(uint256,uint256),address[])",
        ["bytes32", "(uint256,uint256)", "address[]"],
        [digest, (10, 5), [ALICE]],
    )

    revert = decode_revert(data, [HUB_ABI])

    assert revert.arguments == {
        "digest": digest,
        "prices": {"asked": 10, "offered": 5},
        "arg2": [ALICE],
    }
    assert str(revert) == (
        "The contract refused: OrderMismatch(digest=0x"
        + digest.hex()[:8]
        + "…"
        + digest.hex()[-4:]
        + ", prices={asked=10, offered=5}, arg2=[0xf39F…2266])."
    )


def test_error_without_arguments():
    revert = decode_revert(keccak(text="Paused()")[:4], [TOKEN_ABI])

    assert (revert.name, revert.arguments, str(revert)) == (
        "Paused",
        {},
        "The contract refused: Paused().",
    )


def test_unknown_selector_gives_a_readable_fallback():
    data = _data("Mystery(uint256)", ["uint256"], [1])

    revert = decode_revert(data, [HUB_ABI])

    assert revert.name == "UnknownError"
    assert revert.arguments == {
        "selector": "0x" + data[:4].hex(),
        "data": "0x" + data[4:].hex(),
    }
    assert str(revert) == (
        "The contract refused with an error this site cannot decode "
        f"(selector 0x{data[:4].hex()}, 32 bytes of arguments)."
    )


def test_truncated_arguments_are_undecodable_not_a_crash():
    data = _data("InsufficientStake(address,uint256,uint256)", ["address"], [ALICE])

    assert decode_revert(data, [HUB_ABI]).name == "UnknownError"


def test_empty_revert_data_means_no_reason_given():
    revert = decode_revert(b"")

    assert (revert.name, revert.arguments) == ("Reverted", {})
    assert str(revert) == "The contract refused without giving a reason."


def test_registered_message_replaces_the_fallback(monkeypatch):
    monkeypatch.setattr("marketplace.chain.errors.MESSAGES", dict(MESSAGES))

    @register_message("InsufficientStake")
    def _message(arguments):
        return f"{short_address(arguments['account'])} needs {arguments['needed']} staked."

    data = _data(
        "InsufficientStake(address,uint256,uint256)",
        ["address", "uint256", "uint256"],
        [ALICE, 3, 1],
    )

    assert str(decode_revert(data, [HUB_ABI])) == "0xf39F…2266 needs 3 staked."


def test_register_message_fills_the_registry(monkeypatch):
    registry: dict = {}
    monkeypatch.setattr("marketplace.chain.errors.MESSAGES", registry)

    @register_message("Paused")
    def _paused(arguments):
        return "Paused."

    assert registry == {"Paused": _paused}


def test_chain_revert_is_a_chain_error_that_pickles():
    revert = decode_revert(_data("Error(string)", ["string"], ["nope"]), tx_hash="0x" + "ab" * 32)

    copy = pickle.loads(pickle.dumps(revert))  # noqa: S301 - our own object

    assert isinstance(copy, ChainError)
    assert (copy.name, copy.arguments, copy.message, copy.tx_hash) == (
        "Error",
        {"message": "nope"},
        "nope",
        "0x" + "ab" * 32,
    )
    assert copy.args == ("Error", {"message": "nope"}, "nope")


def test_error_selector_spells_tuples_out():
    assert (
        error_selector(HUB_ABI[2])
        == keccak(text="OrderMismatch(bytes32,(uint256,uint256),address[])")[:4]
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (ALICE.lower(), "0xf39F…2266"),
        (ALICE, "0xf39F…2266"),
        ("not an address", "not an address"),
    ],
)
def test_short_address(text, expected):
    assert short_address(text) == expected


def test_describe_error_quotes_strings():
    assert describe_error("Bad", {"why": "x", "n": 2}) == "The contract refused: Bad(why='x', n=2)."


def test_chain_revert_str_is_its_message():
    assert str(ChainRevert("X", {}, "Human words.")) == "Human words."


def test_the_worker_agents_chain_errors_are_caught_as_the_sites():
    with pytest.raises(ChainRevert) as revert:
        raise worker_chain.decode_revert(b"")
    with pytest.raises(ChainUnavailable) as unavailable:
        raise worker_chain.node_unavailable("http://127.0.0.1:8545", "timed out")

    assert revert.value.name == "Reverted"
    assert isinstance(unavailable.value, ChainError)
