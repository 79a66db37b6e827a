"""contracts_deploy (deploy once per chain, record, reuse) and the dev chain's faucet, against a
real anvil and database."""

from __future__ import annotations

import contextlib
import dataclasses
from decimal import Decimal

import pytest
from django.test import override_settings
from eth_account import Account

from marketplace.chain import client, keys, services
from marketplace.chain.anvil import running_anvil
from marketplace.chain.errors import ChainError, ChainUnavailable
from marketplace.chain.models import Deployment
from marketplace.chain.selectors import current_deployment
from marketplace.chain.services import ContractsNotDeployed
from tests.chain_scaffold import ECT, ETH, closed_port_url, ect_balance
from tests.loopback_node import fake_node

DEPLOYER = keys.DEV_ADDRESSES[keys.ROLE_DEV_INDEX["deployer"]]
FAUCET = keys.DEV_ADDRESSES[keys.ROLE_DEV_INDEX["faucet"]]

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(chain):
    deployment, _ = services.contracts_deploy()
    return deployment


def _record_fields(record: Deployment) -> dict:
    deployment = record.as_hub_deployment()
    return {field.name: getattr(deployment, field.name) for field in dataclasses.fields(deployment)}


# contracts_deploy


def test_deploy_records_every_address_and_funds_the_faucet(chain):
    deployment, created = services.contracts_deploy()

    assert created
    record = Deployment.objects.get()
    assert record.chain_id == 31337
    assert _record_fields(record) == dataclasses.asdict(deployment)
    assert ect_balance(chain, deployment, FAUCET) == 100_000_000 * ECT
    assert ect_balance(chain, deployment, DEPLOYER) == 900_000_000 * ECT
    assert current_deployment() == deployment


def test_a_second_deploy_reuses_the_recorded_contracts_without_a_transaction(chain):
    first, _ = services.contracts_deploy()
    nonce = chain.eth.get_transaction_count(DEPLOYER)

    second, created = services.contracts_deploy()

    assert not created
    assert second == first
    assert chain.eth.get_transaction_count(DEPLOYER) == nonce
    assert Deployment.objects.count() == 1


def test_deploy_redeploys_when_the_recorded_hub_has_no_code_any_more(chain):
    first, _ = services.contracts_deploy()
    client.rpc("anvil_setCode", [first.hub, "0x"])

    second, created = services.contracts_deploy()

    assert created
    assert second.hub != first.hub
    assert chain.eth.get_code(second.hub)
    assert Deployment.objects.count() == 2
    assert current_deployment() == second


def test_deploy_redeploys_when_the_recorded_hub_holds_another_token(chain):
    first, _ = services.contracts_deploy()
    Deployment.objects.update(token=Account.create().address)

    second, created = services.contracts_deploy()

    assert created
    assert second.hub != first.hub


def test_deploy_on_a_chain_restarted_from_scratch_updates_the_record(anvil):
    """Same deployer, same nonces: the new contracts get the old addresses; the record of them
    is updated (new time), not duplicated."""
    with running_anvil() as lost, override_settings(WEB3_RPC_URL=lost.url):
        first, _ = services.contracts_deploy()
    deployed_at = Deployment.objects.get().deployed_at

    with running_anvil() as fresh, override_settings(WEB3_RPC_URL=fresh.url):
        second, created = services.contracts_deploy()
        assert client.web3().eth.get_code(second.hub)

    assert created
    assert second == first
    assert Deployment.objects.get().deployed_at > deployed_at


def test_deploy_uses_the_configured_hub_address_without_sending(chain, hub_deployment, settings):
    settings.HUB_ADDRESS = hub_deployment.hub
    nonce = chain.eth.get_transaction_count(DEPLOYER)

    deployment, created = services.contracts_deploy()

    assert (deployment, created) == (hub_deployment, False)
    assert chain.eth.get_transaction_count(DEPLOYER) == nonce
    assert not Deployment.objects.exists()


def test_deploy_refuses_a_configured_hub_address_without_code(chain, settings):
    settings.HUB_ADDRESS = Account.create().address
    nonce = chain.eth.get_transaction_count(DEPLOYER)

    with pytest.raises(services.ContractsNotDeployed, match="unset it to deploy"):
        services.contracts_deploy()

    assert chain.eth.get_transaction_count(DEPLOYER) == nonce


def test_deploy_refuses_a_configured_hub_address_that_is_not_an_address(chain, settings):
    settings.HUB_ADDRESS = "0xhub"

    with pytest.raises(services.ContractsNotDeployed, match="HUB_ADDRESS is '0xhub', not an"):
        services.contracts_deploy()


def test_deploy_refuses_a_node_on_another_chain_than_configured(chain, settings):
    settings.CHAIN_ID = 5
    nonce = chain.eth.get_transaction_count(DEPLOYER)

    with pytest.raises(
        ChainError, match="is on chain 31337, but this site is configured for chain 5:"
    ):
        services.contracts_deploy()

    assert chain.eth.get_transaction_count(DEPLOYER) == nonce
    assert not Deployment.objects.exists()


def test_deploy_says_when_the_node_is_down(settings):
    settings.WEB3_RPC_URL = closed_port_url()

    with pytest.raises(ChainUnavailable, match="make chain"):
        services.contracts_deploy()

    assert not Deployment.objects.exists()


_ADDRESS_FIELDS = [
    field.name
    for field in Deployment._meta.get_fields()
    if getattr(field, "max_length", None) == 42
]


@contextlib.contextmanager
def _refusing_node(refused: str):
    """A JSON-RPC node on loopback that answers chain id 31337 and refuses `refused` (and any
    method it does not know) with a rate-limit error, as hosted nodes do."""

    def answer(request):
        reply = {"jsonrpc": "2.0", "id": request["id"]}
        if request["method"] == "eth_chainId" and refused != "eth_chainId":
            reply["result"] = hex(31337)
        else:
            reply["error"] = {"code": -32005, "message": "rate limit exceeded"}
        return 200, reply

    with fake_node(answer) as url:
        yield url


@pytest.mark.parametrize("refused", ["eth_chainId", "eth_getCode"])
def test_deploy_reports_a_node_error_as_such_and_deploys_nothing(settings, refused):
    """A rate-limited node says nothing about our Hub: no traceback, no new deployment."""
    Deployment.objects.create(
        chain_id=31337, **{f: Account.create().address for f in _ADDRESS_FIELDS}, first_block=1
    )
    with _refusing_node(refused) as url:
        settings.WEB3_RPC_URL = url
        with pytest.raises(ChainError, match="rate limit exceeded") as info:
            services.contracts_deploy()
    assert type(info.value) is not ContractsNotDeployed
    assert Deployment.objects.count() == 1


# faucet_drip


def test_faucet_sends_exactly_the_ect_and_eth_asked(chain, deployed):
    recipient = Account.create().address
    faucet_ect = ect_balance(chain, deployed, FAUCET)

    drip = services.faucet_drip(address=recipient)

    assert ect_balance(chain, deployed, recipient) == 1000 * ECT
    assert chain.eth.get_balance(recipient) == 1 * ETH
    assert ect_balance(chain, deployed, FAUCET) == faucet_ect - 1000 * ECT
    assert (drip.address, drip.ect, drip.eth) == (recipient, Decimal(1000), Decimal(1))
    assert len(drip.transactions) == 2
    assert drip.block == chain.eth.block_number
    assert str(drip) == f"Sent 1,000 ECT and 1 ETH to {recipient[:6]}…{recipient[-4:]}."


def test_faucet_sends_other_amounts_exactly(chain, deployed):
    recipient = Account.create().address

    drip = services.faucet_drip(address=recipient, ect=Decimal("2.5"), eth=Decimal("0.01"))

    assert ect_balance(chain, deployed, recipient) == 25 * ECT // 10
    assert chain.eth.get_balance(recipient) == ETH // 100
    assert str(drip).startswith("Sent 2.5 ECT and 0.01 ETH to ")


def test_faucet_can_send_ect_alone(chain, deployed):
    recipient = Account.create().address

    drip = services.faucet_drip(address=recipient, eth=Decimal(0))

    assert ect_balance(chain, deployed, recipient) == 1000 * ECT
    assert chain.eth.get_balance(recipient) == 0
    assert len(drip.transactions) == 1


def test_faucet_accepts_an_all_lower_case_address_and_answers_it_checksummed(chain, deployed):
    recipient = Account.create().address

    drip = services.faucet_drip(address=recipient.lower())

    assert drip.address == recipient
    assert ect_balance(chain, deployed, recipient) == 1000 * ECT


def _bad_checksum(address: str) -> str:
    """`address` with the case of its first letter flipped: a wrong EIP-55 checksum."""
    index = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:index] + address[index].swapcase() + address[index + 1 :]


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("", "is not an Ethereum address"),
        ("0x1234", "is not an Ethereum address"),
        ("0x" + "g" * 40, "is not an Ethereum address"),
        ("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "is not an Ethereum address"),
        (_bad_checksum(keys.DEV_ADDRESSES[1]), "wrong checksum"),
        ("0x" + "0" * 40, "zero address"),
    ],
)
def test_faucet_refuses_a_bad_address_and_sends_nothing(chain, deployed, address, error):
    nonce = chain.eth.get_transaction_count(FAUCET)

    with pytest.raises(services.InvalidAddress, match=error):
        services.faucet_drip(address=address)

    assert chain.eth.get_transaction_count(FAUCET) == nonce


@pytest.mark.parametrize(
    ("amounts", "error"),
    [
        ({"ect": Decimal("-1")}, "zero or more"),
        ({"ect": Decimal("0.0000000001")}, "finer than its smallest unit"),
        ({"ect": Decimal(0), "eth": Decimal(0)}, "both amounts are zero"),
    ],
)
def test_faucet_refuses_a_bad_amount_and_sends_nothing(chain, deployed, amounts, error):
    nonce = chain.eth.get_transaction_count(FAUCET)

    with pytest.raises(services.FaucetError, match=error):
        services.faucet_drip(address=Account.create().address, **amounts)

    assert chain.eth.get_transaction_count(FAUCET) == nonce


@pytest.mark.parametrize("chain_id", [1, 11155111])
def test_faucet_exists_only_on_the_dev_chain(chain, deployed, settings, chain_id):
    settings.CHAIN_ID = chain_id
    recipient = Account.create().address
    nonce = chain.eth.get_transaction_count(FAUCET)

    with pytest.raises(
        services.FaucetUnavailable, match="exists only on the development chain"
    ) as refused:
        services.faucet_drip(address=recipient)

    assert f"configured for chain {chain_id}" in str(refused.value)
    assert chain.eth.get_transaction_count(FAUCET) == nonce
    assert chain.eth.get_balance(recipient) == 0


def test_faucet_without_a_deployment_says_how_to_deploy(chain):
    nonce = chain.eth.get_transaction_count(FAUCET)

    with pytest.raises(
        services.ContractsNotDeployed,
        match=r"run `make run` or `\.venv/bin/python manage\.py deploy_contracts`",
    ):
        services.faucet_drip(address=Account.create().address)

    assert chain.eth.get_transaction_count(FAUCET) == nonce


def test_faucet_says_when_the_recorded_contracts_are_gone(chain, deployed):
    client.rpc("anvil_setCode", [deployed.token, "0x"])
    nonce = chain.eth.get_transaction_count(FAUCET)

    with pytest.raises(services.ContractsNotDeployed, match="restarted without its state"):
        services.faucet_drip(address=Account.create().address)

    assert chain.eth.get_transaction_count(FAUCET) == nonce


def test_faucet_refuses_more_than_it_holds_and_sends_nothing(chain, deployed):
    recipient = Account.create().address
    nonce = chain.eth.get_transaction_count(FAUCET)

    with pytest.raises(services.FaucetEmpty, match="The faucet holds 100,000,000 ECT"):
        services.faucet_drip(address=recipient, ect=Decimal(100_000_001))

    assert chain.eth.get_transaction_count(FAUCET) == nonce
    assert chain.eth.get_balance(recipient) == 0


OTHER_CHAIN_ID = 11_155_111


def test_off_the_dev_chain_a_recorded_hub_that_is_gone_is_not_paid_for_twice(monkeypatch):
    """A real chain does not lose a contract: a node behind or on another network says so. The
    deployer must not pay for a second Hub unless the operator asks for it."""
    deployer = Account.create()
    monkeypatch.setenv("CHAIN_DEPLOYER_KEY", deployer.key.hex())
    with (
        running_anvil(chain_id=OTHER_CHAIN_ID) as other,
        override_settings(WEB3_RPC_URL=other.url, CHAIN_ID=OTHER_CHAIN_ID),
    ):
        client.rpc("anvil_setBalance", [deployer.address, hex(10**20)])
        first, created = services.contracts_deploy()
        assert created
        client.rpc("anvil_setCode", [first.hub, "0x"])
        sent = client.web3().eth.get_transaction_count(deployer.address)

        with pytest.raises(ContractsNotDeployed, match=r"not on the node.*--redeploy"):
            services.contracts_deploy()
        assert client.web3().eth.get_transaction_count(deployer.address) == sent

        second, created = services.contracts_deploy(redeploy=True)
        assert created and second.hub != first.hub
