"""Scaffolding for tests that run deals and tasks on the Hub (anvil, real contracts).

    @pytest.fixture
    def market(chain, hub_deployment, dev_accounts) -> Market:
        return Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)

or, opened once per module (tests/chain_fixtures.py)::

    @pytest.fixture
    def market(chain, opened_market) -> Market:
        return opened_market.copy()

`Market.open` registers an app, a dataset and a workerpool, and deposits ECT (from dev account 0,
which holds the whole supply) to the escrow stake of the requester, the scheduler and the
workers. Roles, by dev account: 0 funder (owns the Hub), 1 app owner, 2 dataset owner,
3 scheduler (owner of `market.workerpool`), 4 requester, 5-8 workers, 9 a second scheduler.
Use it under the `chain` fixture: every test then starts from the bare deployment again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from typing import Any

from eth_account import Account as EthAccount
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.types import TxReceipt

from marketplace.chain import client
from marketplace.chain.client import TransactionSender
from marketplace.chain.deploy import HubDeployment
from marketplace.chain.hub import (
    Account,
    AppRegistration,
    DatasetRegistration,
    Hub,
    WorkerpoolRegistration,
)
from marketplace.chain.ids import task_id
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Domain,
    RequestOrder,
    WorkerpoolOrder,
    hub_domain,
    order_digest,
    sign_order,
)
from marketplace.chain.signing import scheduler_authorization

ECT = 10**9  # base units per ECT (9 decimals)
CATEGORY_XS = 0
XS_SECONDS = 300  # workClockTimeRef of category XS

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
