"""The escrow conservation invariant of PROTOCOL.md under random sequences of Hub calls:
ECT.balanceOf(Hub) == Σ stake + Σ locked (over every account that touched the Hub) + kitty.

A hypothesis state machine deposits (deposit, depositFor, depositWithPermit), withdraws (too
much, sometimes), matches orders, initializes tasks, contributes, reveals, finalizes, claims,
gives tasks up (the pool's owner, or a stranger refused) and lets time pass. It keeps its own
model of every escrow account, wallet, score and task, predicts each call's outcome (success,
or the exact custom error), and after every step checks the chain against the model and the
invariant. Every example starts from the same anvil snapshot and reverts to it.
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from marketplace.chain import client
from marketplace.chain.errors import ChainRevert
from marketplace.chain.ids import deal_id, task_id
from tests.chain_scaffold import (
    ECT,
    NO_DATASET,
    WORKER_STAKE_RATIO,
    open_market,
    worker_authorization,
)
from tests.chain_scaffold import (
    XS_SECONDS as TIME_REF,
)

WALLET = 1_000 * ECT  # ECT each actor holds outside the Hub at the start
ACTORS = ("requester", "sponsor", "pool_owner", "worker", "worker2")
WORKERS = ("worker", "worker2")
SCHEDULER_REWARD_RATIO = 1  # a new workerpool's policy
UINT256_MAX = 2**256 - 1
# Outcomes within this many seconds of a deadline depend on when the next block is mined: the
# machine does not try them.
DEADLINE_MARGIN = 10

ACTIVE, REVEALING, COMPLETED, FAILED = 1, 2, 3, 4
CONTRIBUTED, PROVED = 1, 2

MACHINE_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=40,
    deadline=None,
    database=None,
)


@pytest.fixture(scope="module")
def market(anvil, w3, hub_deployment, dev_accounts):
    with open_market(w3, hub_deployment, dev_accounts) as opened:
        yield opened


@dataclasses.dataclass
class DealModel:
    dealid: bytes
    volume: int
    payer: str
    app_price: int
    dataset_price: int
    workerpool_price: int
    worker_stake: int
    trust: int
    start: int

    @property
    def price(self) -> int:
        return self.app_price + self.dataset_price + self.workerpool_price

    @property
    def contribution_deadline(self) -> int:
        return self.start + 7 * TIME_REF

    @property
    def final_deadline(self) -> int:
        return self.start + 10 * TIME_REF


@dataclasses.dataclass
class ContributionModel:
    digest: bytes
    result_hash: bytes
    weight_log: int
    status: int = CONTRIBUTED


@dataclasses.dataclass
class TaskModel:
    taskid: bytes
    deal: DealModel
    status: int = ACTIVE
    contributions: dict[str, ContributionModel] = dataclasses.field(default_factory=dict)
    groups: dict[bytes, list[int]] = dataclasses.field(default_factory=dict)  # [weight, members]
    total_weight: int = 1
    consensus: bytes = b""
    reveal_deadline: int = 0
    winners: int = 0
    reveals: int = 0
    revealed_digest: bytes = b""


class EscrowMachine(RuleBasedStateMachine):
    """Set `market` and `worker2` on a subclass before running."""

    market = None
    worker2 = None

    def __init__(self) -> None:
        super().__init__()
        market = self.market
        self.w3 = market.w3
        self.snapshot = client.rpc("evm_snapshot", w3=self.w3)
        self.actors = {**market.accounts, "worker2": self.worker2}
        addresses = sorted({account.address for account in self.actors.values()})
        count = len(addresses)
        values = market.read(
            [
                *[(market.hub, "viewAccount", [address]) for address in addresses],
                *[(market.token, "balanceOf", [address]) for address in addresses],
                *[(market.token, "allowance", [a, market.hub.address]) for a in addresses],
                *[(market.hub, "viewScore", [address]) for address in addresses],
                (market.hub, "viewKitty", []),
            ]
        )
        self.escrows = {a: list(e) for a, e in zip(addresses, values[:count], strict=True)}
        self.touched = {address for address, escrow in self.escrows.items() if any(escrow)}
        self.wallets = dict(zip(addresses, values[count : 2 * count], strict=True))
        self.allowances = dict(zip(addresses, values[2 * count : 3 * count], strict=True))
        self.scores = dict(zip(addresses, values[3 * count : 4 * count], strict=True))
        self.kitty = values[-1]
        self.deals: list[DealModel] = []
        self.tasks: dict[bytes, TaskModel] = {}

    def teardown(self) -> None:
        client.rpc("evm_revert", [self.snapshot], w3=self.w3)

    # ------------------------------------------------------------------------ helpers

    def _call(self, account, data, *, to=None, error=None):
        """Send; with `error` = (name, arguments) the call must be refused with exactly it."""
        if error is None:
            return self.market.send(account, data, to=to)
        try:
            self.market.send(account, data, to=to)
        except ChainRevert as refusal:
            assert (refusal.name, refusal.arguments) == error
            return None
        raise AssertionError(f"expected {error[0]}, but the transaction succeeded")

    def _now(self) -> int:
        """The timestamp of the next block, pinned: anvil would otherwise stamp it with the
        wall clock, which moves on while the test computes (by more than DEADLINE_MARGIN on a
        busy machine), and the model's prediction of a deadline check would be wrong."""
        now = self.w3.eth.get_block("latest")["timestamp"] + 1
        client.rpc("evm_setNextBlockTimestamp", [now], w3=self.w3)
        return now

    def _block_time(self, receipt) -> int:
        return self.w3.eth.get_block(receipt["blockNumber"])["timestamp"]

    def _near(self, now: int, deadline: int) -> bool:
        return deadline - DEADLINE_MARGIN <= now < deadline

    def _credit(self, address: str, stake: int = 0, locked: int = 0) -> None:
        escrow = self.escrows.setdefault(address, [0, 0])
        escrow[0] += stake
        escrow[1] += locked
        self.touched.add(address)

    def _lock_error(self, address: str, amount: int):
        stake = self.escrows[address][0]
        if amount and stake < amount:
            return ("InsufficientStake", {"account": address, "stake": stake, "needed": amount})
        return None

    @staticmethod
    def _pick(data, preferred: list, everything: list):
        """Mostly one of `preferred` (where the call can succeed), else any of `everything`."""
        if preferred and data.draw(st.integers(0, 3)):
            return data.draw(st.sampled_from(preferred))
        return data.draw(st.sampled_from(everything))

    @staticmethod
    def _amount(data, available: int) -> int:
        return data.draw(
            st.one_of(
                st.integers(0, min(available, 30 * ECT)),
                st.just(available),
                st.integers(available + 1, available + 5 * ECT),
            )
        )

    def _transfer_error(self, address: str, amount: int, allowance: int):
        hub = self.market.hub.address
        if allowance < amount:
            return (
                "ERC20InsufficientAllowance",
                {"spender": hub, "allowance": allowance, "needed": amount},
            )
        if self.wallets[address] < amount:
            return (
                "ERC20InsufficientBalance",
                {"sender": address, "balance": self.wallets[address], "needed": amount},
            )
        return None

    def _take_from_wallet(self, address: str, amount: int, allowance: int) -> None:
        self.wallets[address] -= amount
        if allowance != UINT256_MAX:
            self.allowances[address] = allowance - amount

    def _permit(self, account, amount: int) -> tuple[int, int, bytes, bytes]:
        token = self.market.token
        deadline = self._now() + 3600
        name, nonce = self.market.read([(token, "name", []), (token, "nonces", [account.address])])
        message = {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Permit": [
                    {"name": "owner", "type": "address"},
                    {"name": "spender", "type": "address"},
                    {"name": "value", "type": "uint256"},
                    {"name": "nonce", "type": "uint256"},
                    {"name": "deadline", "type": "uint256"},
                ],
            },
            "primaryType": "Permit",
            "domain": {
                "name": name,
                "version": "1",
                "chainId": self.w3.eth.chain_id,
                "verifyingContract": token.address,
            },
            "message": {
                "owner": account.address,
                "spender": self.market.hub.address,
                "value": amount,
                "nonce": nonce,
                "deadline": deadline,
            },
        }
        signed = Account.sign_message(encode_typed_data(full_message=message), account.key)
        return deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    # ------------------------------------------------------------------------ deposits

    @rule(
        data=st.data(),
        how=st.sampled_from(["deposit", "depositFor", "depositWithPermit", "approve"]),
    )
    def deposit(self, data, how) -> None:
        account = self.actors[data.draw(st.sampled_from(ACTORS))]
        address = account.address
        hub = self.market.hub
        if how == "approve":  # allowances decide which plain deposits go through
            amount = data.draw(st.one_of(st.just(UINT256_MAX), st.integers(0, 100 * ECT)))
            token = self.market.token
            call = self.market.encode(token, "approve", [hub.address, amount])
            self._call(account, call, to=token.address)
            self.allowances[address] = amount
            return
        amount = self._amount(data, self.wallets[address])
        target = address
        if how == "deposit":
            call = self.market.encode(hub, "deposit", [amount])
            allowance = self.allowances[address]
        elif how == "depositFor":
            target = self.actors[data.draw(st.sampled_from(sorted(self.actors)))].address
            call = self.market.encode(hub, "depositFor", [amount, target])
            allowance = self.allowances[address]
        else:
            deadline, v, r, s = self._permit(account, amount)
            call = self.market.encode(hub, "depositWithPermit", [amount, deadline, v, r, s])
            allowance = amount  # the permit sets it, in the same transaction

        error = self._transfer_error(address, amount, allowance)
        self._call(account, call, error=error)
        if error is None:
            self._take_from_wallet(address, amount, allowance)
            self._credit(target, stake=amount)

    @rule(data=st.data())
    def withdraw(self, data) -> None:
        account = self.actors[data.draw(st.sampled_from(ACTORS))]
        address = account.address
        stake = self.escrows[address][0]
        amount = self._amount(data, stake)
        error = None
        if amount > stake:
            error = ("InsufficientStake", {"account": address, "stake": stake, "needed": amount})

        self._call(account, self.market.encode(self.market.hub, "withdraw", [amount]), error=error)
        if error is None:
            self._credit(address, stake=-amount)
            self.wallets[address] += amount

    # ------------------------------------------------------------------------ deals

    @rule(
        sponsored=st.booleans(),
        with_dataset=st.booleans(),
        volume=st.integers(1, 3),
        trust=st.sampled_from([0, 1, 3]),
        prices=st.tuples(*[st.integers(0, 4 * ECT)] * 3),
    )
    def match(self, sponsored, with_dataset, volume, trust, prices) -> None:
        market = self.market
        app_price, dataset_price, workerpool_price = prices
        if not with_dataset:
            dataset_price = 0
        orders = market.orders(
            with_dataset=with_dataset,
            volume=volume,
            trust=trust,
            appmaxprice=app_price,
            datasetmaxprice=dataset_price,
            workerpoolmaxprice=workerpool_price,
        )
        orders = orders.replace(
            app=market.app_order(appprice=app_price),
            dataset=market.dataset_order(datasetprice=dataset_price)
            if with_dataset
            else NO_DATASET,
            workerpool=market.workerpool_order(workerpoolprice=workerpool_price, trust=3),
        )
        payer = market.sponsor if sponsored else market.requester
        worker_stake = workerpool_price * WORKER_STAKE_RATIO // 100
        price = app_price + dataset_price + workerpool_price
        pool_owner = market.pool_owner.address
        error = self._lock_error(payer.address, price * volume)
        if error is None:
            error = self._lock_error(pool_owner, worker_stake * volume)

        receipt = self._call(payer, market.match_calldata(orders, sponsored=sponsored), error=error)
        if error is not None:
            return
        self._credit(payer.address, stake=-price * volume, locked=price * volume)
        self._credit(pool_owner, stake=-worker_stake * volume, locked=worker_stake * volume)
        self.deals.append(
            DealModel(
                dealid=deal_id(market.digest(orders.request), 0),
                volume=volume,
                payer=payer.address,
                app_price=app_price,
                dataset_price=dataset_price,
                workerpool_price=workerpool_price,
                worker_stake=worker_stake,
                trust=max(trust, 1),
                start=self._block_time(receipt),
            )
        )

    @precondition(lambda self: self.deals)
    @rule(data=st.data())
    def initialize_task(self, data) -> None:
        fresh = [
            (deal, index)
            for deal in self.deals
            for index in range(deal.volume)
            if task_id(deal.dealid, index) not in self.tasks
        ]
        everything = [(deal, index) for deal in self.deals for index in range(deal.volume)]
        self._initialize(*self._pick(data, fresh, everything))

    def _initialize(self, deal: DealModel, index: int) -> None:
        taskid = task_id(deal.dealid, index)
        error = None
        if taskid in self.tasks:
            error = ("WrongTaskStatus", {"taskid": taskid, "status": self.tasks[taskid].status})

        call = self.market.encode(self.market.hub, "initialize", [deal.dealid, index])
        self._call(self.market.stranger, call, error=error)
        if error is None:
            self.tasks[taskid] = TaskModel(taskid=taskid, deal=deal)

    # ------------------------------------------------------------------------ tasks

    @precondition(lambda self: self.tasks)
    @rule(data=st.data(), worker=st.sampled_from(WORKERS), honest=st.booleans())
    def contribute(self, data, worker, honest) -> None:
        tasks = list(self.tasks.values())
        task = self._pick(data, [task for task in tasks if task.status == ACTIVE], tasks)
        self._contribute(task, self.actors[worker], honest)

    def _contribute(self, task: TaskModel, account, honest: bool) -> None:
        taskid, deal = task.taskid, task.deal
        digest = keccak(b"result" + taskid) if honest else keccak(account.address.encode() + taskid)
        result_hash = keccak(taskid + digest)
        seal = keccak(bytes.fromhex(account.address[2:]) + taskid + digest)
        now = self._now()
        if task.status == ACTIVE and self._near(now, deal.contribution_deadline):
            return
        if task.status != ACTIVE:
            error = ("WrongTaskStatus", {"taskid": taskid, "status": task.status})
        elif now >= deal.contribution_deadline:
            error = ("DeadlineReached", {"taskid": taskid, "deadline": deal.contribution_deadline})
        elif account.address in task.contributions:
            error = ("AlreadyContributed", {"taskid": taskid, "worker": account.address})
        else:
            error = self._lock_error(account.address, deal.worker_stake)

        authorization = worker_authorization(self.market.pool_owner, account.address, taskid)
        call = self.market.encode(
            self.market.hub, "contribute", [taskid, result_hash, seal, authorization]
        )
        receipt = self._call(account, call, error=error)
        if error is None:
            self._credit(account.address, stake=-deal.worker_stake, locked=deal.worker_stake)
            self._contributed(task, account.address, digest, result_hash, receipt)

    def _contributed(self, task, worker, digest, result_hash, receipt) -> None:
        """The Hub's consensus bookkeeping of a contribution (PoCo v5 weights)."""
        weight = max(self.scores[worker] // 3, 3) - 1
        group = task.groups.get(result_hash, [0, 0])
        group_weight = max(group[0], 1) * weight
        task.total_weight += group_weight - group[0]
        task.groups[result_hash] = [group_weight, group[1] + 1]
        task.contributions[worker] = ContributionModel(
            digest=digest, result_hash=result_hash, weight_log=weight.bit_length() - 1
        )
        trust = task.deal.trust
        if group_weight * trust > task.total_weight * (trust - 1):
            task.status = REVEALING
            task.consensus = result_hash
            task.winners = group[1] + 1
            task.reveal_deadline = self._block_time(receipt) + 2 * TIME_REF

    @precondition(lambda self: any(task.contributions for task in self.tasks.values()))
    @rule(data=st.data())
    def reveal(self, data) -> None:
        candidates = [task for task in self.tasks.values() if task.contributions]
        revealing = [task for task in candidates if task.status == REVEALING]
        task = self._pick(data, revealing, candidates)
        winners = self._pending_winners(task)
        self._reveal(task, self._pick(data, winners, sorted(task.contributions)))

    @staticmethod
    def _pending_winners(task: TaskModel) -> list[str]:
        return [
            worker
            for worker, contribution in task.contributions.items()
            if contribution.result_hash == task.consensus and contribution.status == CONTRIBUTED
        ]

    def _reveal(self, task: TaskModel, worker: str) -> None:
        contribution = task.contributions[worker]
        taskid = task.taskid
        revealed_hash = keccak(taskid + contribution.digest)
        now = self._now()
        if task.status == REVEALING and self._near(now, task.reveal_deadline):
            return
        if task.status != REVEALING:
            error = ("WrongTaskStatus", {"taskid": taskid, "status": task.status})
        elif now >= task.reveal_deadline:
            error = ("DeadlineReached", {"taskid": taskid, "deadline": task.reveal_deadline})
        elif contribution.status != CONTRIBUTED:
            error = (
                "WrongContributionStatus",
                {"taskid": taskid, "worker": worker, "status": contribution.status},
            )
        elif task.reveals == 0 and revealed_hash != task.consensus:
            error = (
                "RevealMismatch",
                {"taskid": taskid, "expected": task.consensus, "actual": revealed_hash},
            )
        elif task.reveals and contribution.digest != task.revealed_digest:
            expected = keccak(taskid + task.revealed_digest)
            error = (
                "RevealMismatch",
                {"taskid": taskid, "expected": expected, "actual": revealed_hash},
            )
        else:
            error = None

        call = self.market.encode(self.market.hub, "reveal", [taskid, contribution.digest])
        self._call(self._account(worker), call, error=error)
        if error is None:
            contribution.status = PROVED
            task.reveals += 1
            task.revealed_digest = contribution.digest

    def _account(self, address: str):
        return next(account for account in self.actors.values() if account.address == address)

    @precondition(lambda self: self.tasks)
    @rule(data=st.data())
    def finalize(self, data) -> None:
        tasks = list(self.tasks.values())
        self._finalize(
            self._pick(data, [task for task in tasks if task.status == REVEALING], tasks)
        )

    def _finalize(self, task: TaskModel) -> None:
        taskid, deal = task.taskid, task.deal
        now = self._now()
        if task.status == REVEALING and (
            self._near(now, deal.final_deadline) or self._near(now, task.reveal_deadline)
        ):
            return
        if task.status != REVEALING:
            error = ("WrongTaskStatus", {"taskid": taskid, "status": task.status})
        elif now >= deal.final_deadline:
            error = ("DeadlineReached", {"taskid": taskid, "deadline": deal.final_deadline})
        elif task.reveals != task.winners and (task.reveals == 0 or now < task.reveal_deadline):
            error = (
                "RevealsPending",
                {
                    "taskid": taskid,
                    "revealCounter": task.reveals,
                    "winnerCounter": task.winners,
                    "revealDeadline": task.reveal_deadline,
                },
            )
        else:
            error = None

        call = self.market.encode(self.market.hub, "finalize", [taskid, b"http://127.0.0.1/result"])
        self._call(self.market.pool_owner, call, error=error)
        if error is None:
            self._finalized(task)

    def _finalized(self, task: TaskModel) -> None:
        """PoCo v5 rewards: the payer pays the owners and the workers; losers' stakes go to
        the winners; the scheduler keeps its ratio and the rounding dust."""
        deal, market = task.deal, self.market
        task.status = COMPLETED
        self._credit(deal.payer, locked=-deal.price)
        self._credit(market.app_owner.address, stake=deal.app_price)
        if deal.dataset_price:
            self._credit(market.dataset_owner.address, stake=deal.dataset_price)
        remaining = deal.workerpool_price
        total_log_weight = 0
        for contribution in task.contributions.values():
            if contribution.status == PROVED:
                total_log_weight += contribution.weight_log
            else:
                remaining += deal.worker_stake
        workers_reward = remaining * (100 - SCHEDULER_REWARD_RATIO) // 100
        replicated = len(task.contributions) > 1
        for worker, contribution in task.contributions.items():
            if contribution.status == PROVED:
                share = workers_reward * contribution.weight_log // total_log_weight
                remaining -= share
                self._credit(worker, stake=deal.worker_stake + share, locked=-deal.worker_stake)
                if replicated:
                    self.scores[worker] += 1
            else:
                self._credit(worker, locked=-deal.worker_stake)
                self.scores[worker] = self.scores[worker] * 2 // 3
        self._credit(
            market.pool_owner.address,
            stake=deal.worker_stake + remaining,
            locked=-deal.worker_stake,
        )

    @precondition(lambda self: self.tasks)
    # Waiting for the final deadline ends every older deal too: only now and then.
    @rule(data=st.data(), wait_for_it=st.integers(0, 3).map(lambda n: n == 3))
    def claim(self, data, wait_for_it) -> None:
        tasks = list(self.tasks.values())
        unfinished = [task for task in tasks if task.status in (ACTIVE, REVEALING)]
        self._claim(self._pick(data, unfinished, tasks), wait_for_it)

    def _claim(self, task: TaskModel, wait_for_it: bool) -> None:
        taskid, deal = task.taskid, task.deal
        now = self._now()
        if wait_for_it and now < deal.final_deadline:
            self._advance(deal.final_deadline - now)
            now = self._now()
        if task.status in (ACTIVE, REVEALING) and self._near(now, deal.final_deadline):
            return
        if task.status not in (ACTIVE, REVEALING):
            error = ("WrongTaskStatus", {"taskid": taskid, "status": task.status})
        elif now < deal.final_deadline:
            error = ("DeadlineNotReached", {"taskid": taskid, "deadline": deal.final_deadline})
        else:
            error = None

        call = self.market.encode(self.market.hub, "claim", [taskid])
        self._call(self.market.stranger, call, error=error)
        if error is None:
            self._failed(task)

    def _failed(self, task: TaskModel) -> None:
        """claim's and giveUp's effect: the payer refunded, the pool stake to the kitty, the
        contributors' stakes unlocked."""
        deal = task.deal
        task.status = FAILED
        self._credit(deal.payer, stake=deal.price, locked=-deal.price)
        if deal.worker_stake:
            self._credit(self.market.pool_owner.address, locked=-deal.worker_stake)
            self.kitty += deal.worker_stake
            for worker in task.contributions:
                self._credit(worker, stake=deal.worker_stake, locked=-deal.worker_stake)

    @precondition(lambda self: self.tasks)
    @rule(data=st.data(), by_the_pool=st.integers(0, 3).map(lambda n: n != 0))
    def give_up(self, data, by_the_pool) -> None:
        tasks = list(self.tasks.values())
        task = self._pick(data, [task for task in tasks if task.status == ACTIVE], tasks)
        taskid, deal = task.taskid, task.deal
        now = self._now()
        if task.status == ACTIVE and self._near(now, deal.final_deadline):
            return
        pool_owner = self.market.pool_owner
        caller = pool_owner if by_the_pool else self.market.stranger
        if not by_the_pool:
            error = (
                "NotScheduler",
                {"taskid": taskid, "caller": caller.address, "scheduler": pool_owner.address},
            )
        elif task.status in (REVEALING, COMPLETED):
            error = ("GiveUpAfterConsensus", {"taskid": taskid, "status": task.status})
        elif task.status != ACTIVE:
            error = ("WrongTaskStatus", {"taskid": taskid, "status": task.status})
        elif now >= deal.final_deadline:
            error = (
                "GiveUpPastFinalDeadline",
                {"taskid": taskid, "finalDeadline": deal.final_deadline},
            )
        else:
            error = None

        self._call(caller, self.market.encode(self.market.hub, "giveUp", [taskid]), error=error)
        if error is None:
            self._failed(task)

    @precondition(lambda self: self.deals)
    @rule(data=st.data())
    def drive_a_task(self, data) -> None:
        """The next step of some task's life (initialize, contribute, mostly honestly, reveal,
        finalize), so that examples reach the end of tasks whichever rules they draw."""
        steps = [
            (self._initialize, deal, index)
            for deal in self.deals
            for index in range(deal.volume)
            if task_id(deal.dealid, index) not in self.tasks
        ]
        for task in self.tasks.values():
            if task.status == ACTIVE:
                honest = data.draw(st.integers(0, 3)) != 0
                steps += [
                    (self._contribute, task, self.actors[worker], honest)
                    for worker in WORKERS
                    if self.actors[worker].address not in task.contributions
                ]
            elif task.status == REVEALING:
                steps += [(self._reveal, task, worker) for worker in self._pending_winners(task)]
                if task.reveals:
                    steps.append((self._finalize, task))
        if steps:
            step, *arguments = data.draw(st.sampled_from(steps))
            step(*arguments)

    # Past a reveal deadline, not past a contribution deadline (claim's wait goes further).
    @rule(seconds=st.sampled_from([60, 2 * TIME_REF + 1]))
    def let_time_pass(self, seconds) -> None:
        self._advance(seconds)

    def _advance(self, seconds: int) -> None:
        latest = self.w3.eth.get_block("latest")["timestamp"]
        client.rpc("evm_setNextBlockTimestamp", [latest + seconds], w3=self.w3)
        client.rpc("evm_mine", w3=self.w3)

    # ------------------------------------------------------------------------ invariants

    @invariant()
    def hub_holds_every_stake_every_locked_amount_and_the_kitty(self) -> None:
        market = self.market
        escrows, wallets = list(self.escrows), list(self.wallets)
        workers = [self.actors[worker].address for worker in WORKERS]
        values = market.read(
            [
                (market.token, "balanceOf", [market.hub.address]),
                (market.hub, "viewKitty", []),
                *[(market.hub, "viewAccount", [address]) for address in escrows],
                *[(market.token, "balanceOf", [address]) for address in wallets],
                *[(market.hub, "viewScore", [address]) for address in workers],
            ]
        )
        held, kitty, values = values[0], values[1], values[2:]
        on_chain = dict(zip(escrows, map(list, values[: len(escrows)]), strict=True))
        values = values[len(escrows) :]

        assert on_chain == self.escrows
        assert kitty == self.kitty
        assert all(stake >= 0 and locked >= 0 for stake, locked in self.escrows.values())
        assert held == sum(sum(self.escrows[address]) for address in self.touched) + self.kitty
        assert all(not any(self.escrows[a]) for a in set(self.escrows) - self.touched)
        assert dict(zip(wallets, values[: len(wallets)], strict=True)) == self.wallets
        assert values[len(wallets) :] == [self.scores[address] for address in workers]


def test_escrow_is_conserved_through_random_hub_calls(chain, market, dev_accounts):
    worker2 = dev_accounts[8]
    market.deposit_for(worker2.address, 100 * ECT)
    token = market.token
    for role in ACTORS:
        account = worker2 if role == "worker2" else market.accounts[role]
        market.send(
            market.hub_owner,
            token.encode_abi("transfer", args=[account.address, WALLET]),
            to=token.address,
        )
        market.send(
            account,
            token.encode_abi("approve", args=[market.hub.address, UINT256_MAX]),
            to=token.address,
        )

    machine = type("Machine", (EscrowMachine,), {"market": market, "worker2": worker2})

    run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
