"""The agent's side of the chain (worker.chain) on anvil: its views read what the site's Hub
reads, its reverts are decoded by name, a node that does not answer is said so, and its part
of the Hub's ABI is the compiled one.

    python -m tests.worker.test_chain   # writes worker/hub_abi.json again from build.json
"""

from __future__ import annotations

import json

from eth_utils import keccak

from marketplace.chain import artifacts
from marketplace.chain.hub_errors import HUB_ABI_CONTRACTS
from worker import chain
from worker.chain import HUB_ABI_PATH, HUB_FUNCTIONS


def expected_hub_abi() -> dict[str, list[dict]]:
    """The worker's part of the compiled ABI: its functions as the Hub declares them, and every
    error of the contracts the site decodes reverts with, once per selector."""
    functions = [
        entry
        for entry in artifacts.abi("Hub")
        if entry["type"] == "function" and entry["name"] in HUB_FUNCTIONS
    ]
    errors, selectors = [], set()
    for name in HUB_ABI_CONTRACTS:
        for entry in artifacts.abi(name):
            if entry["type"] != "error":
                continue
            types = ",".join(chain._abi_type(item) for item in entry["inputs"])
            selector = keccak(text=f"{entry['name']}({types})")[:4]
            if selector not in selectors:
                selectors.add(selector)
                errors.append(entry)
    return {"functions": functions, "errors": errors}


def _write() -> None:
    HUB_ABI_PATH.write_text(json.dumps(expected_hub_abi(), indent=1) + "\n", encoding="utf-8")


def test_the_workers_abi_is_the_compiled_hubs() -> None:
    assert chain.hub_abi() == expected_hub_abi(), (
        "worker/hub_abi.json is not what the contracts compile to: write it again with "
        "`.venv/bin/python -m tests.worker.test_chain`."
    )
    assert sorted(entry["name"] for entry in chain.hub_abi()["functions"]) == sorted(HUB_FUNCTIONS)


if __name__ == "__main__":
    _write()
