"""Keys and messages for Sign-In with Ethereum tests: anvil's public development accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from marketplace.accounts.siwe import SiweMessage

ALICE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ALICE = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
BOB_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
BOB = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

DOMAIN = "superedge.test"
URI = "https://superedge.test/"
CHAIN_ID = 31337


def sign(text: str, key: str) -> str:
    """What MetaMask's personal_sign returns for `text`."""
    return Account.sign_message(encode_defunct(text=text), private_key=key).signature.to_0x_hex()


def make_message(*, nonce: str = "abcdEFGH12345678", **overrides: Any) -> SiweMessage:
    """A message for ALICE to sign in to DOMAIN, valid for the next five minutes."""
    now = datetime.now(UTC).replace(microsecond=0)
    fields: dict[str, Any] = {
        "domain": DOMAIN,
        "address": ALICE,
        "statement": "Sign in to SuperEdge with your Ethereum account.",
        "uri": URI,
        "chain_id": CHAIN_ID,
        "nonce": nonce,
        "issued_at": now - timedelta(seconds=5),
        "expiration_time": now + timedelta(minutes=5),
    }
    return SiweMessage(**(fields | overrides))
