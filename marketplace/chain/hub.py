"""The Python face of the Hub: its contracts, the calls that change it and its views. The ids
and commitments it computes on chain, and its codes, are in `marketplace.chain.ids`; the site's
own Hub is `marketplace.chain.selectors.current_hub()`.

    hub = Hub(w3=w3, address=hub_address)
    hub.approve_and_deposit(sender=requester, amount=10**9)
    dealid = hub.match_orders(sender=requester, app_order=..., app_sign=..., ...)
    hub.initialize(sender=scheduler, dealid=dealid, idx=0)
    taskid = task_id(dealid, 0)

Writes take a `client.TransactionSender` (a key the server or a test holds) and return the
receipt, or what the transaction created (a dealid, an asset address). A write that the chain
refuses raises `ChainRevert` whose `.name` and `.arguments` are the custom error's (IHub.sol),
decoded with `hub_errors.hub_abis()` (every contract of ours, so an ECT error bubbling up from
a deposit decodes too) and whose message is for people. Writes a browser wallet sends have a
`*_call` builder returning a `ContractCall`, whose `unsigned_transaction` is what
`eth_sendTransaction` takes. A view the chain cannot answer raises a `ChainError` as well
(`client.view`): no web3 exception comes out of a Hub.

Amounts are ECT base units (9 decimals). bytes32 values (dealid, taskid, digests) are `bytes`;
0x hex strings are accepted wherever they are taken.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar

from eth_abi import decode
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from marketplace.chain import artifacts, client
from marketplace.chain.client import TransactionSender
from marketplace.chain.hub_errors import hub_abis
from marketplace.chain.ids import (
    ContributionStatus,
    OrderKind,
    TaskStatus,
    result_hash,
    result_seal,
    to_bytes32,
)
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    ZERO_BYTES32,
    AppOrder,
    DatasetOrder,
    Order,
    OrderOperation,
    RequestOrder,
    WorkerpoolOrder,
    operation_tuple,
    order_tuple,
)

AbiList = Sequence[dict[str, Any]]

# All-zero dataset order: what matchOrders takes for a deal without a dataset.
NO_DATASET_ORDER = DatasetOrder(
    dataset=ZERO_ADDRESS, datasetprice=0, volume=0, tag=ZERO_BYTES32, salt=ZERO_BYTES32
)

_ORDERS_MATCHED_TOPIC = keccak(
    text="OrdersMatched(bytes32,bytes32,bytes32,bytes32,bytes32,uint256)"
)
# ERC-20 and ERC-721 Transfer share it.
TRANSFER_TOPIC = keccak(text="Transfer(address,address,uint256)")
_PERMIT_TYPE = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
DEFAULT_PERMIT_SECONDS = 3600
# Most contributions a task takes (Hub.sol's MAX_CONTRIBUTORS): the next one is refused with
# TooManyContributors, so a scheduler hands out at most this many replicates of a task.
MAX_CONTRIBUTORS = 32


# ---------------------------------------------------------------------------- contracts


def hub_contract(w3: Web3, address: str) -> Contract:
    """The Hub at `address` with its full ABI (the Hub and its modules)."""
    return w3.eth.contract(address=to_checksum_address(address), abi=artifacts.abi("Hub"))


def token_contract(w3: Web3, address: str) -> Contract:
    """The ECT token at `address`."""
    return w3.eth.contract(address=to_checksum_address(address), abi=artifacts.abi("ECT"))


def registry_contract(w3: Web3, address: str, kind: OrderKind) -> Contract:
    """The app, dataset or workerpool registry at `address`."""
    name = {
        OrderKind.APP: "AppRegistry",
        OrderKind.DATASET: "DatasetRegistry",
        OrderKind.WORKERPOOL: "WorkerpoolRegistry",
    }[kind]
    return w3.eth.contract(address=to_checksum_address(address), abi=artifacts.abi(name))


def workerpool_contract(w3: Web3, address: str) -> Contract:
    """A registered workerpool (its policy and description)."""
    return w3.eth.contract(address=to_checksum_address(address), abi=artifacts.abi("Workerpool"))


@dataclasses.dataclass(frozen=True, kw_only=True)
class AppRegistration:
    """An app to register: `multiaddr` locates the .wasm file, `checksum` is its sha256."""

    KIND: ClassVar[OrderKind] = OrderKind.APP

    owner: str
    name: str
    multiaddr: bytes
    checksum: bytes
    app_type: str = "WASM"
    mrenclave: bytes = b""

    def arguments(self) -> tuple[Any, ...]:
        """createApp's / predictApp's arguments."""
        return (
            self.owner,
            self.name,
            self.app_type,
            self.multiaddr,
            self.checksum,
            self.mrenclave,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetRegistration:
    """A dataset to register: `multiaddr` locates the encrypted file, `checksum` is its sha256."""

    KIND: ClassVar[OrderKind] = OrderKind.DATASET

    owner: str
    name: str
    multiaddr: bytes
    checksum: bytes

    def arguments(self) -> tuple[Any, ...]:
        """createDataset's / predictDataset's arguments."""
        return (self.owner, self.name, self.multiaddr, self.checksum)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkerpoolRegistration:
    """A workerpool to register; `owner` is its scheduler. Default policy: workers stake 30 %
    of the workerpool price, the scheduler keeps 1 % of the workers' reward."""

    KIND: ClassVar[OrderKind] = OrderKind.WORKERPOOL

    owner: str
    description: str

    def arguments(self) -> tuple[Any, ...]:
        """createWorkerpool's / predictWorkerpool's arguments."""
        return (self.owner, self.description)


AssetRegistration = AppRegistration | DatasetRegistration | WorkerpoolRegistration
_REGISTRY_FUNCTIONS = {
    OrderKind.APP: ("createApp", "predictApp"),
    OrderKind.DATASET: ("createDataset", "predictDataset"),
    OrderKind.WORKERPOOL: ("createWorkerpool", "predictWorkerpool"),
}


@dataclasses.dataclass(frozen=True)
class ContractCall:
    """A transaction not sent yet: `send` it with a server-held key, or hand its
    `unsigned_transaction` to a browser wallet. `abis` decode its reverts."""

    to: str
    data: bytes
    abis: tuple[AbiList, ...]

    def send(self, sender: TransactionSender) -> TxReceipt:
        """Send and wait for the receipt; ChainRevert (nothing sent) when it would revert."""
        return sender.send(to=self.to, data=self.data, abis=self.abis)

    def unsigned_transaction(self, *, sender: str, w3: Web3 | None = None) -> dict[str, str]:
        """What `eth_sendTransaction` takes from `sender`'s wallet (gas estimated now, so a
        call that would revert raises ChainRevert before the user is asked anything)."""
        return client.build_unsigned_transaction(
            sender=sender, to=self.to, data=self.data, abis=self.abis, w3=w3
        )


def _view(function: ContractFunction) -> Any:
    """The view's answer; its failures are ChainErrors (`client.view`), reverts decoded."""
    return client.view(function, abis=hub_abis())


def _call(contract: Contract, function: str, *args: Any) -> ContractCall:
    data = bytes.fromhex(contract.encode_abi(function, args=list(args))[2:])
    return ContractCall(to=contract.address, data=data, abis=hub_abis())


def registered_asset(receipt: TxReceipt, *, registry: str) -> str:
    """The asset a `create*` transaction registered: the token id of the NFT `registry` minted."""
    registry = to_checksum_address(registry)
    for log in receipt["logs"]:
        topics = log["topics"]
        if (
            log["address"] == registry
            and len(topics) == 4
            and bytes(topics[0]) == TRANSFER_TOPIC
            and int.from_bytes(topics[1], "big") == 0
        ):
            return to_checksum_address(bytes(topics[3])[12:])
    raise ValueError(f"No asset was registered by {registry} in this transaction.")


# ---------------------------------------------------------------------------- views


@dataclasses.dataclass(frozen=True)
class Account:
    """Escrow account: `stake` is free, `locked` is held for deals and contributions."""

    stake: int
    locked: int


@dataclasses.dataclass(frozen=True)
class Deal:
    """The stored part of a deal (`viewDeal`, whose struct has these fields in this order);
    the rest is in its DealCreated event. `time_ref` is the category's workClockTimeRef."""

    workerpool: str
    start_time: int
    time_ref: int
    scheduler_reward_ratio: int
    bot_first: int
    volume: int
    trust: int
    workerpool_owner: str
    worker_stake: int
    payer: str
    workerpool_price: int
    app_owner: str
    app_price: int
    dataset_owner: str
    dataset_price: int

    @property
    def task_price(self) -> int:
        """What the payer pays per task (locked at match time, paid at finalize)."""
        return self.app_price + self.dataset_price + self.workerpool_price

    @property
    def contribution_deadline(self) -> int:
        return self.start_time + 7 * self.time_ref

    @property
    def final_deadline(self) -> int:
        return self.start_time + 10 * self.time_ref


@dataclasses.dataclass(frozen=True)
class Task:
    """A task (`viewTask`); deadlines are unix seconds, 0 while unset. `consensus_value` is the
    agreed result hash, `result_digest` the revealed digest (zero before the first reveal)."""

    status: TaskStatus
    dealid: bytes
    contribution_deadline: int
    reveal_deadline: int
    final_deadline: int
    consensus_value: bytes
    result_digest: bytes
    reveal_counter: int
    winner_counter: int
    total_weight: int
    contributors: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Contribution:
    """A contribution (`viewContribution`); `weight` is floor(log2 w) as in PoCo."""

    status: ContributionStatus
    result_hash: bytes
    result_seal: bytes
    weight: int


@dataclasses.dataclass(frozen=True)
class Bond:
    """What a worker keeps locked for a pool (`viewBond`): `unbond_at` is when it may take it
    back (unix seconds; 0 while no notice was given)."""

    amount: int
    unbond_at: int


@dataclasses.dataclass(frozen=True)
class OrdersMatched:
    """One OrdersMatched event: the deal and the digests of the orders it consumed `volume` of
    (dataset_hash is zero without a dataset)."""

    dealid: bytes
    app_hash: bytes
    dataset_hash: bytes
    workerpool_hash: bytes
    request_hash: bytes
    volume: int


# ---------------------------------------------------------------------------- the Hub


class Hub:
    """The Hub at `address`, through `w3` (default: `client.web3()`, the configured node).

    Token and registry addresses are read from the Hub once, when first needed."""

    def __init__(self, *, address: str, w3: Web3 | None = None) -> None:
        self.w3 = w3 or client.web3()
        self.address = to_checksum_address(address)
        self.contract = hub_contract(self.w3, self.address)

    # -------------------------------------------------------------- related contracts

    @cached_property
    def token(self) -> Contract:
        return token_contract(self.w3, _view(self.contract.functions.token()))

    @cached_property
    def app_registry(self) -> Contract:
        address = _view(self.contract.functions.appregistry())
        return registry_contract(self.w3, address, OrderKind.APP)

    @cached_property
    def dataset_registry(self) -> Contract:
        address = _view(self.contract.functions.datasetregistry())
        return registry_contract(self.w3, address, OrderKind.DATASET)

    @cached_property
    def workerpool_registry(self) -> Contract:
        address = _view(self.contract.functions.workerpoolregistry())
        return registry_contract(self.w3, address, OrderKind.WORKERPOOL)

    def _hub_call(self, function: str, *args: Any) -> ContractCall:
        return _call(self.contract, function, *args)

    # -------------------------------------------------------------- assets

    def registry(self, kind: OrderKind) -> Contract:
        """The registry of apps, datasets or workerpools."""
        return {
            OrderKind.APP: self.app_registry,
            OrderKind.DATASET: self.dataset_registry,
            OrderKind.WORKERPOOL: self.workerpool_registry,
        }[kind]

    def register_call(self, asset: AssetRegistration) -> ContractCall:
        """create{App,Dataset,Workerpool}: anyone may register an asset for its owner, once
        per owner and arguments (AlreadyRegistered)."""
        create, _ = _REGISTRY_FUNCTIONS[asset.KIND]
        return _call(self.registry(asset.KIND), create, *asset.arguments())

    def register(self, *, sender: TransactionSender, asset: AssetRegistration) -> str:
        """Register `asset`; its address (= `predict_address(asset)`)."""
        receipt = self.register_call(asset).send(sender)
        return registered_asset(receipt, registry=self.registry(asset.KIND).address)

    def predict_address(self, asset: AssetRegistration) -> str:
        """The address registering `asset` gives (CREATE2 from its arguments and owner)."""
        _, predict = _REGISTRY_FUNCTIONS[asset.KIND]
        return _view(self.registry(asset.KIND).functions[predict](*asset.arguments()))

    def asset_owner(self, kind: OrderKind, address: str) -> str | None:
        """The owner of the app, dataset or workerpool at `address` (None: not registered)."""
        owner = _view(self.registry(kind).functions.assetOwner(to_checksum_address(address)))
        return None if int(owner, 16) == 0 else to_checksum_address(owner)

    def is_registered(self, kind: OrderKind, address: str) -> bool:
        """Whether the app, dataset or workerpool at `address` is in its registry."""
        return _view(self.registry(kind).functions.isRegistered(to_checksum_address(address)))

    def worker_stake_ratio(self, workerpool: str) -> int:
        """The percent of its price a workerpool order's deals lock from the pool owner."""
        ratio, _ = _view(workerpool_contract(self.w3, workerpool).functions.policy())
        return ratio

    def change_policy_call(
        self, *, workerpool: str, worker_stake_ratio: int, scheduler_reward_ratio: int
    ) -> ContractCall:
        """Workerpool.changePolicy, sent by the pool owner; applies to later deals. Ratios are
        percents; scheduler_reward_ratio at most 100."""
        pool = workerpool_contract(self.w3, workerpool)
        return _call(pool, "changePolicy", worker_stake_ratio, scheduler_reward_ratio)

    def change_policy(
        self,
        *,
        sender: TransactionSender,
        workerpool: str,
        worker_stake_ratio: int,
        scheduler_reward_ratio: int,
    ) -> TxReceipt:
        """Change a pool's policy (`sender` must own it: NotAssetOwner otherwise)."""
        return self.change_policy_call(
            workerpool=workerpool,
            worker_stake_ratio=worker_stake_ratio,
            scheduler_reward_ratio=scheduler_reward_ratio,
        ).send(sender)

    # -------------------------------------------------------------- escrow

    def approve_call(self, *, amount: int) -> ContractCall:
        """ECT approve(Hub, amount), sent by the depositor before `deposit_call`."""
        return _call(self.token, "approve", self.address, amount)

    def deposit_call(self, *, amount: int) -> ContractCall:
        """Hub deposit(amount): the sender must have approved at least `amount` for the Hub."""
        return self._hub_call("deposit", amount)

    def deposit_for_call(self, *, amount: int, target: str) -> ContractCall:
        """Hub depositFor(amount, target): the sender's approved ECT to `target`'s stake."""
        return self._hub_call("depositFor", amount, to_checksum_address(target))

    def approve_and_deposit(self, *, sender: TransactionSender, amount: int) -> TxReceipt:
        """Approve then deposit `amount` of `sender`'s ECT to its Hub stake (two transactions;
        `deposit_with_permit` does it in one). The deposit's receipt."""
        self.approve_call(amount=amount).send(sender)
        return self.deposit_call(amount=amount).send(sender)

    def permit_typed_data(self, *, owner: str, amount: int, deadline: int) -> dict[str, Any]:
        """The EIP-2612 Permit(owner, spender=Hub, value=amount, nonce, deadline) for
        `eth_signTypedData_v4` (uint256 as decimal strings). Its signature goes to
        `deposit_with_permit_call`."""
        _, name, version, chain_id, verifying_contract, _, _ = _view(
            self.token.functions.eip712Domain()
        )
        owner = to_checksum_address(owner)
        nonce = _view(self.token.functions.nonces(owner))
        return {
            "types": {"EIP712Domain": _DOMAIN_TYPE, "Permit": _PERMIT_TYPE},
            "primaryType": "Permit",
            "domain": {
                "name": name,
                "version": version,
                "chainId": str(chain_id),
                "verifyingContract": verifying_contract,
            },
            "message": {
                "owner": owner,
                "spender": self.address,
                "value": str(amount),
                "nonce": str(nonce),
                "deadline": str(deadline),
            },
        }

    def deposit_with_permit_call(
        self, *, amount: int, deadline: int, signature: bytes
    ) -> ContractCall:
        """Hub depositWithPermit: `signature` (65 bytes) is the sender's signature of
        `permit_typed_data(owner=sender, amount=amount, deadline=deadline)`."""
        if len(signature) != 65:
            raise ValueError(f"A permit signature has 65 bytes, not {len(signature)}.")
        v = signature[64] if signature[64] >= 27 else signature[64] + 27
        return self._hub_call(
            "depositWithPermit", amount, deadline, v, signature[:32], signature[32:64]
        )

    def deposit_with_permit(
        self, *, sender: TransactionSender, amount: int, deadline: int | None = None
    ) -> TxReceipt:
        """Deposit `amount` in one transaction, signing the permit with `sender`'s key.
        `deadline` defaults to an hour after the latest block."""
        if deadline is None:
            latest = self.w3.eth.get_block("latest")["timestamp"]
            deadline = max(latest, int(time.time())) + DEFAULT_PERMIT_SECONDS
        typed = self.permit_typed_data(owner=sender.address, amount=amount, deadline=deadline)
        signature = bytes(sender.account.sign_typed_data(full_message=typed).signature)
        call = self.deposit_with_permit_call(amount=amount, deadline=deadline, signature=signature)
        return call.send(sender)

    def withdraw_call(self, *, amount: int) -> ContractCall:
        """Hub withdraw(amount): at most the sender's free stake (InsufficientStake)."""
        return self._hub_call("withdraw", amount)

    def withdraw(self, *, sender: TransactionSender, amount: int) -> TxReceipt:
        """Move `amount` from `sender`'s free stake back to its wallet."""
        return self.withdraw_call(amount=amount).send(sender)

    # -------------------------------------------------------------- worker bonds

    def bond_call(self, *, workerpool: str, amount: int) -> ContractCall:
        """Hub bond(workerpool, amount): the sender locks `amount` of its free stake as its
        bond to `workerpool` (adds to it; withdraws a notice given)."""
        return self._hub_call("bond", to_checksum_address(workerpool), amount)

    def request_unbond_call(self, *, workerpool: str) -> ContractCall:
        """Hub requestUnbond(workerpool): the sender's notice; `unbond` after `bond_notice()`."""
        return self._hub_call("requestUnbond", to_checksum_address(workerpool))

    def unbond_call(self, *, workerpool: str) -> ContractCall:
        """Hub unbond(workerpool): the sender's whole bond back to its stake, after notice."""
        return self._hub_call("unbond", to_checksum_address(workerpool))

    def release_bond_call(self, *, workerpool: str, worker: str) -> ContractCall:
        """Hub releaseBond: the pool's owner gives `worker`'s whole bond back at once."""
        return self._hub_call(
            "releaseBond", to_checksum_address(workerpool), to_checksum_address(worker)
        )

    def seize_bond_call(self, *, workerpool: str, worker: str, amount: int) -> ContractCall:
        """Hub seizeBond: the pool's owner seizes `amount` of `worker`'s bond into the kitty."""
        return self._hub_call(
            "seizeBond", to_checksum_address(workerpool), to_checksum_address(worker), amount
        )

    def bond(self, *, workerpool: str, worker: str) -> Bond:
        """The bond `worker` keeps for `workerpool`."""
        amount, unbond_at = _view(
            self.contract.functions.viewBond(
                to_checksum_address(workerpool), to_checksum_address(worker)
            )
        )
        return Bond(amount=amount, unbond_at=unbond_at)

    def bond_notice(self) -> int:
        """Seconds between requestUnbond and unbond."""
        return _view(self.contract.functions.bondNotice())

    # -------------------------------------------------------------- orders

    def match_orders_call(
        self,
        *,
        app_order: AppOrder,
        app_sign: bytes,
        dataset_order: DatasetOrder | None,
        dataset_sign: bytes = b"",
        workerpool_order: WorkerpoolOrder,
        workerpool_sign: bytes,
        request_order: RequestOrder,
        request_sign: bytes,
        sponsor: bool = False,
    ) -> ContractCall:
        """matchOrders (the requester pays) or, with `sponsor`, sponsorMatchOrders (the sender
        pays). `dataset_order` None: a deal without dataset. An empty sign means presigned.
        Precondition: the payer's free stake covers task price * volume, the pool owner's the
        worker stake * volume (else InsufficientStake)."""
        dataset = NO_DATASET_ORDER if dataset_order is None else dataset_order
        return self._hub_call(
            "sponsorMatchOrders" if sponsor else "matchOrders",
            order_tuple(app_order, app_sign),
            order_tuple(dataset, dataset_sign if dataset_order is not None else b""),
            order_tuple(workerpool_order, workerpool_sign),
            order_tuple(request_order, request_sign),
        )

    def match_orders(
        self,
        *,
        sender: TransactionSender,
        app_order: AppOrder,
        app_sign: bytes,
        dataset_order: DatasetOrder | None,
        dataset_sign: bytes = b"",
        workerpool_order: WorkerpoolOrder,
        workerpool_sign: bytes,
        request_order: RequestOrder,
        request_sign: bytes,
        sponsor: bool = False,
    ) -> bytes:
        """Match the orders (see `match_orders_call`); the new dealid, read from OrdersMatched."""
        call = self.match_orders_call(
            app_order=app_order,
            app_sign=app_sign,
            dataset_order=dataset_order,
            dataset_sign=dataset_sign,
            workerpool_order=workerpool_order,
            workerpool_sign=workerpool_sign,
            request_order=request_order,
            request_sign=request_sign,
            sponsor=sponsor,
        )
        (matched,) = self.orders_matched(call.send(sender))
        return matched.dealid

    def manage_order_call(
        self, *, order: Order, operation: OrderOperation, sign: bytes = b""
    ) -> ContractCall:
        """manage{App,Dataset,Workerpool,Request}Order: SIGN presigns the order on chain, CLOSE
        cancels it for good (its consumed volume becomes its volume). Sent by the order's
        owner, or by anyone with the owner's `sign` over the operation."""
        function = f"manage{type(order).primary_type()}"
        return self._hub_call(function, operation_tuple(order, operation, sign))

    def orders_matched(self, receipt: TxReceipt) -> list[OrdersMatched]:
        """The OrdersMatched events this Hub emitted in a transaction's receipt."""
        found = []
        for log in receipt["logs"]:
            if log["address"] == self.address and bytes(log["topics"][0]) == _ORDERS_MATCHED_TOPIC:
                values = decode(["bytes32"] * 5 + ["uint256"], bytes(log["data"]))
                found.append(OrdersMatched(*values))
        return found

    def presigned(self, digest: bytes | str) -> str | None:
        """Who presigned the order with EIP-712 digest `digest` on chain (None: nobody)."""
        signer = _view(self.contract.functions.viewPresigned(to_bytes32(digest, "digest")))
        return None if int(signer, 16) == 0 else to_checksum_address(signer)

    def chain_time(self) -> int:
        """The latest block's timestamp: the Hub's deadlines are checked against block time,
        which a node may have moved ahead of the wall clock (a dev chain's evm_increaseTime)."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def has_code(self, address: str) -> bool:
        """Whether `address` is a contract (an ERC-1271 signer may be), not a plain key."""
        return len(self.w3.eth.get_code(to_checksum_address(address))) > 0

    def verify_signature(self, *, signer: str, digest: bytes | str, signature: bytes) -> bool:
        """Whether the Hub takes `signature` as `signer`'s over `digest`: ECDSA (65 or 64
        bytes) or, for a contract signer, its ERC-1271 answer."""
        return _view(
            self.contract.functions.verifySignature(
                to_checksum_address(signer), to_bytes32(digest, "digest"), signature
            )
        )

    def consumed(self, digest: bytes | str) -> int:
        """Consumed volume of the order with EIP-712 digest `digest` (its volume once closed)."""
        return _view(self.contract.functions.viewConsumed(to_bytes32(digest, "digest")))

    # -------------------------------------------------------------- tasks

    def initialize(self, *, sender: TransactionSender, dealid: bytes | str, idx: int) -> TxReceipt:
        """Start task `idx` of deal `dealid` (anyone may); its id is `task_id(dealid, idx)`."""
        return self._hub_call("initialize", to_bytes32(dealid, "dealid"), idx).send(sender)

    def initialize_array_call(self, *, tasks: Sequence[tuple[bytes | str, int]]) -> ContractCall:
        """initializeArray: start every (dealid, idx) of `tasks` in one transaction, all or none
        (one refused task reverts them all)."""
        return self._hub_call(
            "initializeArray",
            [to_bytes32(dealid, "dealid") for dealid, _ in tasks],
            [idx for _, idx in tasks],
        )

    def initialize_array(
        self, *, sender: TransactionSender, tasks: Sequence[tuple[bytes | str, int]]
    ) -> TxReceipt:
        """Start the tasks (dealid, idx) of `tasks` in one transaction (see
        `initialize_array_call`); their ids are `task_id(dealid, idx)`."""
        return self.initialize_array_call(tasks=tasks).send(sender)

    def contribute(
        self,
        *,
        sender: TransactionSender,
        taskid: bytes | str,
        result_hash: bytes | str,
        result_seal: bytes | str,
        authorization: bytes,
    ) -> TxReceipt:
        """Commit `sender` (a worker) to a result: `result_hash(taskid, digest)`,
        `result_seal(worker, taskid, digest)` and the scheduler's `scheduler_authorization`.
        Precondition: the worker's free stake covers the deal's worker stake."""
        return self._hub_call(
            "contribute",
            to_bytes32(taskid, "taskid"),
            to_bytes32(result_hash, "result_hash"),
            to_bytes32(result_seal, "result_seal"),
            authorization,
        ).send(sender)

    def commit(
        self,
        *,
        sender: TransactionSender,
        taskid: bytes | str,
        digest: bytes | str,
        authorization: bytes,
    ) -> TxReceipt:
        """`contribute` with the hash and seal of `digest` for `sender`: what a worker agent
        does once its result's digest is known."""
        return self.contribute(
            sender=sender,
            taskid=taskid,
            result_hash=result_hash(taskid, digest),
            result_seal=result_seal(sender.address, taskid, digest),
            authorization=authorization,
        )

    def reveal(
        self, *, sender: TransactionSender, taskid: bytes | str, digest: bytes | str
    ) -> TxReceipt:
        """Reveal the digest `sender` committed to, once the task is REVEALING."""
        return self._hub_call(
            "reveal", to_bytes32(taskid, "taskid"), to_bytes32(digest, "digest")
        ).send(sender)

    def reopen(self, *, sender: TransactionSender, taskid: bytes | str) -> TxReceipt:
        """Scheduler: reject a consensus group that did not reveal before the reveal deadline."""
        return self._hub_call("reopen", to_bytes32(taskid, "taskid")).send(sender)

    def finalize(
        self, *, sender: TransactionSender, taskid: bytes | str, results: bytes = b""
    ) -> TxReceipt:
        """Scheduler: complete the task and pay everyone; `results` locates the result."""
        return self._hub_call("finalize", to_bytes32(taskid, "taskid"), results).send(sender)

    def claim(self, *, sender: TransactionSender, taskid: bytes | str) -> TxReceipt:
        """Anyone, at or after the final deadline of an unfinished task: refund the payer."""
        return self._hub_call("claim", to_bytes32(taskid, "taskid")).send(sender)

    def claim_array(
        self, *, sender: TransactionSender, taskids: Sequence[bytes | str]
    ) -> TxReceipt:
        """`claim` every task of `taskids` in one transaction, all or none: with
        `initialize_array`, how a scheduler refunds a deal it cannot serve."""
        ids = [to_bytes32(taskid, "taskid") for taskid in taskids]
        return self._hub_call("claimArray", ids).send(sender)

    def give_up_call(self, *, taskid: bytes | str) -> ContractCall:
        """Hub giveUp(taskid): the deal's scheduler (its pool's owner) gives up an ACTIVE task
        before its final deadline, with claim's effect at once (payer refunded, pool stake to
        the kitty, worker stakes unlocked). Refused once the task has a consensus
        (GiveUpAfterConsensus) or past its final deadline (GiveUpPastFinalDeadline: claim)."""
        return self._hub_call("giveUp", to_bytes32(taskid, "taskid"))

    def give_up(self, *, sender: TransactionSender, taskid: bytes | str) -> TxReceipt:
        """Scheduler: give up an ACTIVE task before its final deadline (see `give_up_call`)."""
        return self.give_up_call(taskid=taskid).send(sender)

    # -------------------------------------------------------------- views

    def account(self, address: str) -> Account:
        """Escrow account of `address`."""
        stake, locked = _view(self.contract.functions.viewAccount(to_checksum_address(address)))
        return Account(stake=stake, locked=locked)

    def deal(self, dealid: bytes | str) -> Deal:
        """Stored part of deal `dealid` (all zeros when unknown)."""
        return Deal(*_view(self.contract.functions.viewDeal(to_bytes32(dealid, "dealid"))))

    def task(self, taskid: bytes | str) -> Task:
        """Task `taskid` (UNSET with zeros when never initialized)."""
        (
            status,
            dealid,
            contribution_deadline,
            reveal_deadline,
            final_deadline,
            consensus_value,
            result_digest,
            reveal_counter,
            winner_counter,
            total_weight,
            contributors,
        ) = _view(self.contract.functions.viewTask(to_bytes32(taskid, "taskid")))
        return Task(
            status=TaskStatus.from_code(status),
            dealid=bytes(dealid),
            contribution_deadline=contribution_deadline,
            reveal_deadline=reveal_deadline,
            final_deadline=final_deadline,
            consensus_value=bytes(consensus_value),
            result_digest=bytes(result_digest),
            reveal_counter=reveal_counter,
            winner_counter=winner_counter,
            total_weight=total_weight,
            contributors=tuple(contributors),
        )

    def contribution(self, taskid: bytes | str, worker: str) -> Contribution:
        """Contribution of `worker` to `taskid` (UNSET with zeros when none)."""
        status, hash_, seal, weight = _view(
            self.contract.functions.viewContribution(
                to_bytes32(taskid, "taskid"), to_checksum_address(worker)
            )
        )
        return Contribution(ContributionStatus.from_code(status), bytes(hash_), bytes(seal), weight)

    def score(self, worker: str) -> int:
        """Reputation score of `worker` (kept across pools)."""
        return _view(self.contract.functions.viewScore(to_checksum_address(worker)))

    def kitty(self) -> int:
        """ECT seized from pools whose tasks failed."""
        return _view(self.contract.functions.viewKitty())

    def token_allowance(self, owner: str) -> int:
        """ECT the Hub may still take from `owner`'s wallet (its approvals and permits)."""
        return _view(self.token.functions.allowance(to_checksum_address(owner), self.address))

    def token_balance(self, address: str) -> int:
        """ECT in the wallet of `address` (the Hub's own balance is the escrow total)."""
        return _view(self.token.functions.balanceOf(to_checksum_address(address)))
