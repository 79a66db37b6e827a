"""Writes to the chain with the server's keys: deploying our contracts (once per chain, recorded)
and the development chain's faucet."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils import timezone
from eth_utils import is_address, is_checksum_address, to_checksum_address
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3RPCError

from marketplace import addresses
from marketplace.chain import artifacts, client, keys, selectors
from marketplace.chain.amounts import (
    ECT_DECIMALS,
    ETH_DECIMALS,
    InvalidAmount,
    format_amount,
    from_units,
    to_units,
)
from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.deploy import HubDeployment, deploy_hub, has_code, read_deployment
from marketplace.chain.errors import ChainError, ContractsNotDeployed, short_address
from marketplace.chain.models import Deployment

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import TxReceipt

# What the deployer hands the faucet right after deploying on the dev chain (a tenth of the
# supply): a hundred thousand drips of the default 1,000 ECT.
DEV_FAUCET_ECT = Decimal("100000000")
# What a drip leaves the faucet for its own two transactions' gas, at least.
_FAUCET_GAS_RESERVE_WEI = 10**16
_DEPLOY_HINT = "run `make run` or `.venv/bin/python manage.py deploy_contracts`"


class FaucetError(ChainError):
    """The faucet refused a drip; nothing was sent."""


class FaucetUnavailable(FaucetError):
    """The site is not on the development chain, the only one with a faucet."""


class InvalidAddress(FaucetError):
    """Not an Ethereum address, or one whose EIP-55 checksum is wrong."""


class FaucetEmpty(FaucetError):
    """The faucet holds less than a drip asks."""


@dataclasses.dataclass(frozen=True)
class FaucetDrip:
    """What the faucet sent to `address`, and the hashes of the transactions that did."""

    address: str
    ect: Decimal
    eth: Decimal
    transactions: tuple[str, ...]
    block: int

    def __str__(self) -> str:
        sent = " and ".join(
            f"{format_amount(amount)} {currency}"
            for amount, currency in ((self.ect, "ECT"), (self.eth, "ETH"))
            if amount
        )
        return f"Sent {sent} to {short_address(self.address)}."


def _node_chain_id(w3: Web3) -> int:
    """The node's chain id, which must be settings.CHAIN_ID: keys and records are per chain."""
    try:
        chain_id = client.chain_id(w3=w3)
    except Web3RPCError as error:
        raise ChainError(
            f"The node at {client.shown_url(w3.provider.endpoint_uri)} did not tell its chain "
            f"id: {error.message!r}. Check WEB3_RPC_URL and try again."
        ) from error
    if chain_id != settings.CHAIN_ID:
        raise ChainError(
            f"The node at {client.shown_url(w3.provider.endpoint_uri)} is on chain {chain_id}, "
            f"but this site is configured for chain {settings.CHAIN_ID}: fix WEB3_RPC_URL or "
            "CHAIN_ID."
        )
    return chain_id


def _is_live(w3: Web3, recorded: Deployment) -> bool:
    """Whether the recorded Hub is still on the chain, wired to the recorded token (a dev chain
    restarted without its state has lost it, or holds something else there)."""
    hub = w3.eth.contract(address=recorded.hub, abi=artifacts.abi("Hub"))
    try:
        if not has_code(w3, recorded.hub):
            return False
        return hub.functions.token().call() == recorded.token
    except (ContractLogicError, BadFunctionCallOutput):  # a revert or a bad answer: not ours
        return False
    except Web3RPCError as error:  # the node failed to answer: that says nothing of the Hub
        raise ChainError(
            f"Could not check the recorded Hub {recorded.hub} on chain {recorded.chain_id}: "
            f"the node answered {error.message!r}. Try again."
        ) from error


def _record(chain_id: int, deployment: HubDeployment) -> Deployment:
    """Record `deployment`; a redeployment at the same addresses (a dev chain restarted from
    scratch: same deployer, same nonces) updates the record instead."""
    fields = {
        field.name: getattr(deployment, field.name)
        for field in dataclasses.fields(deployment)
        if field.name != "block"
    }
    recorded, _ = Deployment.objects.update_or_create(
        chain_id=chain_id,
        hub=deployment.hub,
        defaults={**fields, "first_block": deployment.block, "deployed_at": timezone.now()},
    )
    return recorded


def _transfer_ect(
    w3: Web3, *, token: str, sender: LocalAccount, recipient: str, units: int
) -> TxReceipt:
    ect = w3.eth.contract(address=token, abi=artifacts.abi("ECT"))
    return client.TransactionSender(sender, w3=w3, abis=[artifacts.abi("ECT")]).send(
        to=token, data=ect.encode_abi("transfer", args=[recipient, units])
    )


def contracts_deploy(
    *, w3: Web3 | None = None, redeploy: bool = False
) -> tuple[HubDeployment, bool]:
    """The deployment of our contracts on the node's chain, and whether it was made now.

    Idempotent. With settings.HUB_ADDRESS set, that Hub is used (never deployed over). Else the
    deployment recorded last for the chain is reused when its Hub is still there with the
    recorded token; otherwise everything is deployed by the `deployer` server key and recorded,
    and on the dev chain the deployer funds the faucet with DEV_FAUCET_ECT. Off the dev chain, a
    recorded Hub that is gone is an error unless `redeploy` (a real chain does not lose one).

    Not one database transaction: the chain cannot roll back with it. The record is written last,
    after every transaction succeeded, so that a failure leaves nothing recorded to reuse.
    Raises ChainUnavailable when the node does not answer, ChainError when it is on another
    chain than settings.CHAIN_ID or refuses a transaction, KeyRefused without a deployer key.
    """
    w3 = w3 or client.web3()
    chain_id = _node_chain_id(w3)
    if settings.HUB_ADDRESS:
        if not is_address(settings.HUB_ADDRESS):
            raise ContractsNotDeployed(
                f"HUB_ADDRESS is {settings.HUB_ADDRESS!r}, not an address: set it to our Hub's "
                "address (0x and 40 hex digits), or unset it to deploy new contracts."
            )
        if not has_code(w3, settings.HUB_ADDRESS):
            raise ContractsNotDeployed(
                f"HUB_ADDRESS is {settings.HUB_ADDRESS}, but chain {chain_id} has no contract "
                "there: set it to our Hub's address, or unset it to deploy new contracts."
            )
        recorded = Deployment.objects.filter(
            chain_id=chain_id, hub__iexact=settings.HUB_ADDRESS
        ).first()
        if recorded is not None:
            return recorded.as_hub_deployment(), False
        return read_deployment(w3, settings.HUB_ADDRESS), False

    recorded = Deployment.objects.filter(chain_id=chain_id).first()
    if recorded is not None:
        if _is_live(w3, recorded):
            return recorded.as_hub_deployment(), False
        if chain_id != DEV_CHAIN_ID and not redeploy:
            # A real chain does not lose contracts: a node still syncing, or one on another
            # network with the same chain id, would make us pay for a second Hub.
            raise ContractsNotDeployed(
                f"The Hub recorded for chain {chain_id} ({recorded.hub}) is not on the node at "
                f"{client.shown_url(w3.provider.endpoint_uri)}. Check that the node is synced "
                "and on the right network. To deploy new contracts anyway, run "
                "`manage.py deploy_contracts --redeploy`."
            )

    deployer = keys.server_account("deployer")
    deployment = deploy_hub(w3, deployer)
    if chain_id == DEV_CHAIN_ID:
        faucet = keys.server_account("faucet")
        if faucet.address != deployer.address:
            _transfer_ect(
                w3,
                token=deployment.token,
                sender=deployer,
                recipient=faucet.address,
                units=to_units(DEV_FAUCET_ECT, decimals=ECT_DECIMALS, currency="ECT"),
            )
    _record(chain_id, deployment)
    return deployment, True


def _recipient(address: str) -> str:
    """`address` checksummed, or InvalidAddress saying what is wrong with it."""
    if not isinstance(address, str) or not addresses.is_address(address.strip()):
        raise InvalidAddress(
            f"{address!r} is not an Ethereum address: expected 0x followed by 40 hexadecimal "
            "digits."
        )
    address = address.strip()
    digits = address[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(address):
        raise InvalidAddress(
            f"{address} has a wrong checksum (the mix of upper- and lower-case letters, "
            "EIP-55): there is a typo in it. Copy it again from your wallet."
        )
    if int(digits, 16) == 0:
        raise InvalidAddress("The zero address belongs to nobody: anything sent there is lost.")
    return to_checksum_address(address)


def faucet_drip(
    *,
    address: str,
    ect: Decimal = Decimal("1000"),
    eth: Decimal = Decimal("1"),
    w3: Web3 | None = None,
) -> FaucetDrip:
    """Send `ect` ECT and `eth` ETH (for gas: a fresh wallet has none) from the faucet account
    to `address`, and wait until both are mined.

    Development chain only. Everything is checked before anything is sent: the chain
    (FaucetUnavailable), the address (InvalidAddress), the amounts (FaucetError), the
    deployment (ContractsNotDeployed) and the faucet's balances (FaucetEmpty). ECT goes first:
    if the ETH transfer then fails (a contract recipient that refuses ETH), the ECT stays sent.
    """
    if settings.CHAIN_ID != DEV_CHAIN_ID:
        raise FaucetUnavailable(
            f"The faucet exists only on the development chain (chain id {DEV_CHAIN_ID}); this "
            f"site is configured for chain {settings.CHAIN_ID}, where ECT must be bought."
        )
    recipient = _recipient(address)
    try:
        ect_units = to_units(ect, decimals=ECT_DECIMALS, currency="ECT")
        wei = to_units(eth, decimals=ETH_DECIMALS, currency="ETH")
    except InvalidAmount as error:
        raise FaucetError(str(error)) from error
    if not ect_units and not wei:
        raise FaucetError("Ask the faucet for some ECT or ETH: both amounts are zero.")

    w3 = w3 or client.web3()
    if client.chain_id(w3=w3) != DEV_CHAIN_ID:
        raise FaucetUnavailable(
            f"The faucet exists only on the development chain (chain id {DEV_CHAIN_ID}); the "
            f"node at {client.shown_url(w3.provider.endpoint_uri)} is another chain."
        )
    deployment = selectors.current_deployment()
    if deployment is None:
        raise ContractsNotDeployed(
            f"The contracts are not deployed on chain {DEV_CHAIN_ID}: {_DEPLOY_HINT}."
        )
    if not has_code(w3, deployment.token):
        raise ContractsNotDeployed(
            f"The ECT contract recorded at {deployment.token} is not on the chain (was it "
            f"restarted without its state?): {_DEPLOY_HINT}."
        )

    faucet = keys.server_account("faucet")
    token = w3.eth.contract(address=deployment.token, abi=artifacts.abi("ECT"))
    held = token.functions.balanceOf(faucet.address).call()
    if held < ect_units:
        raise FaucetEmpty(
            f"The faucet holds {format_amount(from_units(held, decimals=ECT_DECIMALS))} ECT, less "
            f"than the {format_amount(ect)} asked: ask for less, or send it ECT from the "
            "deployer account."
        )
    if w3.eth.get_balance(faucet.address) < wei + _FAUCET_GAS_RESERVE_WEI:
        raise FaucetEmpty(f"The faucet has too little ETH to send {format_amount(eth)} ETH.")

    receipts = []
    if ect_units:
        receipts.append(
            _transfer_ect(
                w3, token=deployment.token, sender=faucet, recipient=recipient, units=ect_units
            )
        )
    if wei:
        receipts.append(client.TransactionSender(faucet, w3=w3).send(to=recipient, value=wei))
    return FaucetDrip(
        address=recipient,
        ect=from_units(ect_units, decimals=ECT_DECIMALS),
        eth=from_units(wei, decimals=ETH_DECIMALS),
        transactions=tuple(receipt["transactionHash"].to_0x_hex() for receipt in receipts),
        block=receipts[-1]["blockNumber"],
    )
