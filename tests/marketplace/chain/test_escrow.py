"""The escrow's rules (marketplace.chain.escrow) on anvil, without the API: what a wallet signs
and sends to deposit and withdraw, and each rule refusing before anything is signed or sent.
The API's own tests (test_escrow_api) go through the views."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from marketplace.chain import escrow
from marketplace.chain.client import TransactionSender
from marketplace.chain.errors import ChainError, ContractsNotDeployed
from marketplace.chain.hub import Hub
from marketplace.chain.models import Deployment
from tests.chain_scaffold import ECT, send_ect

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(chain, hub_deployment) -> Hub:
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    return Hub(address=hub_deployment.hub, w3=chain)


@pytest.fixture
def owner(hub, hub_deployment, dev_accounts):
    """A dev account (ETH for gas) given 100 ECT by dev account 0, which holds the supply."""
    account = dev_accounts[4]
    send_ect(hub_deployment, dev_accounts[0], account.address, 100 * ECT)
    return account


def _send(owner, transaction: dict[str, str]):
    return TransactionSender(owner).send(
        to=transaction["to"], data=transaction["data"], gas=int(transaction["gas"], 16)
    )


def _deposit(owner, amount: int):
    permit = escrow.escrow_deposit_permit(owner=owner.address, amount=amount)
    signature = bytes(owner.sign_typed_data(full_message=permit.typed_data).signature)
    transaction = escrow.escrow_deposit_transaction(
        owner=owner.address, amount=amount, deadline=permit.deadline, signature=signature
    )
    return _send(owner, transaction)


def test_a_signed_permit_gives_the_deposit_then_a_withdrawal_takes_it_back(chain, hub, owner):
    assert _deposit(owner, 30 * ECT)["status"] == 1
    assert hub.account(owner.address).stake == 30 * ECT

    transaction = escrow.escrow_withdraw_transaction(owner=owner.address, amount=12 * ECT)

    assert transaction["from"] == owner.address
    assert _send(owner, transaction)["status"] == 1
    assert hub.account(owner.address).stake == 18 * ECT
    assert hub.token_balance(owner.address) == 82 * ECT


def test_rules_are_chain_errors_and_nothing_is_sent(chain, hub, owner):
    block = chain.eth.block_number

    with pytest.raises(escrow.EscrowRuleBroken, match="holds 100 ECT: deposit at most that"):
        escrow.escrow_deposit_permit(owner=owner.address, amount=101 * ECT)
    with pytest.raises(escrow.EscrowRuleBroken, match="holds nothing free to withdraw"):
        escrow.escrow_withdraw_transaction(owner=owner.address, amount=1)

    assert issubclass(escrow.EscrowRuleBroken, ChainError)
    assert chain.eth.block_number == block


def test_a_permit_signed_by_another_key_is_refused(hub, owner):
    permit = escrow.escrow_deposit_permit(owner=owner.address, amount=5 * ECT)
    forged = bytes(Account.create().sign_typed_data(full_message=permit.typed_data).signature)

    with pytest.raises(escrow.EscrowRuleBroken, match="sign the permit again"):
        escrow.escrow_deposit_transaction(
            owner=owner.address, amount=5 * ECT, deadline=permit.deadline, signature=forged
        )
    assert hub.account(owner.address).stake == 0


def test_without_a_deployment_there_is_no_escrow(chain):
    with pytest.raises(ContractsNotDeployed):
        escrow.escrow_withdraw_transaction(owner=Account.create().address, amount=1)
