"""The PoCo-client compatibility surface of PROTOCOL.md, called and decoded through hand-written
minimal ABIs with PoCo's exact shapes, never through build.json: if a name, an argument or a
return shape drifts, existing PoCo tooling (the iexec SDK) breaks, and so does this test."""

from __future__ import annotations

import json

import pytest
from eth_abi import decode, encode
from eth_utils import keccak

from marketplace.chain.ids import deal_id
from marketplace.chain.orders import OrderOperation, operation_tuple, order_tuple
from tests.chain_scaffold import (
    APP_PRICE,
    APP_REGISTRATION,
    DATASET_PRICE,
    DATASET_REGISTRATION,
    DEPOSIT,
    KINDS,
    WORKER_STAKE_RATIO,
    WORKERPOOL_DESCRIPTION,
    WORKERPOOL_PRICE,
    open_market,
)

UNREGISTERED = "0x00000000000000000000000000000000DeaDBeef"


def _param(kind, name=""):
    return {"type": kind, "name": name}


def _tuple(name, components):
    return {"type": "tuple", "name": name, "components": components}


def _function(name, inputs=(), outputs=(), mutability="view"):
    return {
        "type": "function",
        "name": name,
        "stateMutability": mutability,
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


# PoCo v5's order structs: the EIP-712 type's fields, then `bytes sign`.
APP_ORDER = [
    _param("address", "app"),
    _param("uint256", "appprice"),
    _param("uint256", "volume"),
    _param("bytes32", "tag"),
    _param("address", "datasetrestrict"),
    _param("address", "workerpoolrestrict"),
    _param("address", "requesterrestrict"),
    _param("bytes32", "salt"),
    _param("bytes", "sign"),
]
DATASET_ORDER = [
    _param("address", "dataset"),
    _param("uint256", "datasetprice"),
    _param("uint256", "volume"),
    _param("bytes32", "tag"),
    _param("address", "apprestrict"),
    _param("address", "workerpoolrestrict"),
    _param("address", "requesterrestrict"),
    _param("bytes32", "salt"),
    _param("bytes", "sign"),
]
WORKERPOOL_ORDER = [
    _param("address", "workerpool"),
    _param("uint256", "workerpoolprice"),
    _param("uint256", "volume"),
    _param("bytes32", "tag"),
    _param("uint256", "category"),
    _param("uint256", "trust"),
    _param("address", "apprestrict"),
    _param("address", "datasetrestrict"),
    _param("address", "requesterrestrict"),
    _param("bytes32", "salt"),
    _param("bytes", "sign"),
]
REQUEST_ORDER = [
    _param("address", "app"),
    _param("uint256", "appmaxprice"),
    _param("address", "dataset"),
    _param("uint256", "datasetmaxprice"),
    _param("address", "workerpool"),
    _param("uint256", "workerpoolmaxprice"),
    _param("address", "requester"),
    _param("uint256", "volume"),
    _param("bytes32", "tag"),
    _param("uint256", "category"),
    _param("uint256", "trust"),
    _param("address", "beneficiary"),
    _param("address", "callback"),
    _param("string", "params"),
    _param("bytes32", "salt"),
    _param("bytes", "sign"),
]
ORDER_COMPONENTS = {
    "app": APP_ORDER,
    "dataset": DATASET_ORDER,
    "workerpool": WORKERPOOL_ORDER,
    "request": REQUEST_ORDER,
}
MANAGE = {
    "app": "manageAppOrder",
    "dataset": "manageDatasetOrder",
    "workerpool": "manageWorkerpoolOrder",
    "request": "manageRequestOrder",
}

POCO_HUB_ABI = [
    _function(
        "domain",
        outputs=[
            _tuple(
                "",
                [
                    _param("string", "name"),
                    _param("string", "version"),
                    _param("uint256", "chainId"),
                    _param("address", "verifyingContract"),
                ],
            )
        ],
    ),
    _function(
        "eip712Domain",
        outputs=[
            _param("bytes1", "fields"),
            _param("string", "name"),
            _param("string", "version"),
            _param("uint256", "chainId"),
            _param("address", "verifyingContract"),
            _param("bytes32", "salt"),
            _param("uint256[]", "extensions"),
        ],
    ),
    _function("appregistry", outputs=[_param("address")]),
    _function("datasetregistry", outputs=[_param("address")]),
    _function("workerpoolregistry", outputs=[_param("address")]),
    _function("viewConsumed", [_param("bytes32", "digest")], [_param("uint256")]),
    _function(
        "viewAccount",
        [_param("address", "account")],
        [_tuple("", [_param("uint256", "stake"), _param("uint256", "locked")])],
    ),
    _function(
        "verifySignature",
        [_param("address", "signer"), _param("bytes32", "digest"), _param("bytes", "sign")],
        [_param("bool")],
    ),
    _function(
        "matchOrders",
        [
            _tuple("apporder", APP_ORDER),
            _tuple("datasetorder", DATASET_ORDER),
            _tuple("workerpoolorder", WORKERPOOL_ORDER),
            _tuple("requestorder", REQUEST_ORDER),
        ],
        [_param("bytes32", "dealid")],
        mutability="nonpayable",
    ),
    *[
        _function(
            MANAGE[kind],
            [
                _tuple(
                    "operation",
                    [
                        _tuple("order", ORDER_COMPONENTS[kind]),
                        _param("uint8", "operation"),
                        _param("bytes", "sign"),
                    ],
                )
            ],
            mutability="nonpayable",
        )
        for kind in KINDS
    ],
]
POCO_REGISTRY_ABI = [_function("isRegistered", [_param("address", "asset")], [_param("bool")])]
POCO_ASSET_ABI = [
    _function("owner", outputs=[_param("address")]),
    _function("registry", outputs=[_param("address")]),
    _function("m_appName", outputs=[_param("string")]),
    _function("m_appType", outputs=[_param("string")]),
    _function("m_appMultiaddr", outputs=[_param("bytes")]),
    _function("m_appChecksum", outputs=[_param("bytes32")]),
    _function("m_appMREnclave", outputs=[_param("bytes")]),
    _function("m_datasetName", outputs=[_param("string")]),
    _function("m_datasetMultiaddr", outputs=[_param("bytes")]),
    _function("m_datasetChecksum", outputs=[_param("bytes32")]),
    _function("m_workerpoolDescription", outputs=[_param("string")]),
    _function("m_workerStakeRatioPolicy", outputs=[_param("uint256")]),
    _function("m_schedulerRewardRatioPolicy", outputs=[_param("uint256")]),
]

APP_ORDER_TYPE = "(address,uint256,uint256,bytes32,address,address,address,bytes32,bytes)"
DATASET_ORDER_TYPE = APP_ORDER_TYPE
WORKERPOOL_ORDER_TYPE = (
    "(address,uint256,uint256,bytes32,uint256,uint256,address,address,address,bytes32,bytes)"
)
REQUEST_ORDER_TYPE = (
    "(address,uint256,address,uint256,address,uint256,address,uint256,bytes32,uint256,uint256,"
    "address,address,string,bytes32,bytes)"
)
ORDER_TYPES = {
    "app": APP_ORDER_TYPE,
    "dataset": DATASET_ORDER_TYPE,
    "workerpool": WORKERPOOL_ORDER_TYPE,
    "request": REQUEST_ORDER_TYPE,
}
MATCH_ORDERS_SIGNATURE = (
    f"matchOrders({APP_ORDER_TYPE},{DATASET_ORDER_TYPE},{WORKERPOOL_ORDER_TYPE},"
    f"{REQUEST_ORDER_TYPE})"
)
ORDERS_MATCHED = "OrdersMatched(bytes32,bytes32,bytes32,bytes32,bytes32,uint256)"
SCHEDULER_NOTICE = "SchedulerNotice(address,bytes32)"
ORDER_EVENT_NAMES = {
    "app": "App",
    "dataset": "Dataset",
    "workerpool": "Workerpool",
    "request": "Request",
}


@pytest.fixture(scope="module")
def market(anvil, w3, hub_deployment, dev_accounts):
    with open_market(w3, hub_deployment, dev_accounts) as opened:
        yield opened


@pytest.fixture(scope="module")
def poco_hub(market):
    return market.w3.eth.contract(address=market.hub.address, abi=POCO_HUB_ABI)


def _asset(market, address):
    return market.w3.eth.contract(address=address, abi=POCO_ASSET_ABI)


def _raw_call(market, signature, arguments=b""):
    return bytes(
        market.w3.eth.call(
            {"to": market.hub.address, "data": keccak(text=signature)[:4] + arguments}
        )
    )


def _logs(receipt, signature):
    topic = keccak(text=signature)
    return [log for log in receipt["logs"] if log["topics"] and bytes(log["topics"][0]) == topic]


# ---------------------------------------------------------------------------- Hub views


def test_domain_returns_one_struct(market, poco_hub):
    expected = ("SuperEdgeHub", "1", 31337, market.hub.address)

    assert poco_hub.functions.domain().call() == expected
    assert _raw_call(market, "domain()") == encode(["(string,string,uint256,address)"], [expected])


def test_eip712_domain_describes_the_domain_per_eip5267(market, poco_hub):
    assert poco_hub.functions.eip712Domain().call() == [
        b"\x0f",  # name, version, chainId, verifyingContract
        "SuperEdgeHub",
        "1",
        31337,
        market.hub.address,
        bytes(32),
        [],
    ]


def test_registries_are_named_as_in_poco(market, poco_hub):
    assert (
        poco_hub.functions.appregistry().call(),
        poco_hub.functions.datasetregistry().call(),
        poco_hub.functions.workerpoolregistry().call(),
    ) == (
        market.deployment.app_registry,
        market.deployment.dataset_registry,
        market.deployment.workerpool_registry,
    )


def test_view_account_returns_one_struct_of_stake_and_locked(market, poco_hub):
    requester = market.requester.address

    assert poco_hub.functions.viewAccount(requester).call() == (DEPOSIT, 0)
    assert _raw_call(market, "viewAccount(address)", encode(["address"], [requester])) == encode(
        ["(uint256,uint256)"], [(DEPOSIT, 0)]
    )


def test_view_consumed_and_verify_signature_take_the_order_digest(market, poco_hub):
    order = market.orders().request
    digest = market.digest(order)

    assert poco_hub.functions.viewConsumed(digest).call() == 0
    assert poco_hub.functions.verifySignature(
        market.requester.address, digest, market.sign(order)
    ).call()
    assert not poco_hub.functions.verifySignature(
        market.stranger.address, digest, market.sign(order)
    ).call()


# ---------------------------------------------------------------------------- matchOrders


def test_match_orders_has_pocos_selector_and_order_structs(market, poco_hub):
    orders = market.orders()
    calldata = poco_hub.encode_abi(
        "matchOrders", args=[order_tuple(order, market.sign(order)) for order in orders.all()]
    )

    assert bytes.fromhex(calldata[2:10]) == keccak(text=MATCH_ORDERS_SIGNATURE)[:4]
    assert calldata == market.match_calldata(orders)


def test_match_orders_through_the_poco_abi_returns_the_dealid_and_emits_poco_events(
    chain, market, poco_hub
):
    orders = market.orders()
    arguments = [order_tuple(order, market.sign(order)) for order in orders.all()]
    digests = [market.digest(order) for order in orders.all()]
    dealid = deal_id(digests[3], 0)

    returned = poco_hub.functions.matchOrders(*arguments).call({"from": market.stranger.address})
    receipt = market.send(market.stranger, poco_hub.encode_abi("matchOrders", args=arguments))

    assert returned == dealid
    (matched,) = _logs(receipt, ORDERS_MATCHED)
    assert len(matched["topics"]) == 1  # no indexed parameter
    assert decode(["bytes32"] * 5 + ["uint256"], bytes(matched["data"])) == (
        dealid,
        *digests,
        1,
    )
    (notice,) = _logs(receipt, SCHEDULER_NOTICE)
    assert bytes(notice["topics"][1]) == encode(["address"], [market.workerpool])
    assert decode(["bytes32"], bytes(notice["data"])) == (dealid,)
    paid = APP_PRICE + DATASET_PRICE + WORKERPOOL_PRICE
    assert poco_hub.functions.viewAccount(market.requester.address).call() == (
        DEPOSIT - paid,
        paid,
    )
    assert [poco_hub.functions.viewConsumed(digest).call() for digest in digests] == [1] * 4


def test_request_params_with_iexec_keys_we_do_not_use_are_accepted(chain, market, poco_hub):
    params = json.dumps(
        {
            "iexec_args": "--words 3",
            "iexec_input_files": ["http://127.0.0.1:8000/media/input.txt"],
            "iexec_result_storage_provider": "ipfs",
            "iexec_result_storage_proxy": "http://127.0.0.1:3000",
        }
    )
    orders = market.orders(params=params)

    receipt = market.send(
        market.stranger,
        poco_hub.encode_abi(
            "matchOrders", args=[order_tuple(order, market.sign(order)) for order in orders.all()]
        ),
    )

    (created,) = market.events(receipt, "DealCreated")
    assert created["deal"]["params"] == params


# ---------------------------------------------------------------------------- manage*Order


@pytest.mark.parametrize("operation", list(OrderOperation))
@pytest.mark.parametrize("kind", list(KINDS))
def test_manage_order_takes_one_operation_struct_and_emits_pocos_event(
    chain, market, poco_hub, kind, operation
):
    order = market.orders().of(kind)
    calldata = poco_hub.encode_abi(MANAGE[kind], args=[operation_tuple(order, operation)])
    signature = f"{MANAGE[kind]}(({ORDER_TYPES[kind]},uint8,bytes))"

    receipt = market.send(market.owner_of(order), calldata)

    assert bytes.fromhex(calldata[2:10]) == keccak(text=signature)[:4]
    event = f"{'Signed' if operation is OrderOperation.SIGN else 'Closed'}"
    (log,) = _logs(receipt, f"{event}{ORDER_EVENT_NAMES[kind]}Order(bytes32)")
    assert len(log["topics"]) == 1
    assert bytes(log["data"]) == market.digest(order)


# ---------------------------------------------------------------------------- registries, assets


def test_registries_tell_registered_assets_from_others(market):
    for registry, asset in (
        (market.deployment.app_registry, market.app),
        (market.deployment.dataset_registry, market.dataset),
        (market.deployment.workerpool_registry, market.workerpool),
    ):
        contract = market.w3.eth.contract(address=registry, abi=POCO_REGISTRY_ABI)
        assert contract.functions.isRegistered(asset).call()
        assert not contract.functions.isRegistered(UNREGISTERED).call()
    app_registry = market.w3.eth.contract(
        address=market.deployment.app_registry, abi=POCO_REGISTRY_ABI
    )
    assert not app_registry.functions.isRegistered(market.dataset).call()


def test_assets_know_their_owner_and_registry(market):
    for asset, owner, registry in (
        (market.app, market.app_owner, market.deployment.app_registry),
        (market.dataset, market.dataset_owner, market.deployment.dataset_registry),
        (market.workerpool, market.pool_owner, market.deployment.workerpool_registry),
    ):
        contract = _asset(market, asset)
        assert contract.functions.owner().call() == owner.address
        assert contract.functions.registry().call() == registry


def test_app_exposes_pocos_app_fields(market):
    app = _asset(market, market.app).functions

    assert (
        app.m_appName().call(),
        app.m_appType().call(),
        app.m_appMultiaddr().call(),
        app.m_appChecksum().call(),
        app.m_appMREnclave().call(),
    ) == APP_REGISTRATION
    assert app.m_appMREnclave().call() == b""


def test_dataset_exposes_pocos_dataset_fields(market):
    dataset = _asset(market, market.dataset).functions

    assert (
        dataset.m_datasetName().call(),
        dataset.m_datasetMultiaddr().call(),
        dataset.m_datasetChecksum().call(),
    ) == DATASET_REGISTRATION


def test_workerpool_exposes_pocos_description_and_policy(market):
    pool = _asset(market, market.workerpool).functions

    assert (
        pool.m_workerpoolDescription().call(),
        pool.m_workerStakeRatioPolicy().call(),
        pool.m_schedulerRewardRatioPolicy().call(),
    ) == (WORKERPOOL_DESCRIPTION, WORKER_STAKE_RATIO, 1)
