"""The scheduler's rounds: start new deals' tasks, expire silent workers, and drive tasks to
their end on chain — finalize once the winners revealed (or the reveal deadline passed with at
least one reveal), reopen when nobody revealed in time, give up at once (the Hub's giveUp,
which refunds the payer) the tasks whose app fails alike on every worker and those whose trust
the pool's members cannot reach, claim the refund of
tasks that cannot finish before their final deadline. Each round reads the index and the
chain, and sends what is due with the pool owner's key; running it twice sends nothing twice.

`scheduler_round` is what `manage.py run_scheduler` and the Celery beat task run.
"""

from __future__ import annotations

import dataclasses
import logging

from django.utils import timezone

from marketplace.chain.errors import ChainError
from marketplace.chain.ids import TaskStatus
from marketplace.indexer.models import Task
from pools import scheduler
from pools.models import Replicate, ReplicateStatus, RunStatus, TaskRun

logger = logging.getLogger(__name__)

_FINISHED = {"completed": RunStatus.COMPLETED, "failed": RunStatus.FAILED}
# Runs whose task the chain has not finished: the scheduler still owes them a finalize or a
# claim (given-up ones their giveUp, or past the final deadline the claim).
_UNFINISHED = (RunStatus.ACTIVE, RunStatus.REVEALING, RunStatus.ABANDONED)


@dataclasses.dataclass
class Round:
    """What one round did."""

    created: int = 0
    started: int = 0
    expired: int = 0
    widened: int = 0
    abandoned: int = 0
    refunded: int = 0
    finalized: int = 0
    reopened: int = 0
    claimed: int = 0
    strikes: int = 0
    seized: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)

    def __str__(self) -> str:
        done = ", ".join(
            f"{count} {name}"
            for name, count in (
                ("created", self.created),
                ("started", self.started),
                ("expired", self.expired),
                ("widened", self.widened),
                ("given up", self.abandoned),
                ("refunded at once", self.refunded),
                ("finalized", self.finalized),
                ("reopened", self.reopened),
                ("claimed", self.claimed),
                ("failure reports contradicted", self.strikes),
                ("bonds seized", self.seized),
            )
            if count
        )
        return done or "nothing to do"


def results_location(taskid: str) -> bytes:
    """Where the task's result is fetched: what finalize records on chain."""
    from django.urls import reverse

    return reverse("task_result", args=[taskid]).encode()


def _sync_finished(chain_id: int) -> None:
    """Tasks the chain finished (by us or by anyone's claim) are finished here too; reopened
    ones (revealing again active) take workers again."""
    TaskRun.objects.filter(
        chain_id=chain_id,
        status=RunStatus.REVEALING,
        taskid__in=Task.objects.filter(chain_id=chain_id, status="active").values("taskid"),
    ).update(status=RunStatus.ACTIVE)
    live = TaskRun.objects.filter(chain_id=chain_id, status__in=_UNFINISHED)
    for task in Task.objects.filter(
        chain_id=chain_id,
        taskid__in=live.values("taskid"),
        status__in=[*_FINISHED, "revealing"],
    ):
        status = _FINISHED.get(task.status, RunStatus.REVEALING)
        TaskRun.objects.filter(chain_id=chain_id, taskid=task.taskid).update(
            status=status, result_digest=task.result_digest
        )


def _drive(chain_id: int, hub, result: Round) -> None:
    # Loads web3 (half a second): paid only by the processes that talk to the node.
    from marketplace.chain.client import TransactionSender

    pools = scheduler.operated_pools(chain_id=chain_id)
    # Deadlines are the chain's: block time, never behind the wall clock for long.
    now = max(timezone.now().timestamp(), hub.chain_time())
    runs = TaskRun.objects.filter(
        chain_id=chain_id, status__in=_UNFINISHED, workerpool__in=list(pools)
    )
    indexed = {
        task.taskid: task
        for task in Task.objects.filter(chain_id=chain_id, taskid__in=runs.values("taskid"))
    }
    # Runs whose workers reported a reveal (checked on chain): finalized without waiting for
    # the index to show the task revealing.
    revealed = set(
        Replicate.objects.filter(task__in=runs, status=ReplicateStatus.REVEALED).values_list(
            "task_id", flat=True
        )
    )
    for run in runs:
        task = indexed.get(run.taskid)
        if task is None:
            continue
        sender = TransactionSender(pools[run.workerpool], w3=hub.w3)
        try:
            if task.final_deadline and now >= task.final_deadline.timestamp():
                hub.claim(sender=sender, taskid=run.taskid)
                result.claimed += 1
            elif task.status == "revealing" or run.pk in revealed:
                view = hub.task(run.taskid)
                if view.status != TaskStatus.REVEALING:
                    continue
                deadline_passed = now >= view.reveal_deadline
                if view.reveal_counter and (
                    view.reveal_counter == view.winner_counter or deadline_passed
                ):
                    hub.finalize(
                        sender=sender, taskid=run.taskid, results=results_location(run.taskid)
                    )
                    result.finalized += 1
                elif deadline_passed and not view.reveal_counter:
                    hub.reopen(sender=sender, taskid=run.taskid)
                    result.reopened += 1
        except ChainError as error:
            # The chain moved under us (someone claimed, a block passed a deadline): the next
            # round reads it again.
            result.problems.append(f"{run.taskid[:10]}: {error}")


def scheduler_round(*, chain_id: int, hub) -> Round:
    """One round of every operated pool's scheduling (see the module docstring)."""
    result = Round()
    result.created = scheduler.runs_create(chain_id=chain_id)
    try:
        result.started = scheduler.runs_initialize(chain_id=chain_id, hub=hub)
    except ChainError as error:
        result.problems.append(f"starting tasks: {error}")
    result.expired = scheduler.replicates_expire()
    result.widened = scheduler.runs_widen(chain_id=chain_id)
    result.abandoned = scheduler.runs_abandon(chain_id=chain_id)
    result.abandoned += scheduler.runs_out_of_reach(chain_id=chain_id)
    _sync_finished(chain_id)
    result.refunded, problems = scheduler.runs_give_up(chain_id=chain_id, hub=hub)
    result.problems += problems
    _drive(chain_id, hub, result)
    result.strikes = scheduler.runs_judge(chain_id=chain_id)
    result.seized, problems = scheduler.bonds_seize(chain_id=chain_id, hub=hub)
    result.problems += problems
    for problem in result.problems:
        logger.warning("Scheduler: %s", problem)
    return result
