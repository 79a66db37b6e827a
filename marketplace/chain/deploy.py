"""Deploy the on-chain part of SuperEdge: ECT, the three registries, the Hub and its modules;
and read a deployment back from the Hub's address.

Usage::

    deployment = deploy_hub(w3, deployer)   # deployer: eth_account LocalAccount
    deployment.hub, deployment.token, deployment.block, ...
    read_deployment(w3, deployment.hub) == deployment

Transactions are signed locally by `deployer` (no unlocked node account is needed) and sent by
`client.TransactionSender`. The deployer receives the whole ECT supply and owns the Hub (it
creates the default categories). Recording the addresses and not deploying twice is the
caller's business (`services.contracts_deploy`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from web3.exceptions import Web3Exception, Web3RPCError

from marketplace.chain import artifacts
from marketplace.chain.client import TransactionSender
from marketplace.chain.errors import ChainError, ChainRevert
from marketplace.chain.hub import TRANSFER_TOPIC

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3
    from web3.types import TxReceipt

# (name, description, workClockTimeRef in seconds); ids 0..4 in this order.
DEFAULT_CATEGORIES: tuple[tuple[str, str, int], ...] = (
    ("XS", "Extra small task: reference time 5 minutes", 300),
    ("S", "Small task: reference time 20 minutes", 1200),
    ("M", "Medium task: reference time 1 hour", 3600),
    ("L", "Large task: reference time 3 hours", 10800),
    ("XL", "Extra large task: reference time 10 hours", 36000),
)

# The contracts whose custom errors a deployment transaction may revert with.
_DEPLOYED = (
    "ECT",
    "App",
    "Dataset",
    "Workerpool",
    "AppRegistry",
    "DatasetRegistry",
    "WorkerpoolRegistry",
    "HubAccounts",
    "HubOrders",
    "Hub",
)
_REGISTRIES = {
    "app": "AppRegistry",
    "dataset": "DatasetRegistry",
    "workerpool": "WorkerpoolRegistry",
}
_PUSH32 = 0x7F


class DeploymentError(ChainError):
    """A deployment transaction failed (reverted or produced no contract), or an address
    does not hold a deployment of ours."""


@dataclass(frozen=True)
class HubDeployment:
    """Checksummed addresses of a deployment, and the block of its first transaction.

    Clients talk to `hub` with `artifacts.abi("Hub")`; `hub_orders` and `hub_accounts` are the
    Hub's modules (never called directly). `block` is where an indexer starts reading.
    """

    token: str
    hub: str
    hub_orders: str
    hub_accounts: str
    app_registry: str
    dataset_registry: str
    workerpool_registry: str
    app_implementation: str
    dataset_implementation: str
    workerpool_implementation: str
    block: int


class _Deployer:
    """Sends the deployer's transactions one after the other through a TransactionSender."""

    def __init__(self, w3: Web3, account: LocalAccount) -> None:
        self.w3 = w3
        self.sender = TransactionSender(
            account, w3=w3, abis=[artifacts.abi(name) for name in _DEPLOYED]
        )

    def send(self, *, what: str, to: str | None, data: str) -> TxReceipt:
        try:
            return self.sender.send(to=to, data=data)
        except ChainRevert as error:
            raise DeploymentError(f"{what} reverted: {error}") from error

    def deploy(self, name: str, *args: Any) -> tuple[str, int]:
        factory = self.w3.eth.contract(abi=artifacts.abi(name), bytecode=artifacts.bytecode(name))
        data = factory.constructor(*args).data_in_transaction
        receipt = self.send(what=f"deploying {name}", to=None, data=data)
        address = receipt["contractAddress"]
        if not address:
            raise DeploymentError(f"deploying {name} created no contract")
        return address, receipt["blockNumber"]


def deploy_hub(w3: Web3, deployer: LocalAccount) -> HubDeployment:
    """Deploy and wire every contract, then create the default categories (XS..XL).

    Precondition: `deployer` holds enough native currency for about 20 transactions.
    Raises DeploymentError when a transaction reverts, ChainError when the node refuses one,
    ChainUnavailable when it does not answer.
    """
    deployer_ = _Deployer(w3, deployer)
    token, first_block = deployer_.deploy("ECT")
    app_implementation, _ = deployer_.deploy("App")
    dataset_implementation, _ = deployer_.deploy("Dataset")
    workerpool_implementation, _ = deployer_.deploy("Workerpool")
    app_registry, _ = deployer_.deploy("AppRegistry", app_implementation)
    dataset_registry, _ = deployer_.deploy("DatasetRegistry", dataset_implementation)
    workerpool_registry, _ = deployer_.deploy("WorkerpoolRegistry", workerpool_implementation)
    hub_accounts, _ = deployer_.deploy("HubAccounts")
    hub_orders, _ = deployer_.deploy("HubOrders", hub_accounts)
    hub, _ = deployer_.deploy(
        "Hub", token, app_registry, dataset_registry, workerpool_registry, hub_orders
    )

    hub_contract = w3.eth.contract(address=hub, abi=artifacts.abi("Hub"))
    for name, description, work_clock_time_ref in DEFAULT_CATEGORIES:
        deployer_.send(
            what=f"creating category {name}",
            to=hub,
            data=hub_contract.encode_abi(
                "createCategory", args=[name, description, work_clock_time_ref]
            ),
        )

    return HubDeployment(
        token=token,
        hub=hub,
        hub_orders=hub_orders,
        hub_accounts=hub_accounts,
        app_registry=app_registry,
        dataset_registry=dataset_registry,
        workerpool_registry=workerpool_registry,
        app_implementation=app_implementation,
        dataset_implementation=dataset_implementation,
        workerpool_implementation=workerpool_implementation,
        block=first_block,
    )


def has_code(w3: Web3, address: str) -> bool:
    """Whether a contract lives at `address` (on the node's latest block); ChainError when the
    node fails to say."""
    try:
        return len(w3.eth.get_code(to_checksum_address(address))) > 0
    except Web3RPCError as error:
        raise ChainError(
            f"The node did not tell whether a contract lives at {address}: {error.message!r}. "
            "Try again."
        ) from error


def _module_address(w3: Web3, address: str, what: str) -> str:
    """The one module address compiled into the code at `address` as an immutable.

    The Hub and HubOrders each hold exactly one immutable address (the module they delegate
    unknown selectors to), which solc inlines as PUSH32 of a left-padded address; constants
    never take that shape, and the address found must hold code."""
    code = bytes(w3.eth.get_code(address))
    found = set()
    position = 0
    while position < len(code):
        opcode = code[position]
        if opcode == _PUSH32:
            word = code[position + 1 : position + 33]
            if len(word) == 32 and not any(word[:12]) and any(word[12:]):
                found.add(to_checksum_address(word[12:]))
        if 0x60 <= opcode <= _PUSH32:  # PUSH1..PUSH32: skip the pushed bytes
            position += opcode - 0x5F
        position += 1
    modules = [candidate for candidate in sorted(found) if has_code(w3, candidate)]
    if len(modules) != 1:
        raise DeploymentError(f"The code at {address} is not our {what}: its module is unknown.")
    return modules[0]


def _first_block(w3: Web3, token: str) -> int:
    """The block of the ECT's mint (a Transfer from the zero address), the deployment's first.

    0 when the node will not search the whole chain's logs (public nodes cap the range): an
    indexer starting at 0 is slow, never wrong."""
    try:
        logs = w3.eth.get_logs(
            {
                "address": to_checksum_address(token),
                "fromBlock": 0,
                "toBlock": "latest",
                "topics": [TRANSFER_TOPIC, b"\x00" * 32],
            }
        )
    except Web3Exception:  # the node refused the search: fall back to the safe answer
        return 0
    return min((log["blockNumber"] for log in logs), default=0)


def read_deployment(w3: Web3, hub: str) -> HubDeployment:
    """The deployment whose Hub is at `hub`, read from the chain: the addresses the Hub and its
    registries expose, the modules from the Hub's code, the first block from ECT's mint.

    Raises DeploymentError when no contract of ours is there, ChainUnavailable when the node
    does not answer."""
    hub = to_checksum_address(hub)
    if not has_code(w3, hub):
        raise DeploymentError(f"No contract at {hub} on chain {w3.eth.chain_id}.")
    hub_contract = w3.eth.contract(address=hub, abi=artifacts.abi("Hub"))
    try:
        token = hub_contract.functions.token().call()
        registries = {
            kind: getattr(hub_contract.functions, f"{kind}registry")().call()
            for kind in _REGISTRIES
        }
        implementations = {
            kind: w3.eth.contract(address=registries[kind], abi=artifacts.abi(contract))
            .functions.implementation()
            .call()
            for kind, contract in _REGISTRIES.items()
        }
    except Web3Exception as error:  # a revert or undecodable answer: not a Hub of ours
        raise DeploymentError(f"The contract at {hub} is not a SuperEdge Hub: {error}") from error
    hub_orders = _module_address(w3, hub, "Hub")
    return HubDeployment(
        token=token,
        hub=hub,
        hub_orders=hub_orders,
        hub_accounts=_module_address(w3, hub_orders, "HubOrders module"),
        app_registry=registries["app"],
        dataset_registry=registries["dataset"],
        workerpool_registry=registries["workerpool"],
        app_implementation=implementations["app"],
        dataset_implementation=implementations["dataset"],
        workerpool_implementation=implementations["workerpool"],
        block=_first_block(w3, token),
    )
