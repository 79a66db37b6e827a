"""Order hashing and signing, checked against eth_account and against what MetaMask computes
(@metamask/eth-sig-util run in node), and against PoCo v5's published type hashes."""

from __future__ import annotations

import dataclasses
import json

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_utils import keccak

from marketplace.chain.keys import DEV_ADDRESSES, DEV_PRIVATE_KEYS
from marketplace.chain.orders import (
    APP_ORDER_TYPE,
    DATASET_ORDER_TYPE,
    EIP712_DOMAIN_TYPE,
    REQUEST_ORDER_TYPE,
    WORKERPOOL_ORDER_TYPE,
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    OrderOperation,
    RequestOrder,
    WorkerpoolOrder,
    from_compact_signature,
    hub_domain,
    operation_digest,
    operation_struct_hash,
    operation_tuple,
    operation_type,
    operation_typed_data,
    order_digest,
    order_from_typed_message,
    order_struct_hash,
    order_tuple,
    recover_signer,
    sign_operation,
    sign_order,
    tag_bits,
    tag_covers,
    tag_from_bits,
    tag_union,
    to_compact_signature,
    typed_data,
)
from tests.chain_scaffold import metamask_sign

APP = "0x1111111111111111111111111111111111111111"
DATASET = "0x2222222222222222222222222222222222222222"
POOL = "0x3333333333333333333333333333333333333333"
HUB = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DOMAIN = hub_domain(chain_id=31337, hub_address=HUB)
TEE_TDX = tag_from_bits([0, 3])

# One order of each kind, every field away from its default.
ORDERS = {
    "app": AppOrder(
        app=APP,
        appprice=1_500_000_000,
        volume=7,
        tag=TEE_TDX,
        datasetrestrict=DATASET,
        workerpoolrestrict=POOL,
        requesterrestrict=DEV_ADDRESSES[3],
        salt=keccak(text="app salt"),
    ),
    "dataset": DatasetOrder(
        dataset=DATASET,
        datasetprice=250,
        volume=2**64,
        tag=tag_from_bits([0]),
        apprestrict=APP,
        workerpoolrestrict=POOL,
        requesterrestrict=DEV_ADDRESSES[3],
        salt=keccak(text="dataset salt"),
    ),
    "workerpool": WorkerpoolOrder(
        workerpool=POOL,
        workerpoolprice=2**256 - 1,
        volume=100,
        tag=TEE_TDX,
        category=3,
        trust=5,
        apprestrict=APP,
        datasetrestrict=DATASET,
        requesterrestrict=DEV_ADDRESSES[3],
        salt=keccak(text="workerpool salt"),
    ),
    "request": RequestOrder(
        app=APP,
        appmaxprice=1_500_000_000,
        dataset=DATASET,
        datasetmaxprice=250,
        workerpool=POOL,
        workerpoolmaxprice=9_000,
        requester=DEV_ADDRESSES[3],
        volume=3,
        tag=tag_from_bits([3]),
        category=3,
        trust=5,
        beneficiary=DEV_ADDRESSES[4],
        callback=DEV_ADDRESSES[5],
        params=json.dumps(
            {"iexec_args": "--title «Größe» 日本語 🚀", "iexec_input_files": ["https://x.test/a"]},
            ensure_ascii=False,
        ),
        salt=keccak(text="request salt"),
    ),
}
OWNER_KEY = DEV_PRIVATE_KEYS[3]
OWNER = DEV_ADDRESSES[3]

# PoCo v5's IexecLibOrders_v5 constants: same type strings, same hashes.
POCO_TYPE_HASHES = {
    EIP712_DOMAIN_TYPE: "8b73c3c69bb8fe3d512ecc4cf759cc79239f7b179b0ffacaa9a75d522b39400f",
    APP_ORDER_TYPE: "60815a0eeec47dddf1615fe53b31d016c31444e01b9d796db365443a6445d008",
    DATASET_ORDER_TYPE: "6cfc932a5a3d22c4359295b9f433edff52b60703fa47690a04a83e40933dd47c",
    WORKERPOOL_ORDER_TYPE: "aa3429fb281b34691803133d3d978a75bb77c617ed6bc9aa162b9b30920022bb",
    REQUEST_ORDER_TYPE: "f24e853034a3a450aba845a82914fbb564ad85accca6cf62be112a154520fae0",
    operation_type(AppOrder): "0638bb0702457e2b4b01be8a202579b8bf97e587fb4f2cc4d4aad01f21a06ee0",
    operation_type(DatasetOrder): (
        "075eb6f7578ff4292c241bd2484cd5c1d5e6ecc2ddd3317e1d8176b5a45865ec"
    ),
    operation_type(WorkerpoolOrder): (
        "322d980b7d7a6a1f7c39ff0c5445da6ae1d8e0393ff0dd468c8be3e2c8644388"
    ),
    operation_type(RequestOrder): (
        "0ded7b52c2d77595a40d242eca751df172b18e686326dbbed3f4748828af77c7"
    ),
}

OPERATIONS = [
    (kind, operation)
    for kind in ORDERS
    for operation in (OrderOperation.SIGN, OrderOperation.CLOSE)
]


def _eth_account_digest(data: dict) -> bytes:
    message = encode_typed_data(full_message=json.loads(json.dumps(data)))
    return keccak(b"\x19" + message.version + message.header + message.body)


@pytest.fixture(scope="module")
def metamask() -> dict[str, dict[str, str]]:
    """MetaMask's digest and signature (by OWNER_KEY) of every order's and operation's typed
    data, from one run of node."""
    cases = {f"order/{kind}": typed_data(order, DOMAIN) for kind, order in ORDERS.items()}
    for kind, operation in OPERATIONS:
        cases[f"operation/{kind}/{operation.name}"] = operation_typed_data(
            ORDERS[kind], operation, DOMAIN
        )
    signed = metamask_sign([{"data": data, "privateKey": OWNER_KEY} for data in cases.values()])
    return dict(zip(cases, signed, strict=True))


def test_type_strings_hash_to_poco_v5_type_hashes():
    for type_string, expected in POCO_TYPE_HASHES.items():
        assert keccak(text=type_string).hex() == expected, type_string


def test_order_fields_are_the_type_members_in_order():
    for order in ORDERS.values():
        names = [field.name for field in dataclasses.fields(order)]
        assert names == [name for name, _ in order.MEMBERS]
        assert order_tuple(order, b"\x01")[:-1] == order.values()


@pytest.mark.parametrize("kind", ORDERS)
def test_order_digest_equals_eth_account_typed_data_hash(kind):
    order = ORDERS[kind]

    assert order_digest(order, DOMAIN) == _eth_account_digest(typed_data(order, DOMAIN))


@pytest.mark.parametrize("kind", ORDERS)
def test_order_digest_equals_metamask_eip712_hash(kind, metamask):
    assert "0x" + order_digest(ORDERS[kind], DOMAIN).hex() == metamask[f"order/{kind}"]["digest"]


@pytest.mark.parametrize("kind", ORDERS)
def test_metamask_signature_recovers_to_the_signer_and_equals_ours(kind, metamask):
    order = ORDERS[kind]
    signature = bytes.fromhex(metamask[f"order/{kind}"]["signature"][2:])
    digest = order_digest(order, DOMAIN)

    assert Account._recover_hash(digest, signature=signature) == OWNER
    assert recover_signer(digest, signature) == OWNER
    # Both sign deterministically (RFC 6979): same key, same digest, same bytes.
    assert sign_order(order, DOMAIN, OWNER_KEY) == signature


@pytest.mark.parametrize(("kind", "operation"), OPERATIONS)
def test_operation_digest_equals_eth_account_and_metamask(kind, operation, metamask):
    order = ORDERS[kind]
    digest = operation_digest(order, operation, DOMAIN)
    expected = metamask[f"operation/{kind}/{operation.name}"]
    signature = bytes.fromhex(expected["signature"][2:])

    assert digest == _eth_account_digest(operation_typed_data(order, operation, DOMAIN))
    assert "0x" + digest.hex() == expected["digest"]
    assert recover_signer(digest, signature) == OWNER
    assert sign_operation(order, operation, DOMAIN, OWNER_KEY) == signature


def test_operation_digests_differ_by_operation_and_from_the_order_digest():
    order = ORDERS["app"]
    digests = {
        order_digest(order, DOMAIN),
        operation_digest(order, OrderOperation.SIGN, DOMAIN),
        operation_digest(order, OrderOperation.CLOSE, DOMAIN),
    }

    assert len(digests) == 3
    assert operation_struct_hash(order, OrderOperation.CLOSE) != order_struct_hash(order)


def test_digest_depends_on_domain_chain_and_contract():
    order = ORDERS["request"]
    other_chain = hub_domain(chain_id=1, hub_address=HUB)
    other_hub = hub_domain(chain_id=31337, hub_address=APP)

    assert len({order_digest(order, d) for d in (DOMAIN, other_chain, other_hub)}) == 3


def test_typed_data_is_json_with_decimal_uint256_and_hex_bytes32():
    data = json.loads(json.dumps(typed_data(ORDERS["workerpool"], DOMAIN)))

    assert data["primaryType"] == "WorkerpoolOrder"
    assert data["domain"] == {
        "name": "SuperEdgeHub",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": HUB,
    }
    assert data["types"]["EIP712Domain"] == [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ]
    assert data["message"]["workerpoolprice"] == str(2**256 - 1)
    assert data["message"]["tag"] == "0x" + "00" * 31 + "09"
    assert data["message"]["apprestrict"] == APP


@pytest.mark.parametrize("kind", ORDERS)
def test_order_round_trips_through_its_typed_message(kind):
    order = ORDERS[kind]
    message = json.loads(json.dumps(typed_data(order, DOMAIN)))["message"]

    assert order_from_typed_message(type(order), message) == order


def test_fields_are_normalized_addresses_checksummed_and_hex_bytes32_decoded():
    order = AppOrder(
        app=HUB.lower(), appprice=1, tag="0x" + "00" * 31 + "01", salt="0x" + "ab" * 32
    )

    assert order.app == HUB
    assert order.tag == bytes(31) + b"\x01"
    assert order.salt == b"\xab" * 32
    assert order.datasetrestrict == ZERO_ADDRESS


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app", "0x1234"),
        ("appprice", -1),
        ("appprice", 2**256),
        ("appprice", "5"),
        ("tag", b"\x01"),
        ("salt", "0xzz"),
    ],
)
def test_invalid_field_values_are_refused(field, value):
    fields = {"app": APP, "appprice": 1, field: value}

    with pytest.raises(ValueError, match=field):
        AppOrder(**fields)


def test_new_orders_get_distinct_random_salts():
    first, second = AppOrder(app=APP, appprice=1), AppOrder(app=APP, appprice=1)

    assert first.salt != second.salt
    assert order_digest(first, DOMAIN) != order_digest(second, DOMAIN)


def test_order_and_operation_tuples_follow_the_hub_abi():
    order = ORDERS["app"]
    signature = sign_order(order, DOMAIN, OWNER_KEY)

    assert order_tuple(order, signature) == (
        APP,
        1_500_000_000,
        7,
        TEE_TDX,
        DATASET,
        POOL,
        OWNER,
        keccak(text="app salt"),
        signature,
    )
    assert order_tuple(order)[-1] == b""
    assert operation_tuple(order, OrderOperation.CLOSE, b"\x02") == (
        order_tuple(order),
        1,
        b"\x02",
    )


def test_tags_are_bitmaps_with_tee_bit_0_and_tdx_bit_3():
    assert int.from_bytes(TEE_TDX, "big") == 0b1001
    assert tag_bits(TEE_TDX) == {0, 3}
    assert tag_union(tag_from_bits([0]), "0x" + "00" * 31 + "08") == TEE_TDX
    assert tag_covers(offered=TEE_TDX, required=tag_from_bits([3]))
    assert not tag_covers(offered=tag_from_bits([]), required=tag_from_bits([0]))
    with pytest.raises(ValueError, match="256"):
        tag_from_bits([256])


# EIP-2098's own test vectors: key 0x1234...1234 signing two personal messages.
EIP2098_KEY = "0x" + "1234567890" * 6 + "1234"
EIP2098_VECTORS = [
    (
        "Hello World",
        "68a020a209d3d56c46f38cc50a33f704f4a9a10a59377f8dd762ac66910e9b90"
        "7e865ad05c4035ab5792787d4a0297a43617ae897930a6fe4d822b8faea52064",
        27,
    ),
    (
        "It's a small(er) world",
        "9328da16089fcba9bececa81663203989f2df5fe1faa6291a45381c81bd17f76"
        "939c6d6b623b42da56557e5e734a43dc83345ddfadec52cbe24d0cc64f550793",
        28,
    ),
]


@pytest.mark.parametrize(("text", "compact", "v"), EIP2098_VECTORS)
def test_compact_signatures_match_eip_2098_vectors(text, compact, v):
    signed = Account.sign_message(encode_defunct(text=text), private_key=EIP2098_KEY)
    full = bytes(signed.signature)

    assert full[64] == v
    assert to_compact_signature(full).hex() == compact
    assert from_compact_signature(bytes.fromhex(compact)) == full


@pytest.mark.parametrize("kind", ORDERS)
def test_compact_order_signature_round_trips_and_recovers(kind):
    digest = order_digest(ORDERS[kind], DOMAIN)
    full = sign_order(ORDERS[kind], DOMAIN, OWNER_KEY)
    compact = to_compact_signature(full)

    assert len(compact) == 64
    assert from_compact_signature(compact) == full
    assert recover_signer(digest, compact) == OWNER
    assert recover_signer(digest, "0x" + full.hex()) == OWNER


def test_signature_with_v_0_or_1_recovers_like_27_or_28():
    digest = order_digest(ORDERS["app"], DOMAIN)
    full = sign_order(ORDERS["app"], DOMAIN, OWNER_KEY)

    assert recover_signer(digest, full[:64] + bytes([full[64] - 27])) == OWNER


def test_the_malleable_twin_of_a_signature_is_refused_as_the_hub_refuses_it():
    digest = order_digest(ORDERS["app"], DOMAIN)
    full = sign_order(ORDERS["app"], DOMAIN, OWNER_KEY)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(full[32:64], "big")
    twin = full[:32] + (n - s).to_bytes(32, "big") + bytes([55 - full[64]])  # 27 <-> 28

    with pytest.raises(ValueError, match="upper half"):
        recover_signer(digest, twin)


@pytest.mark.parametrize("signature", [b"", b"\x01" * 63, b"\x00" * 65, b"\x01" * 64 + b"\x05"])
def test_malformed_signatures_raise_value_error(signature):
    with pytest.raises(ValueError, match="ignature"):
        recover_signer(order_digest(ORDERS["app"], DOMAIN), signature)


@pytest.mark.parametrize("v", [2, 26, 29, 35, 37, 255])
def test_v_values_the_hub_refuses_are_refused(v):
    digest = order_digest(ORDERS["app"], DOMAIN)
    full = sign_order(ORDERS["app"], DOMAIN, OWNER_KEY)

    with pytest.raises(ValueError, match="v value"):
        recover_signer(digest, full[:64] + bytes([v]))
