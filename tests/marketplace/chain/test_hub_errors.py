"""Messages for people of the Hub's, ECT's, the registries' and the assets' custom errors: every
error has one (a new error without a message fails here), and each says what failed and what
to do, with short addresses and ECT amounts."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from marketplace.chain.errors import MESSAGES, decode_revert, describe_error, error_selector
from marketplace.chain.hub_errors import (
    HUB_ABI_CONTRACTS,
    format_time,
    hub_abis,
    tag_bit_names,
)
from marketplace.chain.orders import tag_from_bits

ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ZERO = "0x0000000000000000000000000000000000000000"
DIGEST = keccak(text="order")
TASK = keccak(text="task")
NOON = 1_767_268_800  # 2026-01-01 12:00:00 UTC

SAMPLES = {
    "address": ALICE,
    "uint256": 1_500_000_000,
    "uint8": 1,
    "bytes32": DIGEST,
    "bytes4": b"\x12\x34\x56\x78",
    "bytes1": b"\x0f",
    "string": "x",
}


def _errors():
    for name, abi in zip(HUB_ABI_CONTRACTS, hub_abis(), strict=True):
        for entry in abi:
            if entry["type"] == "error":
                yield name, entry


def _sample_arguments(entry):
    return {item["name"]: SAMPLES[item["type"]] for item in entry["inputs"]}


def test_hub_abis_are_those_of_the_hub_token_registries_and_assets():
    assert HUB_ABI_CONTRACTS == (
        "Hub",
        "ECT",
        "AppRegistry",
        "DatasetRegistry",
        "WorkerpoolRegistry",
        "App",
        "Dataset",
        "Workerpool",
    )
    assert all(any(entry["type"] == "error" for entry in abi) for abi in hub_abis())


@pytest.mark.parametrize(
    ("contract", "entry"),
    list(_errors()),
    ids=[f"{contract}.{entry['name']}" for contract, entry in _errors()],
)
def test_every_error_has_a_message_of_its_own(contract, entry):
    arguments = _sample_arguments(entry)

    assert entry["name"] in MESSAGES, f"{contract}.{entry['name']} has no message"
    message = MESSAGES[entry["name"]](arguments)
    assert message != describe_error(entry["name"], arguments)
    assert message[0].isupper() and message.endswith("."), message


def test_errors_of_the_same_name_have_the_same_arguments_in_every_contract():
    shapes = {}
    for _, entry in _errors():
        shapes.setdefault(entry["name"], set()).add(error_selector(entry))

    assert {name: len(selectors) for name, selectors in shapes.items() if len(selectors) > 1} == {}


def test_tag_bits_are_named_tee_tdx_or_by_number():
    assert tag_bit_names(tag_from_bits([0, 3, 5])) == ["TEE", "TDX", "bit 5"]


def test_format_time_is_utc():
    assert format_time(NOON) == "2026-01-01 12:00:00 UTC"


# (error name, arguments, message): one line per rule a person can act on.
MESSAGE_TABLE = [
    (
        "InsufficientStake",
        {"account": ALICE, "stake": 300_000_000, "needed": 1_200_000_000},
        "The escrow of 0xf39F…2266 holds 0.3 ECT free; 1.2 ECT are needed — deposit 0.9 ECT first.",
    ),
    (
        "CategoryMismatch",
        {"requestCategory": 2, "workerpoolCategory": 0},
        "Your request is for category 2 but the workerpool order is for category 0: pick a "
        "workerpool order of category 2.",
    ),
    (
        "UnknownCategory",
        {"category": 7, "count": 5},
        "Category 7 does not exist (the Hub has categories 0 to 4): pick an existing one.",
    ),
    (
        "TrustTooHigh",
        {"requestTrust": 5, "workerpoolTrust": 3},
        "Your request asks for trust 5 but the workerpool order offers at most 3: lower the "
        "trust or pick a more trusted workerpool order.",
    ),
    (
        "PriceTooHigh",
        {"asset": 0, "price": 2_000_000_000, "maxPrice": 1_500_000_000},
        "The app costs 2 ECT but your request allows at most 1.5 ECT: raise your app max price "
        "or pick a cheaper app order.",
    ),
    (
        "PriceTooHigh",
        {"asset": 2, "price": 3_000_000_000, "maxPrice": 0},
        "The workerpool costs 3 ECT but your request allows at most 0 ECT: raise your "
        "workerpool max price or pick a cheaper workerpool order.",
    ),
    (
        "TagNotOffered",
        {"missingBits": tag_from_bits([0])},
        "The request needs tag bits TEE that the pool does not offer (the app, dataset and "
        "request tags add up): pick a workerpool order whose tag offers them; no SuperEdge pool "
        "offers TEE or TDX, so drop those bits instead.",
    ),
    (
        "TagNotOffered",
        {"missingBits": tag_from_bits([1, 2])},
        "The request needs tag bits bit 1, bit 2 that the pool does not offer (the app, dataset "
        "and request tags add up): pick a workerpool order whose tag offers them.",
    ),
    (
        "AssetMismatch",
        {"asset": 0, "requested": ALICE, "offered": BOB},
        "Your request is for app 0xf39F…2266 but the app order is for 0x7099…79C8: use an "
        "order for the app you request.",
    ),
    (
        "AssetMismatch",
        {"asset": 1, "requested": ALICE, "offered": ZERO},
        "Your request needs dataset 0xf39F…2266 but no dataset order was given: add an order "
        "for that dataset.",
    ),
    (
        "AssetMismatch",
        {"asset": 1, "requested": ZERO, "offered": BOB},
        "Your request has no dataset but a dataset order for 0x7099…79C8 was given: leave the "
        "dataset order out.",
    ),
    (
        "RestrictionFailed",
        {"order": 2, "field": 3, "allowed": ALICE, "actual": BOB},
        "The workerpool order allows only requester 0xf39F…2266; you are 0x7099…79C8.",
    ),
    (
        "RestrictionFailed",
        {"order": 3, "field": 2, "allowed": ALICE, "actual": BOB},
        "Your request allows only workerpool 0xf39F…2266; this deal's workerpool is 0x7099…79C8.",
    ),
    (
        "RestrictionFailed",
        {"order": 0, "field": 1, "allowed": ALICE, "actual": ZERO},
        "The app order allows only dataset 0xf39F…2266; this deal has no dataset.",
    ),
    (
        "AssetNotRegistered",
        {"asset": 2, "addr": ALICE},
        "No workerpool is registered at 0xf39F…2266: fix the address, or register the "
        "workerpool first.",
    ),
    (
        "InvalidSignature",
        {"order": 3, "digest": DIGEST, "signer": ALICE},
        f"The request order 0x{DIGEST.hex()[:8]}…{DIGEST.hex()[-4:]} is neither signed nor "
        "presigned by its requester 0xf39F…2266: sign it with that account.",
    ),
    (
        "InvalidSignature",
        {"order": 1, "digest": DIGEST, "signer": ALICE},
        f"The dataset order 0x{DIGEST.hex()[:8]}…{DIGEST.hex()[-4:]} is neither signed nor "
        "presigned by the dataset owner 0xf39F…2266: sign it with that account.",
    ),
    (
        "OrderExhausted",
        {"order": 0, "digest": DIGEST},
        f"The app order 0x{DIGEST.hex()[:8]}…{DIGEST.hex()[-4:]} has no volume left (used up "
        "or closed): use another order.",
    ),
    (
        "UnauthorizedOperation",
        {"order": 2, "owner": ALICE, "caller": BOB},
        "Only the workerpool owner 0xf39F…2266 may presign or close this workerpool order, or "
        "someone carrying their signature of the operation; you are 0x7099…79C8.",
    ),
    (
        "NotScheduler",
        {"taskid": TASK, "caller": BOB, "scheduler": ALICE},
        f"Only the scheduler of task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]}, 0xf39F…2266, may do "
        "this; you are 0x7099…79C8.",
    ),
    (
        "DeadlineNotReached",
        {"taskid": TASK, "deadline": NOON},
        f"Too early: this is possible on task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]} from "
        "2026-01-01 12:00:00 UTC on; wait until then.",
    ),
    (
        "WrongTaskStatus",
        {"taskid": TASK, "status": 0},
        f"Task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]} is UNSET, which does not allow this: "
        "initialize it first.",
    ),
    (
        "GiveUpAfterConsensus",
        {"taskid": TASK, "status": 2},
        f"Task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]} reached a consensus, so it can no longer be "
        "given up: finalize it once its winners revealed (or reopen it if none reveals in time).",
    ),
    (
        "GiveUpAfterConsensus",
        {"taskid": TASK, "status": 3},
        f"Task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]} is completed already: there is nothing to "
        "give up.",
    ),
    (
        "GiveUpPastFinalDeadline",
        {"taskid": TASK, "finalDeadline": NOON},
        f"Task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]} passed its final deadline at 2026-01-01 "
        "12:00:00 UTC: claim it instead (anyone may), which refunds the payer the same way.",
    ),
    (
        "TooManyContributors",
        {"taskid": TASK, "max": 32},
        f"Task 0x{TASK.hex()[:8]}…{TASK.hex()[-4:]} has its 32 contributions already, the most "
        "a task takes: wait for its consensus, or work on another task.",
    ),
    (
        "DatasetOrderNotEmpty",
        {},
        "Your request has no dataset, so the dataset order must be all zeros (no price, volume, "
        "tag, restriction, salt or signature): send the empty dataset order.",
    ),
    (
        "NotAContract",
        {"addr": ALICE},
        "There is no contract at 0xf39F…2266: deploy that contract first, then give its address.",
    ),
    (
        "ArrayLengthMismatch",
        {"dealids": 3, "idxs": 2},
        "The batch has 3 deal id(s) but 2 task index(es): give one deal id per task index.",
    ),
    (
        "NotPendingOwner",
        {"caller": BOB, "pendingOwner": ALICE},
        "Only 0xf39F…2266, the proposed Hub owner, may accept the ownership; you are 0x7099…79C8.",
    ),
    (
        "NotPendingOwner",
        {"caller": BOB, "pendingOwner": ZERO},
        "No ownership transfer of the Hub is pending: the Hub owner must propose you with "
        "transferOwnership first.",
    ),
    (
        "ERC20InsufficientAllowance",
        {"spender": ALICE, "allowance": 0, "needed": 5_000_000_000},
        "Spender 0xf39F…2266 may take only 0 ECT of yours but 5 ECT are needed: approve 5 ECT "
        "first, or deposit with a permit.",
    ),
    (
        "NotAssetOwner",
        {"caller": BOB, "owner": ALICE},
        "Only the asset owner 0xf39F…2266 may do this; you are 0x7099…79C8.",
    ),
    (
        "InvalidPolicy",
        {"workerStakeRatio": 30, "schedulerRewardRatio": 101},
        "The scheduler reward ratio is a percent: at most 100, not 101.",
    ),
]


@pytest.mark.parametrize(("name", "arguments", "message"), MESSAGE_TABLE)
def test_message_says_what_failed_and_what_to_do(name, arguments, message):
    assert MESSAGES[name](arguments) == message


def test_decoding_with_hub_abis_gives_the_message():
    data = keccak(text="PriceTooHigh(uint8,uint256,uint256)")[:4] + encode(
        ["uint8", "uint256", "uint256"], [1, 2_500_000_000, 2_000_000_000]
    )

    revert = decode_revert(data, hub_abis())

    assert (revert.name, revert.arguments) == (
        "PriceTooHigh",
        {"asset": 1, "price": 2_500_000_000, "maxPrice": 2_000_000_000},
    )
    assert str(revert) == (
        "The dataset costs 2.5 ECT but your request allows at most 2 ECT: raise your dataset "
        "max price or pick a cheaper dataset order."
    )


def test_an_error_of_the_same_name_with_other_arguments_gets_the_generic_message():
    other_abi = [
        {
            "type": "error",
            "name": "InsufficientStake",
            "inputs": [
                {"name": "account", "type": "address"},
                {"name": "needed", "type": "uint256"},
                {"name": "available", "type": "uint256"},
            ],
        }
    ]
    data = keccak(text="InsufficientStake(address,uint256,uint256)")[:4] + encode(
        ["address", "uint256", "uint256"], [ALICE, 3_000, 1_000]
    )

    revert = decode_revert(data, [other_abi])

    assert str(revert) == (
        "The contract refused: InsufficientStake(account=0xf39F…2266, needed=3000, available=1000)."
    )
