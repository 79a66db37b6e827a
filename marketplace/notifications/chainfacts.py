"""What the chain tells buyers, once it is confirmed: a deal finished (every task ended), a task
given up by its pool (refunded at once) or failed past its final deadline (its refund claimed),
and tasks past their final deadline whose refund anyone may claim.

Told to the users of the deal's requester, beneficiary and payer wallets. A fact is told only
from confirmed blocks: one in a block a reorganization may still take back waits in a
`DealWatch` until its block is confirmed (`watched_announce`). Facts older than
NOTIFICATIONS_MAX_AGE_DAYS are not told (a first start over a long history, a re-indexing).
Telling a deal again is harmless: each fact's key makes it once per user.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from marketplace.chain.amounts import format_ect
from marketplace.chain.ids import TaskStatus
from marketplace.indexer.models import Asset, Deal, IndexerState, Task
from marketplace.notifications.models import DealWatch, NotificationKind
from marketplace.notifications.selectors import users_of_wallets
from marketplace.notifications.services import notify

UNFINISHED = (TaskStatus.ACTIVE, TaskStatus.REVEALING)


def _max_age() -> datetime.timedelta:
    return datetime.timedelta(days=settings.NOTIFICATIONS_MAX_AGE_DAYS)


def confirmed_height(chain_id: int) -> int:
    """The last block of `chain_id` the index holds as confirmed (-1: none yet)."""
    height = (
        IndexerState.objects.filter(chain_id=chain_id)
        .values_list("confirmed_height", flat=True)
        .first()
    )
    return -1 if height is None else height


class _Told:
    """The users of each deal's wallets and the names of its app, read once per call."""

    def __init__(self, chain_id: int, deals: list[Deal]) -> None:
        self.chain_id = chain_id
        self._users = {}
        apps = {deal.app for deal in deals}
        self._names = dict(
            Asset.objects.filter(chain_id=chain_id, address__in=apps).values_list("address", "name")
        )

    def users(self, deal: Deal) -> list:
        if deal.dealid not in self._users:
            self._users[deal.dealid] = users_of_wallets(
                [deal.requester, deal.beneficiary, deal.payer]
            )
        return self._users[deal.dealid]

    def app(self, deal: Deal) -> str:
        return self._names.get(deal.app) or f"app {deal.app[:10]}…"

    def tell(self, deal: Deal, *, kind: NotificationKind, key: str, **texts: str) -> int:
        made = 0
        for user in self.users(deal):
            made += notify(user=user, kind=kind, key=f"{key}:{self.chain_id}", **texts) is not None
        return made


def deals_announce(
    *, chain_id: int, dealids: Iterable[str], now: datetime.datetime | None = None
) -> int:
    """Tell the confirmed facts of these deals (ids as the index keeps them) not told yet;
    watch those whose latest change is not confirmed. How many notifications were made."""
    now = now or timezone.now()
    confirmed = confirmed_height(chain_id)
    deals = list(Deal.objects.filter(chain_id=chain_id, dealid__in=list(dealids)))
    if not deals:
        return 0
    tasks: dict[str, list[Task]] = defaultdict(list)
    for task in Task.objects.filter(chain_id=chain_id, dealid__in=[d.dealid for d in deals]):
        tasks[task.dealid].append(task)
    told = _Told(chain_id, deals)
    made = 0
    oldest = now - _max_age()
    for deal in deals:
        for task in tasks[deal.dealid]:
            if (
                task.status == TaskStatus.FAILED
                and task.block_number <= confirmed
                and (task.finished_at is None or task.finished_at >= oldest)
            ):
                made += _task_failed(told, deal, task)
        ended = [task.finished_at for task in tasks[deal.dealid] if task.finished_at]
        if (
            deal.tasks_completed + deal.tasks_failed >= deal.volume
            and deal.block_number <= confirmed
            and max(ended, default=deal.start_time) >= oldest
        ):
            made += _deal_finished(told, deal)
        _watch(
            deal, max([deal.block_number, *(t.block_number for t in tasks[deal.dealid])]), confirmed
        )
    return made


def _watch(deal: Deal, newest: int, confirmed: int) -> None:
    if newest > confirmed:
        DealWatch.objects.update_or_create(
            chain_id=deal.chain_id, dealid=deal.dealid, defaults={"block_number": newest}
        )
    else:
        DealWatch.objects.filter(chain_id=deal.chain_id, dealid=deal.dealid).delete()


def watched_announce(*, chain_id: int, now: datetime.datetime | None = None) -> int:
    """Tell the facts of the watched deals whose blocks are confirmed now (a deal gone with a
    reorganization is forgotten). How many notifications were made."""
    confirmed = confirmed_height(chain_id)
    dealids = list(
        DealWatch.objects.filter(chain_id=chain_id, block_number__lte=confirmed).values_list(
            "dealid", flat=True
        )
    )
    if not dealids:
        return 0
    with transaction.atomic():
        made = deals_announce(chain_id=chain_id, dealids=dealids, now=now)
        gone = set(dealids) - set(
            Deal.objects.filter(chain_id=chain_id, dealid__in=dealids).values_list(
                "dealid", flat=True
            )
        )
        DealWatch.objects.filter(chain_id=chain_id, dealid__in=gone).delete()
    return made


def claimable_announce(*, chain_id: int, now: datetime.datetime | None = None) -> int:
    """Tell the buyers of deals with tasks past their final deadline, unfinished (their refund
    may be claimed), once per deal. How many notifications were made."""
    now = now or timezone.now()
    late: dict[str, list[Task]] = defaultdict(list)
    for task in Task.objects.filter(
        chain_id=chain_id,
        status__in=UNFINISHED,
        final_deadline__lte=now,
        final_deadline__gte=now - _max_age(),
    ):
        late[task.dealid].append(task)
    if not late:
        return 0
    deals = list(Deal.objects.filter(chain_id=chain_id, dealid__in=list(late)))
    told = _Told(chain_id, deals)
    made = 0
    for deal in deals:
        count = len(late[deal.dealid])
        deadline = min(task.final_deadline for task in late[deal.dealid])
        made += told.tell(
            deal,
            kind=NotificationKind.REFUND_CLAIMABLE,
            key=f"refund-claimable:{deal.dealid}",
            title=f"{_tasks(count)} of your deal of {told.app(deal)} can be refunded",
            body=f"{_tasks(count)} passed {'its' if count == 1 else 'their'} final "
            f"deadline ({deadline:%Y-%m-%d %H:%M} UTC) without a result: anyone may claim "
            f"{'its' if count == 1 else 'their'} refund, {format_ect(count * deal.task_price)}, "
            "which goes back to the payer's escrow.",
            url=reverse("deal_detail", kwargs={"dealid": deal.dealid}),
        )
    return made


def _deal_finished(told: _Told, deal: Deal) -> int:
    completed, failed = deal.tasks_completed, deal.tasks_failed
    outcome = f"{completed} of {deal.volume} task{'s' if deal.volume != 1 else ''} completed"
    if failed:
        outcome += f", {failed} failed and refunded ({format_ect(failed * deal.task_price)})"
    return told.tell(
        deal,
        kind=NotificationKind.DEAL_FINISHED,
        key=f"deal-finished:{deal.dealid}",
        title=f"Your deal of {told.app(deal)} finished: {outcome}",
        body=f"Deal {deal.dealid} has no task left to run. Its results are on its page.",
        url=reverse("deal_detail", kwargs={"dealid": deal.dealid}),
    )


def _task_failed(told: _Told, deal: Deal, task: Task) -> int:
    refund = format_ect(deal.task_price)
    url = reverse("task_detail", kwargs={"dealid": deal.dealid, "idx": task.idx})
    if task.given_up:
        return told.tell(
            deal,
            kind=NotificationKind.TASK_FAILED,
            key=f"task-given-up:{task.taskid}",
            title=f"Task #{task.idx} of your deal of {told.app(deal)} was given up",
            body="Why: its pool's scheduler gave it up before its final deadline, as its "
            f"workers could not complete it. The payer was refunded {refund} at once.",
            url=url,
        )
    return told.tell(
        deal,
        kind=NotificationKind.REFUND_CLAIMED,
        key=f"refund-claimed:{task.taskid}",
        title=f"Task #{task.idx} of your deal of {told.app(deal)} failed: refund claimed",
        body="Why: it had no result by its final deadline"
        + (f" ({task.final_deadline:%Y-%m-%d %H:%M} UTC)" if task.final_deadline else "")
        + f". Its refund was claimed: {refund} back to the payer's escrow.",
        url=url,
    )


def _tasks(count: int) -> str:
    return f"{count} task{'s' if count != 1 else ''}"
