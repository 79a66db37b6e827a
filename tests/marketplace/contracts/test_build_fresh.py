from __future__ import annotations

from marketplace.chain import artifacts

EIP170_RUNTIME_LIMIT = 24_576

DEPLOYABLE = {
    "ECT",
    "Hub",
    "HubOrders",
    "HubAccounts",
    "AppRegistry",
    "DatasetRegistry",
    "WorkerpoolRegistry",
    "App",
    "Dataset",
    "Workerpool",
}


def test_build_json_matches_the_sources():
    recorded = artifacts.build()["sourcesDigest"]

    assert recorded == artifacts.sources_digest(), (
        "marketplace/contracts/build.json is stale: run make contracts"
    )
    assert artifacts.is_fresh()


def test_every_deployable_contract_is_built_with_bytecode():
    contracts = artifacts.build()["contracts"]

    assert set(contracts) == DEPLOYABLE
    for name in DEPLOYABLE:
        assert artifacts.bytecode(name).startswith("0x")
        assert len(artifacts.bytecode(name)) > 2, name


def test_every_deployable_contract_fits_eip170():
    oversized = {
        name: contract["deployedBytecodeSize"]
        for name, contract in artifacts.build()["contracts"].items()
        if contract["deployedBytecodeSize"] > EIP170_RUNTIME_LIMIT
    }

    assert oversized == {}, f"runtime code above EIP-170's {EIP170_RUNTIME_LIMIT} bytes"


def test_hub_abi_covers_the_modules():
    hub_functions = {item["name"] for item in artifacts.abi("Hub") if item["type"] == "function"}

    for module in ("HubOrders", "HubAccounts"):
        module_functions = {
            item["name"] for item in artifacts.abi(module) if item["type"] == "function"
        }
        assert module_functions <= hub_functions, module
    assert {"matchOrders", "contribute", "deposit", "viewTask", "domain"} <= hub_functions
