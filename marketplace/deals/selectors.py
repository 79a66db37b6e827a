"""Reads of deals and tasks for the API and the deal pages, from the index of settings.CHAIN_ID.

Deals, tasks and contributions are keyed by chain ids (dealid, taskid), not foreign keys: the
selectors here fetch a deal's tasks and their contributions in one query each and hang them on
the rows (`deal.task_rows`, `task.contribution_rows`), so a page costs the same with 1 task or
1,000.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Market
from marketplace.catalogue.selectors import listing_visible_to
from marketplace.chain.errors import ChainError, ChainUnavailable, ContractsNotDeployed
from marketplace.chain.selectors import current_hub
from marketplace.indexer.models import Asset, Category, Contribution, Deal, Task, TaskStatus
from worker.command_line import DATASET_PLACEHOLDER, task_arguments

FINAL_DEADLINE_REFS = 10
_BYTES32 = re.compile(r"0x[0-9a-fA-F]{64}")

# Everyone a deal involves: who pays and receives, the assets, and their owners.
PARTY_FIELDS = (
    "requester",
    "beneficiary",
    "payer",
    "app",
    "dataset",
    "workerpool",
    "app_owner",
    "dataset_owner",
    "workerpool_owner",
)


def bytes32_key(value: str) -> str | None:
    """`value` as the index keys deals and tasks (0x and 64 lower-case hex digits), or None
    when it is not 32 bytes in 0x hex."""
    return value.lower() if _BYTES32.fullmatch(value) else None


@dataclasses.dataclass(frozen=True)
class DealFilters:
    """Checksummed addresses; empty: any. `address` matches any party (PARTY_FIELDS)."""

    requester: str = ""
    beneficiary: str = ""
    app: str = ""
    dataset: str = ""
    workerpool: str = ""
    address: str = ""


def _deals() -> QuerySet[Deal]:
    category_name = Category.objects.filter(
        chain_id=OuterRef("chain_id"), catid=OuterRef("category")
    ).values("name")[:1]
    return Deal.objects.filter(chain_id=settings.CHAIN_ID).annotate(
        category_name=Subquery(category_name)
    )


def deal_list(*, filters: DealFilters | None = None) -> QuerySet[Deal]:
    """Deals matching `filters`, newest first, each with its `category_name`.

    Newest by id: the indexer inserts deals in the chain's order, while `block_number` is a
    deal's last change (a task finishing), not its birth."""
    filters = filters or DealFilters()
    queryset = _deals()
    for field in ("requester", "beneficiary", "app", "dataset", "workerpool"):
        if value := getattr(filters, field):
            queryset = queryset.filter(**{field: value})
    if filters.address:
        any_party = Q()
        for field in PARTY_FIELDS:
            any_party |= Q(**{field: filters.address})
        queryset = queryset.filter(any_party)
    return queryset.order_by("-id")


def deal_list_of_wallets(*, addresses: Iterable[str]) -> QuerySet[Deal]:
    """Deals whose requester or beneficiary is one of `addresses` (checksummed), newest first."""
    addresses = list(addresses)
    return (
        _deals().filter(Q(requester__in=addresses) | Q(beneficiary__in=addresses)).order_by("-id")
    )


def _contributions_by_task(taskids: list[str]) -> dict[str, list[Contribution]]:
    by_task: dict[str, list[Contribution]] = defaultdict(list)
    if taskids:
        for contribution in Contribution.objects.filter(
            chain_id=settings.CHAIN_ID, taskid__in=taskids
        ).order_by("taskid", "contributed_at", "id"):
            by_task[contribution.taskid].append(contribution)
    return by_task


def deal_detail(*, dealid: str) -> Deal | None:
    """Deal `dealid` (as `bytes32_key` gives it) with its `category_name`, its initialized tasks
    by index (`deal.task_rows`) and each task's contributions, oldest first
    (`task.contribution_rows`); None when the index does not hold it."""
    deal = _deals().filter(dealid=dealid).first()
    if deal is None:
        return None
    tasks = list(Task.objects.filter(chain_id=settings.CHAIN_ID, dealid=dealid).order_by("idx"))
    contributions = _contributions_by_task([task.taskid for task in tasks])
    for task in tasks:
        task.contribution_rows = contributions.get(task.taskid, [])
    deal.task_rows = tasks
    return deal


def task_detail(*, taskid: str) -> Task | None:
    """Task `taskid` with its contributions (`task.contribution_rows`), None when not indexed."""
    task = Task.objects.filter(chain_id=settings.CHAIN_ID, taskid=taskid).first()
    if task is not None:
        task.contribution_rows = _contributions_by_task([taskid]).get(taskid, [])
    return task


def assets_by_address(*, addresses: Iterable[str]) -> dict[str, Asset]:
    """The indexed assets among `addresses` (checksummed) with their listings and the listings'
    rows of their markets (a dataset's file), in one query."""
    wanted = {address for address in addresses if address}
    if not wanted:
        return {}
    assets = Asset.objects.filter(chain_id=settings.CHAIN_ID, address__in=wanted).select_related(
        "listing", *(f"listing__{market.detail_relation}" for market in MARKETS.values())
    )
    return {asset.address: asset for asset in assets}


@dataclasses.dataclass(frozen=True)
class DealProgress:
    """Where a deal's `volume` tasks stand; `waiting` ones are not initialized yet."""

    volume: int
    completed: int
    failed: int
    running: int

    @property
    def waiting(self) -> int:
        return max(0, self.volume - self.completed - self.failed - self.running)

    @property
    def finished(self) -> bool:
        return self.completed + self.failed >= self.volume

    # Percentages of the volume, for the page's bar.
    @property
    def completed_share(self) -> float:
        return self._share(self.completed)

    @property
    def failed_share(self) -> float:
        return self._share(self.failed)

    @property
    def running_share(self) -> float:
        return self._share(self.running)

    def _share(self, count: int) -> float:
        return 100 * count / self.volume if self.volume else 0.0


def deal_progress(deal: Deal) -> DealProgress:
    """The progress of a deal from `deal_detail` (its `task_rows`)."""
    statuses = [task.status for task in deal.task_rows]
    return DealProgress(
        volume=deal.volume,
        completed=statuses.count(TaskStatus.COMPLETED),
        failed=statuses.count(TaskStatus.FAILED),
        running=statuses.count(TaskStatus.ACTIVE) + statuses.count(TaskStatus.REVEALING),
    )


def deal_final_deadline(deal: Deal) -> datetime.datetime | None:
    """When the deal's tasks stop being finalizable and can be claimed (refunded): start + 10
    reference times (PROTOCOL.md). None for a reference time no date can reach."""
    try:
        return deal.start_time + datetime.timedelta(seconds=FINAL_DEADLINE_REFS * deal.time_ref)
    except OverflowError:
        return None


@dataclasses.dataclass(frozen=True)
class DealParams:
    """A deal's `params` read as PROTOCOL.md says (a JSON object of args, input file URLs and
    more; the iExec names `iexec_args` and `iexec_input_files` too). `is_json` False: the text
    is not a JSON object, and only `raw` means anything."""

    raw: str
    is_json: bool
    args: str = ""
    input_files: tuple[str, ...] = ()


def deal_params(raw: str) -> DealParams:
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        return DealParams(raw=raw, is_json=False)
    if not isinstance(params, dict):
        return DealParams(raw=raw, is_json=False)
    args = params.get("args", params.get("iexec_args", ""))
    files = params.get("input_files", params.get("iexec_input_files", []))
    if isinstance(files, str):
        files = [files]
    return DealParams(
        raw=raw,
        is_json=True,
        args=args if isinstance(args, str) else json.dumps(args),
        input_files=tuple(str(url) for url in files) if isinstance(files, list) else (),
    )


@dataclasses.dataclass(frozen=True)
class DealArguments:
    """A deal's arguments as its workers give them to the app (worker.command_line): split on
    spaces, `{dataset}` replaced by the dataset's path in the input folder. `hidden_dataset`:
    they name a dataset whose listing the viewer may not see, so its file name is not said and
    `{dataset}` stays."""

    text: str
    hidden_dataset: bool = False


def deal_arguments(*, args: str, dataset: Asset | None, viewer) -> DealArguments:
    """`args` of a deal as its workers run them. `dataset`: the deal's, as `assets_by_address`
    gives it (None: the deal has none, or it is not indexed, and its workers get none either).
    Its file is named as the buy page named it (Dataset.task_file_name, "dataset" for a dataset
    not listed here) when `viewer` may see its listing."""
    listing = dataset.listing if dataset is not None else None
    if listing is not None and not listing_visible_to(listing=listing, user=viewer):
        return DealArguments(
            text=" ".join(task_arguments(args, dataset_file=None)),
            hidden_dataset=DATASET_PLACEHOLDER in args,
        )
    dataset_file = None
    if dataset is not None:
        detail = getattr(listing, MARKETS[Market.DATASET].detail_relation, None)
        dataset_file = detail.task_file_name if detail is not None else "dataset"
    return DealArguments(text=" ".join(task_arguments(args, dataset_file=dataset_file)))


@dataclasses.dataclass(frozen=True)
class DealOnChain:
    """What the Hub says of a deal the index does not hold yet: `exists` (with its `volume`
    and `task_price` in ECT units), or why it could not be asked (`problem`, for people)."""

    exists: bool
    volume: int = 0
    task_price: int = 0
    problem: str = ""


def deal_on_chain(*, dealid: str) -> DealOnChain:
    """Ask the Hub for deal `dealid` (one call to the node). Never raises for the chain's sake."""
    try:
        deal = current_hub().deal(dealid)
    except ContractsNotDeployed:
        return DealOnChain(exists=False, problem="our contracts are not deployed")
    except ChainUnavailable:
        return DealOnChain(exists=False, problem="the chain node does not answer")
    except (ChainError, ValueError):
        return DealOnChain(exists=False, problem="our contracts are not on the chain node")
    if deal.volume == 0:  # the Hub answers zeros for a deal it does not know
        return DealOnChain(exists=False)
    return DealOnChain(exists=True, volume=deal.volume, task_price=deal.task_price)
