"""Who signed a wallet's message or permit, and the scheduler's authorization (the Hub's side of
the authorization is in test_hub: a contribution without it locks nothing)."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

from marketplace.chain.ids import address_bytes
from marketplace.chain.signing import message_signer, permit_signer, scheduler_authorization

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
KEY = Account.create()
PERMIT = {
    "types": {
        "EIP712Domain": [
            {"name": "name", "type": "string"},
            {"name": "chainId", "type": "uint256"},
        ],
        "Permit": [{"name": "value", "type": "uint256"}],
    },
    "primaryType": "Permit",
    "domain": {"name": "ECT", "chainId": "31337"},
    "message": {"value": "25"},
}


def test_the_signer_of_a_personal_sign_message_is_recovered():
    signature = KEY.sign_message(encode_defunct(text="Sign in, please")).signature

    assert message_signer("Sign in, please", "0x" + signature.hex()) == KEY.address
    assert message_signer("Sign in, please!", "0x" + signature.hex()) != KEY.address


def test_a_message_signature_that_is_no_signature_is_a_value_error():
    with pytest.raises(ValueError):
        message_signer("Sign in, please", "0x" + "00" * 65)


def test_the_signer_of_a_permit_is_recovered():
    signature = bytes(KEY.sign_typed_data(full_message=PERMIT).signature)

    assert permit_signer(PERMIT, signature) == KEY.address


def test_a_permit_signature_the_token_would_refuse_has_no_signer():
    signature = bytes(KEY.sign_typed_data(full_message=PERMIT).signature)
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # the malleable twin

    assert permit_signer(PERMIT, twin) is None
    assert permit_signer(PERMIT, signature[:64] + bytes([29])) is None
    assert permit_signer(PERMIT, bytes(65)) is None


def test_the_schedulers_authorization_signs_the_worker_and_the_task():
    worker, taskid = Account.create().address, bytes(range(32))

    authorization = scheduler_authorization(worker=worker, taskid=taskid, scheduler_key=KEY)

    signed = encode_defunct(primitive=keccak(address_bytes(worker) + taskid))
    assert Account.recover_message(signed, signature=authorization) == KEY.address
    assert authorization == scheduler_authorization(
        worker=worker, taskid="0x" + taskid.hex(), scheduler_key=KEY.key
    )
