"""Keys the server signs with.

The only private keys in this code base are anvil's ten public development accounts (derived
from the well-known "test test ... junk" mnemonic, published in Foundry's documentation). They
hold value on the local dev chain alone, so `dev_account` refuses unless the configured chain is
the dev chain (CHAIN_ID 31337).

Server-held keys (deployer, faucet, scheduler) come from the environment, never from settings:
CHAIN_DEPLOYER_KEY, CHAIN_FAUCET_KEY, CHAIN_SCHEDULER_KEY. On the dev chain a missing one falls
back to a dev account; on any other chain it is an error, and so is a well-known dev key.
"""

from __future__ import annotations

import os

from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount

from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.errors import ChainError

# A key the server holds and signs with (deployer, faucet, a pool's owner, a dev account).
ServerKey = LocalAccount

# m/44'/60'/0'/0/{index} of the "test test ... junk" mnemonic: PUBLIC keys, dev chain only.
DEV_PRIVATE_KEYS: tuple[str, ...] = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
DEV_ADDRESSES: tuple[str, ...] = (
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
    "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
    "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
    "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
    "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
    "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
)

# Environment variable of each server role, and the dev account it uses on the dev chain.
# Server roles take the last dev accounts, so that demos and tests can hand out the first
# ones to users (account 0, the deployer, is also the usual first user of anvil examples).
ROLE_ENVIRONMENT = {
    "deployer": "CHAIN_DEPLOYER_KEY",
    "faucet": "CHAIN_FAUCET_KEY",
    "scheduler": "CHAIN_SCHEDULER_KEY",
}
ROLE_DEV_INDEX = {"deployer": 0, "faucet": 9, "scheduler": 8}


class KeyRefused(ChainError):
    """A key was asked for that this configuration must not use, or none is configured."""


def _on_dev_chain() -> bool:
    return settings.CHAIN_ID == DEV_CHAIN_ID


def dev_account(index: int) -> LocalAccount:
    """Anvil's dev account `index` (0-9). Refuses unless settings.CHAIN_ID is 31337."""
    if not _on_dev_chain():
        raise KeyRefused(
            f"Development account {index} exists only on the local dev chain "
            f"(chain id {DEV_CHAIN_ID}); this site is configured for chain {settings.CHAIN_ID}."
        )
    if not 0 <= index < len(DEV_PRIVATE_KEYS):
        raise ValueError(f"anvil has dev accounts 0 to {len(DEV_PRIVATE_KEYS) - 1}, not {index}.")
    return Account.from_key(DEV_PRIVATE_KEYS[index])


def server_account(role: str) -> LocalAccount:
    """The key the server signs with as `role` ("deployer", "faucet" or "scheduler").

    Read from the role's environment variable; without one, a dev account on the dev chain,
    and KeyRefused elsewhere. A well-known dev key is refused off the dev chain."""
    if role not in ROLE_ENVIRONMENT:
        raise ValueError(f"Unknown server role {role!r}: one of {', '.join(ROLE_ENVIRONMENT)}.")
    variable = ROLE_ENVIRONMENT[role]
    key = os.environ.get(variable, "").strip()
    if not key:
        if _on_dev_chain():
            return dev_account(ROLE_DEV_INDEX[role])
        raise KeyRefused(
            f"No {role} key: set {variable} to its private key (chain {settings.CHAIN_ID} "
            "is not the dev chain, where a development account would stand in)."
        )
    try:
        account = Account.from_key(key)
    except (ValueError, TypeError):
        # Never echo the value: it may be a real key with a typo.
        raise KeyRefused(f"{variable} is not a valid private key (32 bytes in hex).") from None
    if not _on_dev_chain() and account.address in DEV_ADDRESSES:
        raise KeyRefused(
            f"{variable} is one of anvil's public development keys, which anyone can use: "
            f"set a private key of your own for chain {settings.CHAIN_ID}."
        )
    return account


def pool_owner_accounts() -> dict[str, LocalAccount]:
    """The keys of the pool owners whose pools this site schedules, by address: the Hub takes
    a pool's owner as its scheduler (it initializes, authorizes workers, finalizes).

    POOL_OWNER_KEYS: comma-separated private keys. Without it, on the dev chain, anvil's ten
    dev accounts (the demo's pools belong to them); elsewhere none. Well-known dev keys are
    refused off the dev chain."""
    raw = [key.strip() for key in os.environ.get("POOL_OWNER_KEYS", "").split(",") if key.strip()]
    if not raw:
        if _on_dev_chain():
            return {account.address: account for account in map(Account.from_key, DEV_PRIVATE_KEYS)}
        return {}
    accounts = {}
    for position, key in enumerate(raw, start=1):
        try:
            account = Account.from_key(key)
        except (ValueError, TypeError):
            raise KeyRefused(
                f"POOL_OWNER_KEYS: key {position} is not a valid private key (32 bytes in hex)."
            ) from None
        if not _on_dev_chain() and account.address in DEV_ADDRESSES:
            raise KeyRefused(
                f"POOL_OWNER_KEYS: key {position} is one of anvil's public development keys: "
                f"use a private key of your own on chain {settings.CHAIN_ID}."
            )
        accounts[account.address] = account
    return accounts
