"""Dev accounts only on the dev chain; server keys from the environment."""

from __future__ import annotations

import pytest
from eth_account import Account

from marketplace.chain.anvil import DEV_MNEMONIC
from marketplace.chain.keys import (
    DEV_ADDRESSES,
    DEV_PRIVATE_KEYS,
    KeyRefused,
    dev_account,
    server_account,
)

# A key of no value anywhere, generated for these tests.
OWN_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


@pytest.fixture(autouse=True)
def _no_server_keys(monkeypatch, settings):
    for variable in ("CHAIN_DEPLOYER_KEY", "CHAIN_FAUCET_KEY", "CHAIN_SCHEDULER_KEY"):
        monkeypatch.delenv(variable, raising=False)
    settings.CHAIN_ID = 31337


def test_dev_keys_are_anvils_accounts_of_the_test_mnemonic():
    Account.enable_unaudited_hdwallet_features()
    for index, (key, address) in enumerate(zip(DEV_PRIVATE_KEYS, DEV_ADDRESSES, strict=True)):
        derived = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        assert (derived.key.to_0x_hex(), derived.address) == (key, address)


def test_dev_keys_are_the_accounts_anvil_funds(chain):
    assert chain.eth.accounts == list(DEV_ADDRESSES)


def test_dev_account_on_the_dev_chain():
    assert dev_account(3).address == DEV_ADDRESSES[3]


def test_dev_account_refuses_on_another_chain(settings):
    settings.CHAIN_ID = 1

    with pytest.raises(KeyRefused, match="only on the local dev chain"):
        dev_account(0)


def test_dev_account_index_out_of_range():
    with pytest.raises(ValueError, match="0 to 9"):
        dev_account(10)


def test_server_account_falls_back_to_a_dev_account_on_the_dev_chain():
    assert server_account("deployer").address == DEV_ADDRESSES[0]
    assert server_account("scheduler").address == DEV_ADDRESSES[8]
    assert server_account("faucet").address == DEV_ADDRESSES[9]


def test_server_account_reads_its_key_from_the_environment(monkeypatch, settings):
    settings.CHAIN_ID = 1
    monkeypatch.setenv("CHAIN_SCHEDULER_KEY", OWN_KEY)

    assert server_account("scheduler").address == Account.from_key(OWN_KEY).address


def test_server_account_without_a_key_off_the_dev_chain_says_which_variable(settings):
    settings.CHAIN_ID = 1

    with pytest.raises(KeyRefused, match="set CHAIN_FAUCET_KEY"):
        server_account("faucet")


def test_server_account_refuses_a_public_dev_key_off_the_dev_chain(monkeypatch, settings):
    settings.CHAIN_ID = 1
    monkeypatch.setenv("CHAIN_DEPLOYER_KEY", DEV_PRIVATE_KEYS[0])

    with pytest.raises(KeyRefused, match="public development keys"):
        server_account("deployer")


@pytest.mark.parametrize("value", ["0x1234", "not hex at all", "0x" + "00" * 32])
def test_server_account_with_an_invalid_key_does_not_echo_it(monkeypatch, value):
    monkeypatch.setenv("CHAIN_DEPLOYER_KEY", value)

    with pytest.raises(KeyRefused) as refused:
        server_account("deployer")

    assert str(refused.value) == "CHAIN_DEPLOYER_KEY is not a valid private key (32 bytes in hex)."


def test_unknown_role_is_refused():
    with pytest.raises(ValueError, match="Unknown server role 'miner'"):
        server_account("miner")
