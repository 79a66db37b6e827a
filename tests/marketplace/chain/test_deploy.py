"""Deploying the contracts through the TransactionSender, and reading a deployment back from
its Hub, against a real anvil."""

from __future__ import annotations

import pytest
from eth_account import Account

from marketplace.chain import artifacts, client
from marketplace.chain.deploy import (
    DEFAULT_CATEGORIES,
    DeploymentError,
    deploy_hub,
    has_code,
    read_deployment,
)
from marketplace.chain.errors import ChainError, ChainRevert
from marketplace.chain.hub_errors import hub_abis
from tests.chain_scaffold import ECT, ect_balance

SUPPLY = 1_000_000_000 * ECT
HUB_ARGUMENTS = ("token", "app_registry", "dataset_registry", "workerpool_registry", "hub_orders")


def test_deploy_hub_wires_every_contract_and_creates_the_categories(chain, dev_accounts):
    deployer = dev_accounts[3]
    nonce_before = chain.eth.get_transaction_count(deployer.address)

    deployment = deploy_hub(chain, deployer)

    hub = chain.eth.contract(address=deployment.hub, abi=artifacts.abi("Hub"))
    assert hub.functions.token().call() == deployment.token
    assert hub.functions.appregistry().call() == deployment.app_registry
    assert hub.functions.datasetregistry().call() == deployment.dataset_registry
    assert hub.functions.workerpoolregistry().call() == deployment.workerpool_registry
    assert hub.functions.owner().call() == deployer.address
    assert hub.functions.countCategory().call() == len(DEFAULT_CATEGORIES)
    assert ect_balance(chain, deployment, deployer.address) == SUPPLY
    # Ten contracts and five categories, one transaction each, nonces in a row.
    assert chain.eth.get_transaction_count(deployer.address) == nonce_before + 15
    first = chain.eth.get_block(deployment.block, full_transactions=True)
    assert any(tx["to"] is None and tx["from"] == deployer.address for tx in first.transactions)


def test_deploy_hub_from_an_account_without_eth_fails_readably_and_sends_nothing(chain):
    penniless = Account.create()

    with pytest.raises(ChainError, match=r"The node refused the transaction from .*: Insufficient"):
        deploy_hub(chain, penniless)

    assert chain.eth.get_transaction_count(penniless.address) == 0


def test_read_deployment_gives_back_every_address_and_the_first_block(w3, hub_deployment):
    assert read_deployment(w3, hub_deployment.hub) == hub_deployment


def test_read_deployment_accepts_a_lower_case_address(w3, hub_deployment):
    assert read_deployment(w3, hub_deployment.hub.lower()).hub == hub_deployment.hub


def test_read_deployment_refuses_an_address_without_code(w3):
    nobody = Account.create().address

    with pytest.raises(DeploymentError, match=f"No contract at {nobody}"):
        read_deployment(w3, nobody)


def test_read_deployment_refuses_a_contract_that_is_not_a_hub(w3, hub_deployment):
    with pytest.raises(DeploymentError, match="is not a SuperEdge Hub"):
        read_deployment(w3, hub_deployment.token)


def test_has_code_tells_contracts_from_accounts(w3, hub_deployment, dev_accounts):
    assert has_code(w3, hub_deployment.hub)
    assert not has_code(w3, dev_accounts[0].address)


def test_deploy_hub_shares_the_senders_nonces(chain, dev_accounts):
    """One way to send: a TransactionSender of the same account right after a deployment
    continues from the deployment's nonces, no refetch, no clash."""
    deployer = dev_accounts[4]
    nonce_before = chain.eth.get_transaction_count(deployer.address)
    deploy_hub(chain, deployer)

    receipt = client.TransactionSender(deployer).send(to=dev_accounts[5].address, value=1)

    assert receipt["status"] == 1
    sent = chain.eth.get_transaction(receipt["transactionHash"])
    assert sent["nonce"] == nonce_before + 15


def _deploy(w3, account, name, *args):
    factory = w3.eth.contract(abi=artifacts.abi(name), bytecode=artifacts.bytecode(name))
    data = factory.constructor(*args).data_in_transaction
    return client.TransactionSender(account, w3=w3, abis=hub_abis()).send(to=None, data=data)


def _refused_deployment(w3, account, name, *args) -> ChainRevert:
    """Deploying `name(*args)` must be refused before anything is sent."""
    nonce = w3.eth.get_transaction_count(account.address)
    with pytest.raises(ChainRevert) as refused:
        _deploy(w3, account, name, *args)
    assert w3.eth.get_transaction_count(account.address) == nonce
    return refused.value


@pytest.mark.parametrize("argument", HUB_ARGUMENTS)
def test_hub_refuses_an_address_without_code_for_its_token_registries_and_module(
    chain, hub_deployment, dev_accounts, argument
):
    codeless = dev_accounts[9].address  # an account: calls to it would do nothing, silently
    arguments = {name: getattr(hub_deployment, name) for name in HUB_ARGUMENTS}
    arguments[argument] = codeless

    refused = _refused_deployment(chain, dev_accounts[3], "Hub", *arguments.values())

    assert (refused.name, refused.arguments) == ("NotAContract", {"addr": codeless})
    assert str(refused) == (
        f"There is no contract at {codeless[:6]}…{codeless[-4:]}: deploy that contract first, "
        "then give its address."
    )


@pytest.mark.parametrize(
    "contract", ["HubOrders", "AppRegistry", "DatasetRegistry", "WorkerpoolRegistry"]
)
def test_modules_and_registries_refuse_an_address_without_code(chain, dev_accounts, contract):
    codeless = dev_accounts[9].address

    refused = _refused_deployment(chain, dev_accounts[3], contract, codeless)

    assert (refused.name, refused.arguments) == ("NotAContract", {"addr": codeless})


def test_the_hub_deploys_on_modules_and_registries_with_code(chain, hub_deployment, dev_accounts):
    arguments = [getattr(hub_deployment, name) for name in HUB_ARGUMENTS]

    receipt = _deploy(chain, dev_accounts[3], "Hub", *arguments)

    hub = chain.eth.contract(address=receipt["contractAddress"], abi=artifacts.abi("Hub"))
    assert hub.functions.token().call() == hub_deployment.token
    assert hub.functions.countCategory().call() == 0  # its own storage, behind the same modules
