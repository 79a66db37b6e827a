"""Small reads and writes on our deployed contracts for the chain app's tests."""

from __future__ import annotations

import socket

from eth_account.signers.local import LocalAccount
from web3 import Web3

from marketplace.chain import artifacts
from marketplace.chain.client import TransactionSender
from marketplace.chain.deploy import HubDeployment

ECT = 10**9  # token units per ECT
ETH = 10**18  # wei per ETH


def ect_balance(w3: Web3, deployment: HubDeployment, address: str) -> int:
    token = w3.eth.contract(address=deployment.token, abi=artifacts.abi("ECT"))
    return token.functions.balanceOf(address).call()


def send_ect(deployment: HubDeployment, sender: LocalAccount, recipient: str, units: int) -> None:
    token = Web3().eth.contract(address=deployment.token, abi=artifacts.abi("ECT"))
    TransactionSender(sender).send(
        to=deployment.token, data=token.encode_abi("transfer", args=[recipient, units])
    )


def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"
