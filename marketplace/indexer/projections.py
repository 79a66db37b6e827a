"""What each event changes in the chain projections (deals, tasks, escrow, assets, workers).

`project(events, changes)` applies events of one stretch of blocks, in chain order, to the rows
`changes` holds; the caller flushes. Handlers are plain functions of (event, changes, context):
they trust the Hub (its events are the truth) but never the order of events within a
transaction beyond what the contracts guarantee, and skip what refers to rows they do not know
(a PolicyUpdate of a pool before its registration event, a Transfer of an asset that is not
ours), since every such fact arrives again in the event that matters.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from marketplace.chain.events import DecodedEvent, checksum
from marketplace.chain.ids import Market
from marketplace.indexer.changes import Changes
from marketplace.indexer.models import (
    Asset,
    Category,
    Contribution,
    ContributionStatus,
    Deal,
    EscrowAccount,
    OrderFill,
    OrderKind,
    Task,
    TaskStatus,
    Worker,
    WorkerBond,
)

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_HASH = "0x" + "00" * 32
# A bond's escrow moves name its pool as their ref: the address in the low 20 bytes.
BOND_REF_PREFIX = "0x" + "00" * 12
_ORDER_KINDS = {
    0: OrderKind.APP,
    1: OrderKind.DATASET,
    2: OrderKind.WORKERPOOL,
    3: OrderKind.REQUEST,
}


def _time(seconds: int | None) -> datetime.datetime | None:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


BIG = 2**63 - 1  # the largest value a BigIntegerField holds
SMALL = 2**31 - 1  # an IntegerField's


def _big(value: int) -> int:
    """uint values nobody meets in practice (a volume of 2^96, free orders allow it) are
    stored as the largest a column holds, rather than failing the batch."""
    return min(value, BIG)


def _small(value: int) -> int:
    return min(value, SMALL)


def _optional_small(value: int | None) -> int | None:
    return None if value is None else _small(value)


def _after(start: datetime.datetime | None, seconds: int) -> datetime.datetime | None:
    try:
        return None if start is None else start + datetime.timedelta(seconds=seconds)
    except OverflowError:  # a reference time no task can reach
        return None


def _address(value: str) -> str:
    return "" if value == ZERO_ADDRESS else value


class Context:
    """What handlers share within one call of `project`: the links they make on the way."""

    def __init__(self, changes: Changes, *, link_listing: Callable[..., Any] | None) -> None:
        self.changes = changes
        self.link_listing = link_listing
        # OrdersMatched and DealCreated of one match, in whichever order they come.
        self.matched: dict[str, dict[str, Any]] = {}
        # Assets whose task record (completed, failed) changed: what their reputation rests on.
        self.rated: set[str] = set()
        # The last Seize of each (account, ref): the events that say why it was seized (a
        # FaultyContribution, a KittyCredit) come right after it in the same transaction.
        self.seizures: dict[tuple[str, str], int] = {}
        self.last_seized: dict[str, str] = {}  # by ref: the account of its latest Seize

    def escrow(self, address: str, block: int) -> EscrowAccount:
        account = self.changes.get(EscrowAccount, address)
        if account is None:
            return self.changes.create(EscrowAccount, address, block_number=block)
        account = self.changes.edit(account)
        account.block_number = block
        return account

    def worker(self, address: str, block: int) -> Worker:
        worker = self.changes.get(Worker, address)
        if worker is None:
            return self.changes.create(Worker, address, block_number=block)
        worker = self.changes.edit(worker)
        worker.block_number = block
        return worker

    def task(self, taskid: str, block: int) -> Task | None:
        task = self.changes.edit(self.changes.get(Task, taskid))
        if task is not None:
            task.block_number = block
        return task

    def deal(self, dealid: str, block: int) -> Deal | None:
        deal = self.changes.edit(self.changes.get(Deal, dealid))
        if deal is not None:
            deal.block_number = block
        return deal

    def asset(self, address: str, block: int) -> Asset | None:
        asset = self.changes.edit(self.changes.get(Asset, address))
        if asset is not None:
            asset.block_number = block
        return asset

    def order(self, digest: str, kind: OrderKind, block: int) -> OrderFill:
        fill = self.changes.get(OrderFill, digest)
        if fill is None:
            return self.changes.create(OrderFill, digest, kind=kind, block_number=block)
        fill = self.changes.edit(fill)
        fill.block_number = block
        return fill


# ---------------------------------------------------------------------- escrow


def _deposit(e: DecodedEvent, c: Context) -> None:
    c.escrow(e.args["account"], e.block_number).stake += e.args["amount"]


def _withdraw(e: DecodedEvent, c: Context) -> None:
    c.escrow(e.args["account"], e.block_number).stake -= e.args["amount"]


def _lock(e: DecodedEvent, c: Context) -> None:
    account = c.escrow(e.args["account"], e.block_number)
    account.stake -= e.args["amount"]
    account.locked += e.args["amount"]


def _unlock(e: DecodedEvent, c: Context) -> None:
    account = c.escrow(e.args["account"], e.block_number)
    account.locked -= e.args["amount"]
    account.stake += e.args["amount"]


def _reward(e: DecodedEvent, c: Context) -> None:
    c.escrow(e.args["account"], e.block_number).stake += e.args["amount"]


def _seize(e: DecodedEvent, c: Context) -> None:
    c.escrow(e.args["account"], e.block_number).locked -= e.args["amount"]
    c.seizures[(e.args["account"], e.args["ref"])] = e.args["amount"]
    c.last_seized[e.args["ref"]] = e.args["account"]


def _kitty_credit(e: DecodedEvent, c: Context) -> None:
    """A seizure into the kitty: a failed task's pool stake (ref: the task), or part of a
    worker's bond (ref: the pool's address; the worker is the Seize just before)."""
    ref, amount = e.args["ref"], e.args["amount"]
    task = c.task(ref, e.block_number)
    if task is not None:
        task.pool_stake_seized += amount
        return
    if not ref.startswith(BOND_REF_PREFIX):
        return
    workerpool = _checksum(ref[-40:])
    worker = c.last_seized.get(ref)
    bond = c.changes.get(WorkerBond, WorkerBond.key_of(workerpool, worker)) if worker else None
    if bond is not None:
        c.changes.edit(bond)
        bond.seized += amount
        bond.block_number = e.block_number


def _worker_bond(e: DecodedEvent, c: Context) -> None:
    """Every change of a bond says the whole bond: the row takes it as it is."""
    args = e.args
    key = WorkerBond.key_of(args["workerpool"], args["worker"])
    unbond_at = _time(args["unbondAt"]) if args["unbondAt"] else None
    bond = c.changes.get(WorkerBond, key)
    if bond is None:
        c.changes.create(
            WorkerBond,
            key,
            workerpool=args["workerpool"],
            worker=args["worker"],
            amount=args["amount"],
            unbond_at=unbond_at,
            block_number=e.block_number,
        )
        return
    bond = c.changes.edit(bond)
    bond.amount = args["amount"]
    bond.unbond_at = unbond_at
    bond.block_number = e.block_number


# ---------------------------------------------------------------------- categories and orders


def _create_category(e: DecodedEvent, c: Context) -> None:
    fields = {
        "name": e.args["name"][:100],
        "description": e.args["description"],
        "time_ref": _big(e.args["workClockTimeRef"]),
        "block_number": e.block_number,
    }
    catid = _small(e.args["catid"])
    category = c.changes.get(Category, catid)
    if category is None:
        c.changes.create(Category, catid, **fields)
    else:
        c.changes.edit(category)
        for name, value in fields.items():
            setattr(category, name, value)


def _order_presigned(e: DecodedEvent, c: Context) -> None:
    kind = _ORDER_KINDS.get(e.args["order"])
    if kind is not None:
        c.order(e.args["digest"], kind, e.block_number).presigned_by = e.args["signer"]


def _closed(kind: OrderKind, argument: str) -> Callable[[DecodedEvent, Context], None]:
    def handler(e: DecodedEvent, c: Context) -> None:
        c.order(e.args[argument], kind, e.block_number).closed = True

    return handler


def _orders_matched(e: DecodedEvent, c: Context) -> None:
    args = e.args
    for kind, argument in (
        (OrderKind.APP, "appHash"),
        (OrderKind.DATASET, "datasetHash"),
        (OrderKind.WORKERPOOL, "workerpoolHash"),
        (OrderKind.REQUEST, "requestHash"),
    ):
        if args[argument] != ZERO_HASH:
            fill = c.order(args[argument], kind, e.block_number)
            fill.consumed = _big(fill.consumed + args["volume"])
            fill.deals += 1
    digests = {
        "app_order": args["appHash"],
        "dataset_order": "" if args["datasetHash"] == ZERO_HASH else args["datasetHash"],
        "workerpool_order": args["workerpoolHash"],
        "request_order": args["requestHash"],
    }
    deal = c.deal(args["dealid"], e.block_number)
    if deal is None:  # DealCreated comes later in the transaction
        c.matched[args["dealid"]] = digests
    else:
        for name, value in digests.items():
            setattr(deal, name, value)


# ---------------------------------------------------------------------- deals and tasks


def _deal_created(e: DecodedEvent, c: Context) -> None:
    info = e.args["deal"]
    dealid = e.args["dealid"]
    if c.changes.get(Deal, dealid) is not None:
        return  # a dealid is born once
    deal = c.changes.create(
        Deal,
        dealid,
        block_number=e.block_number,
        tx_hash=e.tx_hash,
        app=info["app"],
        dataset=_address(info["dataset"]),
        workerpool=info["workerpool"],
        requester=info["requester"],
        beneficiary=info["beneficiary"],
        callback=_address(info["callback"]),
        payer=info["payer"],
        app_owner=info["appOwner"],
        dataset_owner=_address(info["datasetOwner"]),
        workerpool_owner=info["workerpoolOwner"],
        app_price=info["appPrice"],
        dataset_price=info["datasetPrice"],
        workerpool_price=info["workerpoolPrice"],
        bot_first=_big(info["botFirst"]),
        volume=_big(info["volume"]),
        category=_small(info["category"]),
        trust=_big(info["trust"]),
        tag=info["tag"],
        worker_stake=info["workerStake"],
        scheduler_reward_ratio=_small(info["schedulerRewardRatio"]),
        start_time=_time(info["startTime"]),
        time_ref=_big(info["workClockTimeRef"]),
        params=info["params"],
        **c.matched.pop(dealid, {}),
    )
    for address in (deal.app, deal.dataset, deal.workerpool):
        asset = c.asset(address, e.block_number) if address else None
        if asset is not None:
            asset.deals += 1
            asset.volume_sold = _big(asset.volume_sold + deal.volume)


def _task_initialize(e: DecodedEvent, c: Context) -> None:
    taskid = e.args["taskid"]
    if c.changes.get(Task, taskid) is not None:
        return
    c.changes.create(
        Task,
        taskid,
        block_number=e.block_number,
        workerpool=e.args["workerpool"],
        status=TaskStatus.ACTIVE,
        initialized_at=_time(e.block_time),
    )


def _task_created(e: DecodedEvent, c: Context) -> None:
    task = c.task(e.args["taskid"], e.block_number)
    if task is None:
        return
    task.dealid = e.args["dealid"]
    task.idx = _big(e.args["idx"])
    deal = c.changes.get(Deal, task.dealid)
    if deal is not None:
        task.contribution_deadline = _after(deal.start_time, 7 * deal.time_ref)
        task.final_deadline = _after(deal.start_time, 10 * deal.time_ref)


def _task_contribute(e: DecodedEvent, c: Context) -> None:
    taskid, worker = e.args["taskid"], e.args["worker"]
    key = f"{taskid}:{worker}"
    if c.changes.get(Contribution, key) is None:
        c.changes.create(
            Contribution,
            key,
            block_number=e.block_number,
            taskid=taskid,
            worker=worker,
            result_hash=e.args["hash"],
            status=ContributionStatus.CONTRIBUTED,
            contributed_at=_time(e.block_time),
        )
    task = c.task(taskid, e.block_number)
    if task is not None:
        task.contributions += 1
    c.worker(worker, e.block_number).contributions += 1


def _task_consensus(e: DecodedEvent, c: Context) -> None:
    task = c.task(e.args["taskid"], e.block_number)
    if task is None:
        return
    task.status = TaskStatus.REVEALING
    task.consensus = e.args["consensus"]
    deal = c.changes.get(Deal, task.dealid)
    if deal is not None and e.block_time is not None:
        task.reveal_deadline = _after(_time(e.block_time), 2 * deal.time_ref)


def _contribution(c: Context, taskid: str, worker: str, block: int) -> Contribution | None:
    contribution = c.changes.edit(c.changes.get(Contribution, f"{taskid}:{worker}"))
    if contribution is not None:
        contribution.block_number = block
    return contribution


def _task_reveal(e: DecodedEvent, c: Context) -> None:
    contribution = _contribution(c, e.args["taskid"], e.args["worker"], e.block_number)
    if contribution is not None:
        contribution.status = ContributionStatus.REVEALED
        contribution.digest = e.args["digest"]
    task = c.task(e.args["taskid"], e.block_number)
    if task is not None:
        task.reveals += 1
        task.result_digest = e.args["digest"]


def _task_reopen(e: DecodedEvent, c: Context) -> None:
    task = c.task(e.args["taskid"], e.block_number)
    if task is None:
        return
    for contribution in c.changes.load_where(Contribution, taskid=task.taskid):
        if contribution.taskid != task.taskid:
            continue
        if (
            contribution.result_hash == task.consensus
            and contribution.status == ContributionStatus.CONTRIBUTED
        ):
            c.changes.edit(contribution)
            contribution.status = ContributionStatus.REJECTED
            contribution.block_number = e.block_number
    task.status = TaskStatus.ACTIVE
    task.consensus = ""
    task.reveal_deadline = None
    task.reveals = 0
    task.result_digest = ""


def _results_text(raw: str) -> str:
    data = bytes.fromhex(raw[2:])
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return raw
    return text if text.isprintable() else raw


def _finish(e: DecodedEvent, c: Context, *, completed: bool) -> None:
    task = c.task(e.args["taskid"], e.block_number)
    if task is None or task.status in (TaskStatus.COMPLETED, TaskStatus.FAILED):
        return
    task.status = TaskStatus.COMPLETED if completed else TaskStatus.FAILED
    task.finished_at = _time(e.block_time)
    if completed:
        task.results = _results_text(e.args["results"])
    deal = c.deal(task.dealid, e.block_number)
    if deal is None:
        return
    if completed:
        deal.tasks_completed += 1
    else:
        deal.tasks_failed += 1
    earned = (
        (deal.app, deal.app_price),
        (deal.dataset, deal.dataset_price),
        (deal.workerpool, deal.workerpool_price),
    )
    for address, price in earned:
        asset = c.asset(address, e.block_number) if address else None
        if asset is None:
            continue
        if completed:
            asset.tasks_completed += 1
            asset.revenue = Decimal(asset.revenue) + Decimal(price)
        else:
            asset.tasks_failed += 1
        c.rated.add(asset.address)


def _task_finalize(e: DecodedEvent, c: Context) -> None:
    _finish(e, c, completed=True)


def _task_claimed(e: DecodedEvent, c: Context) -> None:
    _finish(e, c, completed=False)


def _task_given_up(e: DecodedEvent, c: Context) -> None:
    """After the TaskClaimed of the same giveUp, which failed the task and counted it."""
    task = c.task(e.args["taskid"], e.block_number)
    if task is not None:
        task.given_up = True


def _outcome(accurate: bool) -> Callable[[DecodedEvent, Context], None]:
    def handler(e: DecodedEvent, c: Context) -> None:
        contribution = _contribution(c, e.args["taskid"], e.args["worker"], e.block_number)
        if contribution is not None:
            contribution.status = (
                ContributionStatus.ACCURATE if accurate else ContributionStatus.FAULTY
            )
        worker = c.worker(e.args["worker"], e.block_number)
        if accurate:
            worker.accurate += 1
            return
        worker.faulty += 1
        # Its stake was seized just before (none when the deal asked no stake).
        seized = c.seizures.pop((e.args["worker"], e.args["taskid"]), 0)
        task = c.task(e.args["taskid"], e.block_number) if seized else None
        if task is not None:
            task.workers_stake_seized += seized

    return handler


def _worker_score(e: DecodedEvent, c: Context) -> None:
    c.worker(e.args["worker"], e.block_number).score = _big(e.args["score"])


# ---------------------------------------------------------------------- assets


def _registered(kind: Market) -> Callable[[DecodedEvent, Context], None]:
    def handler(e: DecodedEvent, c: Context) -> None:
        args = e.args
        address = args.get("app") or args.get("dataset") or args.get("workerpool")
        if c.changes.get(Asset, address) is not None:
            return
        name = args.get("appName") or args.get("datasetName") or args.get("description") or ""
        multiaddr = args.get("appMultiaddr") or args.get("datasetMultiaddr") or "0x"
        asset = c.changes.create(
            Asset,
            address,
            kind=kind,
            owner=args["owner"],
            name=name[:200],
            multiaddr=_results_text(multiaddr) if multiaddr != "0x" else "",
            checksum=args.get("appChecksum") or args.get("datasetChecksum") or "",
            registered_block=e.block_number,
            registered_at=_time(e.block_time),
            worker_stake_ratio=_optional_small(args.get("workerStakeRatio")),
            scheduler_reward_ratio=_optional_small(args.get("schedulerRewardRatio")),
            block_number=e.block_number,
        )
        if c.link_listing is not None:
            c.link_listing(asset, c.changes)

    return handler


def _asset_transfer(e: DecodedEvent, c: Context) -> None:
    if e.args["from"] == ZERO_ADDRESS:
        return  # the mint: its registration event follows with everything
    address = f"{e.args['tokenId']:040x}"
    asset = c.changes.get(Asset, _checksum(address))
    if asset is not None and asset.owner != e.args["to"]:
        c.changes.edit(asset)
        asset.owner = e.args["to"]
        asset.block_number = e.block_number


def _checksum(hex40: str) -> str:
    return checksum(hex40[-40:])


def _policy_update(e: DecodedEvent, c: Context) -> None:
    asset = c.asset(e.address, e.block_number)
    if asset is not None:
        asset.worker_stake_ratio = _small(e.args["newWorkerStakeRatioPolicy"])
        asset.scheduler_reward_ratio = _small(e.args["newSchedulerRewardRatioPolicy"])


HANDLERS: dict[tuple[str, str], Callable[[DecodedEvent, Context], None]] = {
    ("hub", "Deposit"): _deposit,
    ("hub", "Withdraw"): _withdraw,
    ("hub", "Lock"): _lock,
    ("hub", "Unlock"): _unlock,
    ("hub", "Reward"): _reward,
    ("hub", "Seize"): _seize,
    ("hub", "KittyCredit"): _kitty_credit,
    ("hub", "WorkerBond"): _worker_bond,
    ("hub", "CreateCategory"): _create_category,
    ("hub", "OrderPresigned"): _order_presigned,
    ("hub", "ClosedAppOrder"): _closed(OrderKind.APP, "appHash"),
    ("hub", "ClosedDatasetOrder"): _closed(OrderKind.DATASET, "datasetHash"),
    ("hub", "ClosedWorkerpoolOrder"): _closed(OrderKind.WORKERPOOL, "workerpoolHash"),
    ("hub", "ClosedRequestOrder"): _closed(OrderKind.REQUEST, "requestHash"),
    ("hub", "OrdersMatched"): _orders_matched,
    ("hub", "DealCreated"): _deal_created,
    ("hub", "TaskInitialize"): _task_initialize,
    ("hub", "TaskCreated"): _task_created,
    ("hub", "TaskContribute"): _task_contribute,
    ("hub", "TaskConsensus"): _task_consensus,
    ("hub", "TaskReveal"): _task_reveal,
    ("hub", "TaskReopen"): _task_reopen,
    ("hub", "TaskFinalize"): _task_finalize,
    ("hub", "TaskClaimed"): _task_claimed,
    ("hub", "TaskGivenUp"): _task_given_up,
    ("hub", "AccurateContribution"): _outcome(accurate=True),
    ("hub", "FaultyContribution"): _outcome(accurate=False),
    ("hub", "WorkerScore"): _worker_score,
    ("app_registry", "AppRegistered"): _registered(Market.APP),
    ("dataset_registry", "DatasetRegistered"): _registered(Market.DATASET),
    ("workerpool_registry", "WorkerpoolRegistered"): _registered(Market.POOL),
    ("app_registry", "Transfer"): _asset_transfer,
    ("dataset_registry", "Transfer"): _asset_transfer,
    ("workerpool_registry", "Transfer"): _asset_transfer,
    ("workerpool", "PolicyUpdate"): _policy_update,
}


def _prefetch(events: Iterable[DecodedEvent], changes: Changes) -> None:
    """Load in bulk the rows the events will touch (one query per model and thousand keys)."""
    deals: set[str] = set()
    tasks: set[str] = set()
    accounts: set[str] = set()
    workers: set[str] = set()
    contributions: set[str] = set()
    orders: set[str] = set()
    assets: set[str] = set()
    bonds: set[str] = set()
    for e in events:
        args = e.args
        if not args:
            continue
        if "taskid" in args:
            tasks.add(args["taskid"])
            if "worker" in args:
                workers.add(args["worker"])
                contributions.add(f"{args['taskid']}:{args['worker']}")
        if "dealid" in args:
            deals.add(args["dealid"])
        if e.name == "KittyCredit":
            tasks.add(args["ref"])
        if e.name in ("Deposit", "Withdraw", "Lock", "Unlock", "Reward", "Seize"):
            accounts.add(args["account"])
        elif e.name == "WorkerBond":
            bonds.add(WorkerBond.key_of(args["workerpool"], args["worker"]))
        elif e.name == "OrdersMatched":
            orders.update((args["appHash"], args["datasetHash"], args["workerpoolHash"]))
            orders.add(args["requestHash"])
        elif e.name == "DealCreated":
            info = args["deal"]
            assets.update((info["app"], info["dataset"], info["workerpool"]))
        elif e.name == "OrderPresigned":
            orders.add(args["digest"])
        elif e.name.startswith("Closed") and e.name.endswith("Order"):
            orders.update(str(value) for value in args.values())
        elif e.source == "workerpool":
            assets.add(e.address)
    changes.load(Task, tasks)
    deals.update(task.dealid for task in changes._rows[Task].values() if task is not None)
    changes.load(Deal, deals)
    for deal in changes._rows[Deal].values():
        if deal is not None:
            assets.update((deal.app, deal.dataset, deal.workerpool))
    changes.load(EscrowAccount, accounts)
    changes.load(Worker, workers)
    changes.load(WorkerBond, bonds)
    changes.load(Contribution, contributions)
    changes.load(OrderFill, orders - {ZERO_HASH})
    assets.discard(ZERO_ADDRESS)
    assets.discard("")
    changes.load(Asset, assets)


def project(
    events: Iterable[DecodedEvent],
    changes: Changes,
    *,
    link_listing: Callable[[Asset, Changes], None] | None = None,
) -> frozenset[str]:
    """Apply `events` (chain order; undecoded ones are skipped) to the rows of `changes`; the
    addresses of the assets whose task record changed (their reputation with it).
    `link_listing(asset, changes)` is called for each newly registered asset."""
    events = [e for e in events if not e.problem]
    _prefetch(events, changes)
    context = Context(changes, link_listing=link_listing)
    for event in events:
        handler = HANDLERS.get((event.source, event.name))
        if handler is not None:
            handler(event, context)
    return frozenset(context.rated)


# The events that change what the order book decides (marketplace.orders.services): consumed
# volume, closes and presigns, escrow balances, asset owners and pool policies. Task events,
# the bulk of a busy chain, change none of it.
BOOK_EVENTS = frozenset(
    {
        "OrdersMatched",
        "OrderPresigned",
        "ClosedAppOrder",
        "ClosedDatasetOrder",
        "ClosedWorkerpoolOrder",
        "ClosedRequestOrder",
        "Deposit",
        "Withdraw",
        "Lock",
        "Unlock",
        "Reward",
        "Seize",
        "Transfer",
        "PolicyUpdate",
    }
)


def touched_keys(events: list[DecodedEvent]) -> tuple[set[str], set[str]]:
    """The addresses (accounts, assets) and bytes32 values (order digests among them) that the
    book's events among `events` name: what the order book refreshes after they are indexed."""
    addresses: set[str] = set()
    hashes: set[str] = set()
    for event in events:
        if event.problem or event.name not in BOOK_EVENTS:
            continue
        if event.name == "Transfer":  # an asset changing owner; ECT transfers do not matter
            if event.source.endswith("registry"):
                addresses.add(_checksum(f"{event.args['tokenId']:040x}"))
            continue
        for value in event.args.values():
            if isinstance(value, str) and value.startswith("0x"):
                if len(value) == 42:
                    addresses.add(value)
                elif len(value) == 66:
                    hashes.add(value)
        if event.source == "workerpool":
            addresses.add(event.address)
    return addresses, hashes


def touched_deals(events: Iterable[DecodedEvent], changes: Changes) -> set[str]:
    """The deals whose state `events` changed, once projected into `changes` (before its
    flush): those an event names, and those of the tasks an event names."""
    dealids: set[str] = set()
    for event in events:
        args = event.args
        if event.problem or not args:
            continue
        if "dealid" in args:
            dealids.add(args["dealid"])
        elif "taskid" in args:
            task = changes.peek(Task, args["taskid"])
            if task is not None:
                dealids.add(task.dealid)
    return dealids
