"""Which deployment the site uses, and what wallets hold on chain."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from django.core.cache import cache
from eth_account import Account

from marketplace.chain import artifacts, client, keys, selectors, services
from marketplace.chain.client import TransactionSender
from marketplace.chain.deploy import DeploymentError
from marketplace.chain.errors import ChainUnavailable, ContractMissing, ContractsNotDeployed
from marketplace.chain.models import Deployment
from tests.chain_scaffold import ECT, closed_port_url, send_ect

pytestmark = pytest.mark.django_db


def _record(deployment, *, chain_id: int = 31337) -> Deployment:
    fields = dataclasses.asdict(deployment)
    return Deployment.objects.create(chain_id=chain_id, first_block=fields.pop("block"), **fields)


def _other_deployment(deployment):
    """`deployment` with another hub address (records need not be on chain for the reads that
    never call the node)."""
    return dataclasses.replace(deployment, hub=Account.create().address)


# current_deployment


def test_no_deployment_before_one_is_recorded():
    assert selectors.current_deployment() is None


def test_the_deployment_recorded_last_for_the_configured_chain(hub_deployment, settings):
    settings.WEB3_RPC_URL = closed_port_url()  # a recorded deployment needs no call to the node
    _record(hub_deployment)
    latest = _other_deployment(hub_deployment)
    _record(latest)
    _record(_other_deployment(hub_deployment), chain_id=1)

    assert selectors.current_deployment() == latest


def test_records_of_other_chains_are_not_used(hub_deployment):
    _record(hub_deployment, chain_id=1)

    assert selectors.current_deployment() is None


def test_hub_address_setting_wins_and_is_read_from_the_hub(hub_deployment, settings):
    _record(_other_deployment(hub_deployment))
    settings.HUB_ADDRESS = hub_deployment.hub

    assert selectors.current_deployment() == hub_deployment


def test_hub_address_setting_uses_its_record_without_calling_the_node(hub_deployment, settings):
    _record(hub_deployment)
    settings.HUB_ADDRESS = hub_deployment.hub.lower()
    settings.WEB3_RPC_URL = closed_port_url()

    assert selectors.current_deployment() == hub_deployment


def test_hub_address_read_from_the_chain_is_cached(chain, hub_deployment, settings):
    settings.HUB_ADDRESS = hub_deployment.hub
    assert selectors.current_deployment() == hub_deployment
    client.rpc("anvil_setCode", [hub_deployment.hub, "0x"])

    assert selectors.current_deployment() == hub_deployment  # no second read
    cache.clear()
    with pytest.raises(DeploymentError, match="No contract at"):
        selectors.current_deployment()


# current_hub


def test_current_hub_is_the_recorded_deployments_hub_and_is_reused(chain, hub_deployment):
    _record(hub_deployment)

    hub = selectors.current_hub()

    assert (hub.address, hub.token.address) == (hub_deployment.hub, hub_deployment.token)
    assert selectors.current_hub() is hub


def test_a_newly_recorded_deployment_gets_its_own_hub_at_once(hub_deployment, settings):
    settings.WEB3_RPC_URL = closed_port_url()  # finding the Hub asks the node nothing
    _record(hub_deployment)
    first = selectors.current_hub()
    later = _other_deployment(hub_deployment)
    _record(later)

    assert selectors.current_hub().address == later.hub
    assert first.address == hub_deployment.hub


def test_another_node_gets_its_own_hub(hub_deployment, settings):
    _record(hub_deployment)
    first = selectors.current_hub()
    settings.WEB3_RPC_URL = closed_port_url()

    assert selectors.current_hub() is not first
    assert selectors.current_hub().w3 is client.web3()


def test_clearing_the_hubs_makes_a_new_one(hub_deployment):
    _record(hub_deployment)
    first = selectors.current_hub()

    selectors.current_hub_clear()

    assert selectors.current_hub() is not first
    assert selectors.current_hub().address == first.address


def test_without_a_deployment_there_is_no_hub():
    with pytest.raises(ContractsNotDeployed, match="not deployed on chain 31337"):
        selectors.current_hub()


def test_a_hub_address_setting_that_names_no_hub_of_ours_is_refused(chain, settings):
    settings.HUB_ADDRESS = Account.create().address

    with pytest.raises(ContractMissing, match="HUB_ADDRESS") as refused:
        selectors.current_hub()
    assert type(refused.value) is ContractMissing  # the site may well have a deployment


def test_a_hub_address_setting_on_a_node_that_is_down_is_unreachable(hub_deployment, settings):
    settings.HUB_ADDRESS = hub_deployment.hub
    settings.WEB3_RPC_URL = closed_port_url()

    with pytest.raises(ChainUnavailable):
        selectors.current_hub()


def test_reads_of_a_hub_whose_contracts_are_gone_are_chain_errors(chain, hub_deployment):
    _record(_other_deployment(hub_deployment))

    with pytest.raises(ContractMissing, match=r"answers viewAccount\(\)"):
        selectors.current_hub().account(Account.create().address)


# wallets_on_chain


def test_wallets_on_chain_reads_ect_and_hub_escrow(chain, dev_accounts):
    deployment, _ = services.contracts_deploy()
    deployer, holder = keys.server_account("deployer"), dev_accounts[2]
    send_ect(deployment, deployer, holder.address, 500 * ECT)
    token = chain.eth.contract(address=deployment.token, abi=artifacts.abi("ECT"))
    hub = chain.eth.contract(address=deployment.hub, abi=artifacts.abi("Hub"))
    sender = TransactionSender(holder)
    sender.send(
        to=deployment.token, data=token.encode_abi("approve", args=[deployment.hub, 200 * ECT])
    )
    sender.send(to=deployment.hub, data=hub.encode_abi("deposit", args=[200 * ECT]))
    empty = Account.create().address

    onchain = selectors.wallets_on_chain(addresses=[holder.address, empty])

    assert onchain.problem == ""
    assert onchain.of(holder.address) == selectors.WalletHoldings(
        address=holder.address, ect=Decimal(300), stake=Decimal(200), locked=Decimal(0)
    )
    assert onchain.of(empty).ect == 0
    assert onchain.of(Account.create().address) is None


def test_wallets_on_chain_without_a_deployment():
    onchain = selectors.wallets_on_chain(addresses=[Account.create().address])

    assert (onchain.holdings, onchain.problem) == ({}, "contracts not deployed")


def test_wallets_on_chain_when_the_recorded_contracts_are_gone(chain, hub_deployment):
    _record(_other_deployment(hub_deployment))

    onchain = selectors.wallets_on_chain(addresses=[Account.create().address])

    assert onchain.problem == "contracts not deployed"


def test_wallets_on_chain_when_the_node_is_down(hub_deployment, settings):
    _record(hub_deployment)
    settings.WEB3_RPC_URL = closed_port_url()

    onchain = selectors.wallets_on_chain(addresses=[Account.create().address])

    assert (onchain.holdings, onchain.problem) == ({}, "chain unreachable")


def test_wallets_on_chain_with_a_configured_hub_on_a_node_that_is_down(hub_deployment, settings):
    settings.HUB_ADDRESS = hub_deployment.hub
    settings.WEB3_RPC_URL = closed_port_url()

    onchain = selectors.wallets_on_chain(addresses=[Account.create().address])

    assert onchain.problem == "chain unreachable"
