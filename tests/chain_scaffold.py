"""Chain scaffolding shared by the tests: markets opened on the test anvil (real contracts), ECT
transfers, test contracts compiled with solcjs, and MetaMask's own typed-data signer. The
fixtures that start anvil and deploy the Hub are in tests/chain_fixtures.py.

Two markets, for two kinds of test:

- `Market` drives the Hub through the site's Hub client (`marketplace.chain.hub.Hub`), for tests
  that run deals and tasks::

      @pytest.fixture
      def market(chain, hub_deployment, dev_accounts) -> Market:
          return Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)

  or, opened once per module (tests/chain_fixtures.py)::

      @pytest.fixture
      def market(chain, opened_market) -> Market:
          return opened_market.copy()

  `Market.open` registers an app, a dataset and a workerpool, and deposits ECT (from dev account
  0, which holds the whole supply) to the escrow stake of the requester, the scheduler and the
  workers. Roles, by dev account: 0 funder (owns the Hub), 1 app owner, 2 dataset owner,
  3 scheduler (owner of `market.workerpool`), 4 requester, 5-8 workers, 9 a second scheduler.
  Use it under the `chain` fixture: every test then starts from the bare deployment again.

- `ContractMarket` (from `open_market`) drives the contracts directly (the Hub ABI from
  build.json, `client.TransactionSender`), never through a higher-level Hub client, so that the
  matchOrders, signature, PoCo-surface and escrow tests pin the contract itself: an app, a
  dataset and a workerpool registered, the requester's, the sponsor's and the pool owner's
  escrows funded, default orders that match each other, and the ledger of everything a refused
  transaction must leave as it was. Use it from a module-scoped fixture, with the
  function-scoped `chain` fixture in every test that changes the chain::

      @pytest.fixture(scope="module")
      def market(anvil, w3, hub_deployment, dev_accounts):
          with open_market(w3, hub_deployment, dev_accounts) as opened:
              yield opened
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode, encode
from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from eth_utils.abi import collapse_if_tuple
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from marketplace.chain import artifacts, client
from marketplace.chain.client import TransactionSender
from marketplace.chain.deploy import HubDeployment
from marketplace.chain.errors import ChainRevert
from marketplace.chain.hub import (
    Account,
    AppRegistration,
    DatasetRegistration,
    Hub,
    WorkerpoolRegistration,
)
from marketplace.chain.hub_errors import hub_abis
from marketplace.chain.ids import task_id
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    ZERO_BYTES32,
    AppOrder,
    DatasetOrder,
    Domain,
    Order,
    OrderOperation,
    RequestOrder,
    WorkerpoolOrder,
    hub_domain,
    operation_tuple,
    order_digest,
    order_tuple,
    sign_order,
)
from marketplace.chain.signing import scheduler_authorization

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "tests" / "marketplace" / "chain" / "contracts"
ETH_SIG_UTIL = Path(__file__).with_name("eth_sig_util.mjs")

ECT = 10**9  # base units per ECT (9 decimals)
ETH = 10**18  # wei per ETH
CATEGORY_XS = 0
XS_SECONDS = 300  # workClockTimeRef of category XS
CATEGORY_COUNT = 5


# ============================================================================ Market (Hub client)

REQUESTER_DEPOSIT = 1_000 * ECT
SCHEDULER_DEPOSIT = 100 * ECT
WORKER_DEPOSIT = 100 * ECT

_digests = itertools.count(1)


def new_digest() -> bytes:
    """A result digest (sha256 of some result archive), different at each call."""
    return hashlib.sha256(f"result {next(_digests)}".encode()).digest()


def worker_weight(score: int) -> int:
    """The Hub's weight of a worker: max(score / 3, 3) - 1."""
    return max(score // 3, 3) - 1


def consensus_trust(weights: list[int]) -> int:
    """The trust at which workers of these weights, all agreeing and contributing in this
    order, reach consensus at the last contribution and not before. With a single group of
    weight g, total = 1 + g and g * trust > (1 + g) * (trust - 1) holds exactly when trust <= g,
    so the answer is the group weight before the last worker, plus one."""
    group = 1
    for weight in weights[:-1]:
        group *= weight
    return group + 1 if len(weights) > 1 else 1


@dataclasses.dataclass(frozen=True)
class Orders:
    """Four signed orders (no dataset when `dataset` is None), ready for matchOrders."""

    app: AppOrder
    app_sign: bytes
    dataset: DatasetOrder | None
    dataset_sign: bytes
    workerpool: WorkerpoolOrder
    workerpool_sign: bytes
    request: RequestOrder
    request_sign: bytes

    def match_arguments(self) -> dict[str, Any]:
        """Keyword arguments of `Hub.match_orders` / `Hub.match_orders_call`."""
        return {
            "app_order": self.app,
            "app_sign": self.app_sign,
            "dataset_order": self.dataset,
            "dataset_sign": self.dataset_sign,
            "workerpool_order": self.workerpool,
            "workerpool_sign": self.workerpool_sign,
            "request_order": self.request,
            "request_sign": self.request_sign,
        }


@dataclasses.dataclass
class Market:
    """A Hub with one app, one dataset and one workerpool, and funded participants."""

    w3: Web3
    hub: Hub
    domain: Domain
    accounts: list[LocalAccount]
    app: str
    dataset: str
    workerpool: str
    _senders: dict[str, TransactionSender] = dataclasses.field(default_factory=dict)

    # ------------------------------------------------------------------ roles

    @property
    def funder(self) -> LocalAccount:
        return self.accounts[0]

    @property
    def app_owner(self) -> LocalAccount:
        return self.accounts[1]

    @property
    def dataset_owner(self) -> LocalAccount:
        return self.accounts[2]

    @property
    def scheduler(self) -> LocalAccount:
        return self.accounts[3]

    @property
    def requester(self) -> LocalAccount:
        return self.accounts[4]

    @property
    def workers(self) -> list[LocalAccount]:
        return self.accounts[5:9]

    @property
    def other_scheduler(self) -> LocalAccount:
        return self.accounts[9]

    # ------------------------------------------------------------------ set-up

    @classmethod
    def open(cls, *, w3: Web3, deployment: HubDeployment, accounts: list[LocalAccount]) -> Market:
        """Register the assets and fund the escrow stakes (see the module docstring)."""
        hub = Hub(w3=w3, address=deployment.hub)
        funder = TransactionSender(accounts[0], w3=w3)
        app = hub.register(
            sender=funder,
            asset=AppRegistration(
                owner=accounts[1].address,
                name="Word count",
                multiaddr=b"http://127.0.0.1/apps/wordcount.wasm",
                checksum=hashlib.sha256(b"wordcount.wasm").digest(),
            ),
        )
        dataset = hub.register(
            sender=funder,
            asset=DatasetRegistration(
                owner=accounts[2].address,
                name="Corpus",
                multiaddr=b"http://127.0.0.1/datasets/corpus.bin",
                checksum=hashlib.sha256(b"corpus.bin").digest(),
            ),
        )
        workerpool = hub.register(
            sender=funder,
            asset=WorkerpoolRegistration(owner=accounts[3].address, description="Pool A"),
        )
        market = cls(
            w3=w3,
            hub=hub,
            domain=hub_domain(chain_id=w3.eth.chain_id, hub_address=hub.address),
            accounts=accounts,
            app=app,
            dataset=dataset,
            workerpool=workerpool,
            _senders={funder.address: funder},
        )
        deposits = {
            market.requester.address: REQUESTER_DEPOSIT,
            market.scheduler.address: SCHEDULER_DEPOSIT,
            market.other_scheduler.address: SCHEDULER_DEPOSIT,
            **{worker.address: WORKER_DEPOSIT for worker in market.workers},
        }
        hub.approve_call(amount=sum(deposits.values())).send(funder)
        for address, amount in deposits.items():
            hub.deposit_for_call(amount=amount, target=address).send(funder)
        return market

    def copy(self) -> Market:
        """The same market for one test: what a test changes on the object (`accounts`, its
        senders) stays with that test."""
        return dataclasses.replace(self, accounts=list(self.accounts), _senders={})

    def sender(self, account: LocalAccount) -> TransactionSender:
        """The (cached) TransactionSender of `account`."""
        if account.address not in self._senders:
            self._senders[account.address] = TransactionSender(account, w3=self.w3)
        return self._senders[account.address]

    def extra_workers(self, count: int, *, deposit: int) -> list[LocalAccount]:
        """`count` more workers (keys of their own, the same at every call), each with gas money
        and `deposit` of escrow stake, for tests that need more than `workers`. They join
        `accounts` (after the roles), so `escrow()` and `assert_escrow_conserved()` count them."""
        workers = [EthAccount.from_key(keccak(text=f"extra worker {n}")) for n in range(count)]
        funder = self.sender(self.funder)
        self.hub.approve_call(amount=count * deposit).send(funder)
        for worker in workers:
            client.rpc("anvil_setBalance", [worker.address, hex(10**18)], w3=self.w3)
            self.hub.deposit_for_call(amount=deposit, target=worker.address).send(funder)
        # A new list: `accounts` may be the session's dev_accounts, which other tests share.
        self.accounts = [*self.accounts, *workers]
        return workers

    def add_workerpool(self, *, owner: LocalAccount, description: str) -> str:
        """Register another workerpool owned (and scheduled) by `owner`."""
        return self.hub.register(
            sender=self.sender(self.funder),
            asset=WorkerpoolRegistration(owner=owner.address, description=description),
        )

    # ------------------------------------------------------------------ orders and deals

    def sign_orders(
        self,
        *,
        app_price: int,
        dataset_price: int | None,
        workerpool_price: int,
        volume: int = 1,
        workerpool_volume: int | None = None,
        trust: int = 1,
        category: int = CATEGORY_XS,
        workerpool: str | None = None,
        scheduler: LocalAccount | None = None,
    ) -> Orders:
        """Orders at exactly these prices for `volume` tasks (the pool order's volume may
        differ), signed by their owners; `dataset_price` None: no dataset."""
        workerpool = workerpool or self.workerpool
        scheduler = scheduler or self.scheduler
        app = AppOrder(app=self.app, appprice=app_price, volume=max(100, volume))
        dataset = None
        if dataset_price is not None:
            dataset = DatasetOrder(
                dataset=self.dataset, datasetprice=dataset_price, volume=max(100, volume)
            )
        pool = WorkerpoolOrder(
            workerpool=workerpool,
            workerpoolprice=workerpool_price,
            volume=volume if workerpool_volume is None else workerpool_volume,
            category=category,
            trust=trust,
        )
        request = RequestOrder(
            app=self.app,
            appmaxprice=app_price,
            dataset=dataset.dataset if dataset else ZERO_ADDRESS,
            datasetmaxprice=dataset_price or 0,
            workerpoolmaxprice=workerpool_price,
            requester=self.requester.address,
            volume=volume,
            category=category,
            trust=trust,
            beneficiary=self.requester.address,
            params='{"args": "input.txt"}',
        )
        return Orders(
            app=app,
            app_sign=sign_order(app, self.domain, self.app_owner.key),
            dataset=dataset,
            dataset_sign=sign_order(dataset, self.domain, self.dataset_owner.key)
            if dataset
            else b"",
            workerpool=pool,
            workerpool_sign=sign_order(pool, self.domain, scheduler.key),
            request=request,
            request_sign=sign_order(request, self.domain, self.requester.key),
        )

    def match(self, orders: Orders) -> bytes:
        """matchOrders sent by the requester; the dealid."""
        return self.hub.match_orders(sender=self.sender(self.requester), **orders.match_arguments())

    def request_digest(self, orders: Orders) -> bytes:
        return order_digest(orders.request, self.domain)

    # ------------------------------------------------------------------ tasks

    def initialize(self, dealid: bytes, idx: int = 0) -> bytes:
        """Initialize task `idx` (sent by the scheduler); its taskid."""
        self.hub.initialize(sender=self.sender(self.scheduler), dealid=dealid, idx=idx)
        return task_id(dealid, idx)

    def contribute(
        self,
        worker: LocalAccount,
        taskid: bytes,
        digest: bytes,
        *,
        scheduler: LocalAccount | None = None,
    ) -> TxReceipt:
        """`worker` commits to `digest`, authorized by `scheduler` (default: the market's)."""
        authorization = scheduler_authorization(
            worker=worker.address, taskid=taskid, scheduler_key=scheduler or self.scheduler
        )
        return self.hub.commit(
            sender=self.sender(worker), taskid=taskid, digest=digest, authorization=authorization
        )

    def reveal(self, worker: LocalAccount, taskid: bytes, digest: bytes) -> TxReceipt:
        return self.hub.reveal(sender=self.sender(worker), taskid=taskid, digest=digest)

    def finalize(self, taskid: bytes, *, scheduler: LocalAccount | None = None) -> TxReceipt:
        return self.hub.finalize(
            sender=self.sender(scheduler or self.scheduler),
            taskid=taskid,
            results=b"http://127.0.0.1/results/" + taskid.hex().encode(),
        )

    def earn_scores(self, workers: list[LocalAccount], *, tasks: int) -> None:
        """Run `tasks` tasks in which all `workers` contribute the same result and win: each
        gains one point per task. One deal per task, at the trust that makes the last of them
        reach consensus (it changes as their weights grow). Cheap prices."""
        for _ in range(tasks):
            weights = [worker_weight(self.hub.score(worker.address)) for worker in workers]
            orders = self.sign_orders(
                app_price=0,
                dataset_price=None,
                workerpool_price=ECT // 10,
                trust=consensus_trust(weights),
            )
            taskid = self.initialize(self.match(orders))
            digest = new_digest()
            for worker in workers:
                self.contribute(worker, taskid, digest)
            for worker in workers:
                self.reveal(worker, taskid, digest)
            self.finalize(taskid)

    # ------------------------------------------------------------------ time and escrow

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block at the new time."""
        client.rpc("evm_increaseTime", [seconds], w3=self.w3)
        client.rpc("evm_mine", w3=self.w3)

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def escrow(self) -> dict[str, Account]:
        """Escrow account of every participant (all dev accounts)."""
        return {account.address: self.hub.account(account.address) for account in self.accounts}

    def assert_escrow_conserved(self) -> None:
        """ECT held by the Hub == Σ stake + Σ locked of every participant + kitty."""
        accounts = self.escrow().values()
        held = sum(account.stake + account.locked for account in accounts) + self.hub.kitty()
        assert self.hub.token_balance(self.hub.address) == held


def escrow_changes(
    before: dict[str, Account], after: dict[str, Account]
) -> dict[str, tuple[int, int]]:
    """(Δstake, Δlocked) of each account whose escrow changed, and of no other."""
    return {
        address: (after[address].stake - old.stake, after[address].locked - old.locked)
        for address, old in before.items()
        if after[address] != old
    }


# ============================================================================ ContractMarket

APP_PRICE = 2 * ECT
DATASET_PRICE = 1 * ECT
WORKERPOOL_PRICE = 3 * ECT
DEPOSIT = 100 * ECT
WORKER_STAKE_RATIO = 30  # a new workerpool's policy, in percent
# What the market registers (after the owner): createApp, createDataset, createWorkerpool.
APP_REGISTRATION = (
    "Word count",
    "WASM",
    b"http://127.0.0.1:8000/media/apps/wordcount.wasm",
    hashlib.sha256(b"wordcount wasm").digest(),
    b"",
)
DATASET_REGISTRATION = (
    "Shakespeare",
    b"http://127.0.0.1:8000/media/datasets/shakespeare.bin",
    hashlib.sha256(b"shakespeare encrypted").digest(),
)
WORKERPOOL_DESCRIPTION = "Edge pool"
# Every Hub transaction is sent with this gas (no estimate): a refused one is mined and
# reverted, so that the tests see what a reverted transaction left behind.
TX_GAS = 3_000_000

# Error codes of orders, assets and restricted fields (HubTypes.sol, library Kind).
APP, DATASET, WORKERPOOL, REQUEST = 0, 1, 2, 3
KINDS = {"app": APP, "dataset": DATASET, "workerpool": WORKERPOOL, "request": REQUEST}
MANAGE_FUNCTIONS = {
    AppOrder: "manageAppOrder",
    DatasetOrder: "manageDatasetOrder",
    WorkerpoolOrder: "manageWorkerpoolOrder",
    RequestOrder: "manageRequestOrder",
}
SIGNED_EVENTS = {
    AppOrder: "SignedAppOrder",
    DatasetOrder: "SignedDatasetOrder",
    WorkerpoolOrder: "SignedWorkerpoolOrder",
    RequestOrder: "SignedRequestOrder",
}
CLOSED_EVENTS = {
    AppOrder: "ClosedAppOrder",
    DatasetOrder: "ClosedDatasetOrder",
    WorkerpoolOrder: "ClosedWorkerpoolOrder",
    RequestOrder: "ClosedRequestOrder",
}

# The all-zero dataset order of a deal without a dataset.
NO_DATASET = DatasetOrder(dataset=ZERO_ADDRESS, datasetprice=0, volume=0, salt=ZERO_BYTES32)

# Dev account of each role (anvil's keys; 0 deployed the Hub and holds the ECT supply).
ROLE_INDEX = {
    "hub_owner": 0,
    "app_owner": 1,
    "dataset_owner": 2,
    "pool_owner": 3,
    "requester": 4,
    "sponsor": 5,
    "stranger": 6,
    "worker": 7,
}
FUNDED_ROLES = ("requester", "sponsor", "pool_owner", "worker")


def worker_authorization(scheduler: LocalAccount, worker: str, taskid: bytes) -> bytes:
    """The scheduler's EIP-191 signature of keccak256(abi.encodePacked(worker, taskid))."""
    return scheduler_authorization(worker=worker, taskid=taskid, scheduler_key=scheduler)


@dataclasses.dataclass(frozen=True)
class ContractOrders:
    """The four orders of one matchOrders call (dataset NO_DATASET when the deal has none)."""

    app: AppOrder
    dataset: DatasetOrder
    workerpool: WorkerpoolOrder
    request: RequestOrder

    def all(self) -> tuple[Order, ...]:
        return (self.app, self.dataset, self.workerpool, self.request)

    def of(self, kind: str) -> Order:
        """The order of `kind`: "app", "dataset", "workerpool" or "request"."""
        return getattr(self, kind)

    def replace(self, **changes: Order) -> ContractOrders:
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass
class ContractMarket:
    w3: Web3
    deployment: HubDeployment
    hub: Contract
    token: Contract
    domain: Domain
    accounts: dict[str, LocalAccount]
    app: str
    dataset: str
    workerpool: str

    # ------------------------------------------------------------------------ accounts

    def __getattr__(self, role: str) -> LocalAccount:
        # market.requester, market.pool_owner, ...: the account of a role.
        accounts = self.__dict__.get("accounts", {})
        if role in accounts:
            return accounts[role]
        raise AttributeError(role)

    def sender(self, account: LocalAccount) -> client.TransactionSender:
        return client.TransactionSender(account, w3=self.w3, abis=hub_abis(), confirmations=0)

    def send(self, account: LocalAccount, data: str | bytes, *, to: str | None = None) -> TxReceipt:
        """A transaction from `account` to the Hub (or `to`), mined even when it reverts."""
        return self.sender(account).send(to=to or self.hub.address, data=data, gas=TX_GAS)

    # ------------------------------------------------------------------------ orders

    def app_order(self, **fields: Any) -> AppOrder:
        return AppOrder(**{"app": self.app, "appprice": APP_PRICE, "volume": 100, **fields})

    def dataset_order(self, **fields: Any) -> DatasetOrder:
        return DatasetOrder(
            **{"dataset": self.dataset, "datasetprice": DATASET_PRICE, "volume": 100, **fields}
        )

    def workerpool_order(self, **fields: Any) -> WorkerpoolOrder:
        defaults = {
            "workerpool": self.workerpool,
            "workerpoolprice": WORKERPOOL_PRICE,
            "volume": 100,
            "category": CATEGORY_XS,
        }
        return WorkerpoolOrder(**{**defaults, **fields})

    def request_order(self, **fields: Any) -> RequestOrder:
        defaults = {
            "app": self.app,
            "appmaxprice": APP_PRICE,
            "dataset": self.dataset,
            "datasetmaxprice": DATASET_PRICE,
            "workerpoolmaxprice": WORKERPOOL_PRICE,
            "requester": self.requester.address,
            "volume": 1,
            "category": CATEGORY_XS,
            "beneficiary": self.requester.address,
            "params": json.dumps({"args": "--words 3", "iexec_result_storage_provider": "ipfs"}),
        }
        return RequestOrder(**{**defaults, **fields})

    def order(self, kind: str, **fields: Any) -> Order:
        """A default order of `kind` ("app", "dataset", "workerpool", "request")."""
        build = {
            "app": self.app_order,
            "dataset": self.dataset_order,
            "workerpool": self.workerpool_order,
            "request": self.request_order,
        }[kind]
        return build(**fields)

    def orders(self, *, with_dataset: bool = True, **requested: Any) -> ContractOrders:
        """Default orders that match; `requested` overrides fields of the request order."""
        if not with_dataset:
            requested = {"dataset": ZERO_ADDRESS, "datasetmaxprice": 0, **requested}
        return ContractOrders(
            app=self.app_order(),
            dataset=self.dataset_order() if with_dataset else NO_DATASET,
            workerpool=self.workerpool_order(),
            request=self.request_order(**requested),
        )

    def owner_of(self, order: Order) -> LocalAccount:
        """The account whose key signs `order` by default: the asset's owner, or the role
        account that is the request's requester."""
        if isinstance(order, AppOrder):
            return self.app_owner
        if isinstance(order, DatasetOrder):
            return self.dataset_owner
        if isinstance(order, WorkerpoolOrder):
            return self.pool_owner
        by_address = {account.address: account for account in self.accounts.values()}
        return by_address.get(order.requester, self.requester)

    def digest(self, order: Order) -> bytes:
        return order_digest(order, self.domain)

    def sign(self, order: Order, account: LocalAccount | None = None) -> bytes:
        """65-byte signature by `account` (default: the order's owner); empty for NO_DATASET."""
        if order == NO_DATASET and account is None:
            return b""
        return sign_order(order, self.domain, (account or self.owner_of(order)).key)

    # ------------------------------------------------------------------------ Hub calls

    def match_calldata(
        self,
        orders: ContractOrders,
        *,
        signatures: dict[str, bytes] | None = None,
        sponsored: bool = False,
    ) -> str:
        """matchOrders (or sponsorMatchOrders) calldata; each order signed by its owner unless
        `signatures` gives its `sign` ("app", "dataset", "workerpool", "request")."""
        signatures = signatures or {}
        tuples = [
            order_tuple(order, signatures[kind] if kind in signatures else self.sign(order))
            for kind, order in zip(KINDS, orders.all(), strict=True)
        ]
        function = "sponsorMatchOrders" if sponsored else "matchOrders"
        return "0x" + self.encode(self.hub, function, tuples).hex()

    def match(
        self,
        orders: ContractOrders,
        *,
        by: LocalAccount | None = None,
        signatures: dict[str, bytes] | None = None,
        sponsored: bool = False,
    ) -> TxReceipt:
        """Send matchOrders from `by` (default: the stranger: anyone may send it)."""
        data = self.match_calldata(orders, signatures=signatures, sponsored=sponsored)
        return self.send(by or self.stranger, data)

    def manage(
        self,
        order: Order,
        operation: OrderOperation,
        *,
        by: LocalAccount | None = None,
        sign: bytes = b"",
    ) -> TxReceipt:
        """manage<X>Order((order, operation, sign)) from `by` (default: the order's owner)."""
        data = self.encode(
            self.hub, MANAGE_FUNCTIONS[type(order)], [operation_tuple(order, operation, sign)]
        )
        return self.send(by or self.owner_of(order), data)

    def deposit_for(self, target: str, amount: int) -> TxReceipt:
        """The hub owner (who holds the ECT supply) deposits `amount` to the escrow of `target`."""
        return self.send(self.hub_owner, self.encode(self.hub, "depositFor", [amount, target]))

    def events(self, receipt: TxReceipt, name: str) -> list[dict[str, Any]]:
        """The args of the Hub's `name` events in `receipt`."""
        found = getattr(self.hub.events, name)().process_receipt(receipt, errors=DISCARD)
        return [dict(event["args"]) for event in found]

    # ------------------------------------------------------------------------ views

    def escrow(self, address: str) -> tuple[int, int]:
        """(stake, locked) of `address`."""
        return tuple(self.hub.functions.viewAccount(address).call())

    def consumed(self, order: Order) -> int:
        return self.hub.functions.viewConsumed(self.digest(order)).call()

    def encode(self, contract: Contract, name: str, args: Sequence[Any] = ()) -> bytes:
        """Calldata of `name(args)` (web3's encode_abi scans the whole ABI on every call, which
        the state machine's thousands of calls cannot afford)."""
        selector, input_types, _ = _function_types(contract.address, contract.abi, name)
        return selector + encode(input_types, list(args))

    def read(self, calls: Sequence[tuple[Contract, str, Sequence[Any]]]) -> list[Any]:
        """The results of view calls (contract, function name, arguments), all sent in one
        JSON-RPC batch: a single output is returned as is, several as a tuple."""
        requests, output_types = [], []
        for contract, name, args in calls:
            data = "0x" + self.encode(contract, name, args).hex()
            output_types.append(_function_types(contract.address, contract.abi, name)[2])
            requests.append(("eth_call", [{"to": contract.address, "data": data}, "latest"]))
        responses = sorted(self.w3.provider.make_batch_request(requests), key=lambda r: r["id"])
        results = []
        for response, types in zip(responses, output_types, strict=True):
            assert "error" not in response, response
            values = decode(types, bytes.fromhex(response["result"][2:]))
            results.append(values[0] if len(values) == 1 else values)
        return results

    def ledger(self, orders: Sequence[Order] = (), addresses: Sequence[str] = ()) -> dict:
        """What a refused transaction must leave unchanged: the Hub's ECT balance, the kitty,
        every role's (and `addresses`') escrow, the consumed volume of `orders`."""
        watched = [account.address for account in self.accounts.values()] + list(addresses)
        digests = [self.digest(order) for order in orders if order != NO_DATASET]
        values = self.read(
            [
                (self.token, "balanceOf", [self.hub.address]),
                (self.hub, "viewKitty", []),
                *[(self.hub, "viewAccount", [address]) for address in watched],
                *[(self.hub, "viewConsumed", [digest]) for digest in digests],
            ]
        )
        return {
            "hub balance": values[0],
            "kitty": values[1],
            "escrows": dict(zip(watched, values[2 : 2 + len(watched)], strict=True)),
            "consumed": values[2 + len(watched) :],
        }

    def refused(
        self,
        send: Callable[[], Any],
        *,
        orders: Sequence[Order] = (),
        addresses: Sequence[str] = (),
    ) -> ChainRevert:
        """The ChainRevert of `send()`, a transaction that must be mined and reverted, after
        checking that it moved nothing (escrows, Hub balance, kitty, consumed volumes)."""
        before = self.ledger(orders, addresses)
        with pytest.raises(ChainRevert) as caught:
            send()
        assert caught.value.tx_hash is not None, "refused before being mined"
        assert self.ledger(orders, addresses) == before
        return caught.value


_FUNCTION_TYPES: dict[tuple[str, str], tuple[bytes, list[str], list[str]]] = {}


def _function_types(address: str, abi: Sequence[dict], name: str) -> tuple[bytes, list, list]:
    """(selector, input types, output types) of function `name` of the contract at `address`."""
    key = (address, name)
    if key not in _FUNCTION_TYPES:
        (entry,) = (item for item in abi if item["type"] == "function" and item["name"] == name)
        inputs = [collapse_if_tuple(item) for item in entry["inputs"]]
        selector = keccak(text=f"{name}({','.join(inputs)})")[:4]
        outputs = [collapse_if_tuple(item) for item in entry["outputs"]]
        _FUNCTION_TYPES[key] = (selector, inputs, outputs)
    return _FUNCTION_TYPES[key]


# ---------------------------------------------------------------------------- opening


def _register_assets(
    w3: Web3, deployment: HubDeployment, registrar: client.TransactionSender, owners: dict
) -> tuple[str, str, str]:
    app_registry = w3.eth.contract(
        address=deployment.app_registry, abi=artifacts.abi("AppRegistry")
    )
    dataset_registry = w3.eth.contract(
        address=deployment.dataset_registry, abi=artifacts.abi("DatasetRegistry")
    )
    pool_registry = w3.eth.contract(
        address=deployment.workerpool_registry, abi=artifacts.abi("WorkerpoolRegistry")
    )
    app_args = (owners["app"], *APP_REGISTRATION)
    dataset_args = (owners["dataset"], *DATASET_REGISTRATION)
    pool_args = (owners["workerpool"], WORKERPOOL_DESCRIPTION)
    app = app_registry.functions.predictApp(*app_args).call()
    dataset = dataset_registry.functions.predictDataset(*dataset_args).call()
    workerpool = pool_registry.functions.predictWorkerpool(*pool_args).call()
    for registry, function, args in (
        (app_registry, "createApp", app_args),
        (dataset_registry, "createDataset", dataset_args),
        (pool_registry, "createWorkerpool", pool_args),
    ):
        registrar.send(to=registry.address, data=registry.encode_abi(function, args=list(args)))
    return app, dataset, workerpool


@contextmanager
def open_market(
    w3: Web3, deployment: HubDeployment, dev_accounts: Sequence[LocalAccount]
) -> Iterator[ContractMarket]:
    """Register the assets and fund the escrows (DEPOSIT each for the requester, the sponsor,
    the pool owner and the worker) on top of the deployment; undo it all on exit."""
    snapshot = client.rpc("evm_snapshot", w3=w3)
    try:
        accounts = {role: dev_accounts[index] for role, index in ROLE_INDEX.items()}
        registrar = client.TransactionSender(
            accounts["hub_owner"], w3=w3, abis=hub_abis(), confirmations=0
        )
        app, dataset, workerpool = _register_assets(
            w3,
            deployment,
            registrar,
            {
                "app": accounts["app_owner"].address,
                "dataset": accounts["dataset_owner"].address,
                "workerpool": accounts["pool_owner"].address,
            },
        )
        market = ContractMarket(
            w3=w3,
            deployment=deployment,
            hub=w3.eth.contract(address=deployment.hub, abi=artifacts.abi("Hub")),
            token=w3.eth.contract(address=deployment.token, abi=artifacts.abi("ECT")),
            domain=hub_domain(chain_id=w3.eth.chain_id, hub_address=deployment.hub),
            accounts=accounts,
            app=app,
            dataset=dataset,
            workerpool=workerpool,
        )
        approve = market.token.encode_abi("approve", args=[deployment.hub, 2**256 - 1])
        registrar.send(to=deployment.token, data=approve)
        for role in FUNDED_ROLES:
            market.deposit_for(accounts[role].address, DEPOSIT)
        yield market
    finally:
        client.rpc("evm_revert", [snapshot], w3=w3)


# ============================================================================ ECT


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


# ============================================================================ node tools


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install Node.js, then `make install`.")
    return node


@functools.cache
def compile_test_contract(file_name: str, contract_name: str) -> tuple[list[dict], str]:
    """(abi, 0x creation bytecode) of a contract of tests/marketplace/chain/contracts, compiled
    with the repository's solcjs (once per test process)."""
    source = (CONTRACTS / file_name).read_text(encoding="utf-8")
    standard_input = {
        "language": "Solidity",
        "sources": {file_name: {"content": source}},
        "settings": {
            "optimizer": {"enabled": True, "runs": 200},
            "evmVersion": "cancun",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }
    script = (
        "const solc = require('solc'); let input = '';"
        "process.stdin.on('data', (chunk) => { input += chunk; });"
        "process.stdin.on('end', () => process.stdout.write(solc.compile(input)));"
    )
    completed = subprocess.run(  # noqa: S603 - node with our own script
        [_node(), "-e", script],
        input=json.dumps(standard_input),
        capture_output=True,
        text=True,
        cwd=ROOT,  # require('solc') resolves from the repository's node_modules
        check=True,
        timeout=120,
    )
    output = json.loads(completed.stdout)
    errors = [item for item in output.get("errors", []) if item["severity"] == "error"]
    assert not errors, [item["formattedMessage"] for item in errors]
    contract = output["contracts"][file_name][contract_name]
    return contract["abi"], "0x" + contract["evm"]["bytecode"]["object"]


def deploy_test_contract(
    market: ContractMarket, account: LocalAccount, file_name: str, contract_name: str, *args: Any
) -> Contract:
    abi, bytecode = compile_test_contract(file_name, contract_name)
    constructor = next((entry for entry in abi if entry["type"] == "constructor"), {"inputs": []})
    arguments = encode([item["type"] for item in constructor["inputs"]], list(args))
    receipt = market.sender(account).send(to=None, data=bytecode + arguments.hex())
    return market.w3.eth.contract(address=receipt["contractAddress"], abi=abi)


def metamask_sign(cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each {data: typed data, privateKey: 0x hex}, what MetaMask computes for
    eth_signTypedData_v4: {digest, signature}; one run of node for them all."""
    completed = subprocess.run(  # noqa: S603 - node with our own script
        [_node(), str(ETH_SIG_UTIL)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return json.loads(completed.stdout)
