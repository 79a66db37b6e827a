"""compile.mjs refuses a build in which two functions (or two different errors) of the Hub,
HubOrders and HubAccounts share a 4-byte selector: the Hub would serve only the first, silently.
Its `selectorClashes` is run in node on hand-made ABIs, among them a known pair of signatures
with one selector."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from eth_utils import keccak

from marketplace.chain import artifacts

# Two signatures with the same selector, 0x42966c68 (a well-known pair).
BURN = ("burn", "uint256")
COLLATE = ("collate_propagate_storage", "bytes16")


def _item(kind: str, name: str, *types: str) -> dict:
    return {"type": kind, "name": name, "inputs": [{"type": t, "name": ""} for t in types]}


def _clashes(abis: dict[str, list[dict]]) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js, then `make install`.")
    script = (
        f"import {{ selectorClashes }} from {json.dumps(artifacts.COMPILE_SCRIPT.as_uri())};"
        "let input = ''; process.stdin.on('data', (chunk) => { input += chunk; });"
        "process.stdin.on('end', () => "
        "process.stdout.write(JSON.stringify(selectorClashes(JSON.parse(input)))));"
    )
    completed = subprocess.run(  # noqa: S603 - node with our own script
        [node, "--input-type=module", "-e", script],
        input=json.dumps(abis),
        capture_output=True,
        text=True,
        cwd=artifacts.REPO_ROOT,
        check=True,
        timeout=60,
    )
    return json.loads(completed.stdout)


def test_the_colliding_pair_shares_a_selector():
    assert keccak(text="burn(uint256)")[:4] == keccak(text="collate_propagate_storage(bytes16)")[:4]


def test_functions_of_different_signatures_with_one_selector_clash():
    clashes = _clashes(
        {
            "Hub": [_item("function", *BURN)],
            "HubOrders": [_item("function", "domain")],
            "HubAccounts": [_item("function", *COLLATE)],
        }
    )

    assert clashes == [
        "function 0x42966c68: Hub.burn(uint256) and HubAccounts.collate_propagate_storage(bytes16)"
    ]


def test_the_same_function_in_two_contracts_clashes():
    deposit = _item("function", "deposit", "uint256")

    clashes = _clashes({"HubOrders": [deposit], "HubAccounts": [deposit]})

    selector = "0x" + keccak(text="deposit(uint256)")[:4].hex()
    assert clashes == [
        f"function {selector}: HubOrders.deposit(uint256) and HubAccounts.deposit(uint256)"
    ]


def test_an_error_every_contract_inherits_is_no_clash_but_two_errors_of_one_selector_are():
    shared = _item("error", "NotOwner", "address", "address")

    assert _clashes({name: [shared] for name in ("Hub", "HubOrders", "HubAccounts")}) == []
    assert _clashes(
        {"Hub": [shared, _item("error", *BURN)], "HubOrders": [_item("error", *COLLATE)]}
    ) == ["error 0x42966c68: Hub.burn(uint256) and HubOrders.collate_propagate_storage(bytes16)"]


def test_the_built_modules_share_no_function_selector():
    orders, accounts = artifacts.abi("HubOrders"), artifacts.abi("HubAccounts")

    assert _clashes({"HubOrders": orders, "HubAccounts": accounts}) == []
