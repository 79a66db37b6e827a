"""What a worker agent is told and what it reports, replicate by replicate: the task's
description (app, dataset, params, limits, the scheduler's authorization), the dataset key
(for its own live replicate only), its result, its contribution, its failure, and what to do
next (carry on, reveal, stop).

Every function takes the replicate of the calling worker; the API checks that it is theirs.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from datamarket.services import KeyRefused, dataset_key_release
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.chain.ids import ContributionStatus, result_hash
from marketplace.chain.selectors import current_hub
from marketplace.errors import AppError
from marketplace.indexer.models import Asset, Category, Deal, Task
from marketplace.indexer.notify import progress_changed
from pools import membership
from pools.models import AdmittedVia, PoolMember, Replicate, ReplicateStatus
from pools.run_limits import limits_for_category
from pools.scheduler import lease_seconds
from worker.failures import KINDS as FAILURE_KINDS
from worker.failures import classify, clean_tail
from worker.results import UnsafeArchive, check_result_archive

MAX_RESULT_BYTES = 256 * 1024 * 1024
# A replicate not proven yet: its worker may still report it failed.
_UNPROVEN = (ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING, ReplicateStatus.UPLOADED)


class WorkRefused(AppError):
    """The worker's request cannot be served; `status` is the HTTP status that fits."""


@dataclasses.dataclass(frozen=True)
class Instruction:
    """What the worker should do now with its replicate: "run" (carry on), "reveal" (the
    task reached consensus on its result: send reveal), "wait" (contributed; consensus not
    reached yet), "done" or "stop" (nothing more: expired, failed, or lost the consensus)."""

    action: str
    reason: str = ""


def _asset_file(address: str) -> dict[str, Any] | None:
    """Where the app's or dataset's file is (its multiaddr: a URL, or a path on this site),
    its sha256 as registered, and for a dataset the file name the app reads it under."""
    asset = Asset.objects.filter(chain_id=settings.CHAIN_ID, address=address).first()
    if asset is None:
        return None
    described = {"address": address, "multiaddr": asset.multiaddr, "checksum": asset.checksum}
    if (filename := MARKETS[asset.kind].task_file_name(address)) is not None:
        described["filename"] = filename
    return described


def replicate_description(replicate: Replicate) -> dict[str, Any]:
    """Everything the agent needs to run the replicate: app and dataset (where and their
    sha256), params, the category's time reference, deadlines and the authorization."""
    run = replicate.task
    deal = Deal.objects.get(chain_id=run.chain_id, dealid=run.dealid)
    category = Category.objects.filter(chain_id=run.chain_id, catid=deal.category).first()
    task = Task.objects.filter(chain_id=run.chain_id, taskid=run.taskid).first()
    try:
        params = json.loads(deal.params or "{}")
    except ValueError:
        params = {}

    time_ref = category.time_ref if category else deal.time_ref
    limits = limits_for_category(time_ref)
    return {
        "replicate": replicate.pk,
        "chain_id": run.chain_id,
        "hub": current_hub().address,
        "taskid": run.taskid,
        "dealid": run.dealid,
        "idx": run.idx,
        "workerpool": run.workerpool,
        "authorization": replicate.authorization,
        "app": _asset_file(deal.app),
        "dataset": _asset_file(deal.dataset) if deal.dataset else None,
        "params": params if isinstance(params, dict) else {},
        "category": deal.category,
        "time_ref": time_ref,
        # The pool's limits, the same for every worker of the task (fuel use is deterministic).
        "limits": {
            "fuel": limits.fuel,
            "wall_clock_seconds": limits.wall_clock_seconds,
            "memory_bytes": limits.memory_bytes,
            "output_bytes": limits.output_bytes,
        },
        "contribution_deadline": task.contribution_deadline if task else None,
        "lease_until": replicate.lease_until,
    }


def dataset_key(replicate: Replicate) -> bytes:
    """The AES key of the task's dataset, for the worker of `replicate` only when: the replicate
    is live; the worker is a member in good standing of the task's pool, which the dataset's
    order allows; it is not the deal's buyer; and it meets the dataset owner's conditions.
    Every release is logged for the dataset's owner (datamarket.services)."""
    run = replicate.task
    if replicate.status not in (ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING):
        raise WorkRefused(
            f"Replicate {replicate.pk} is {replicate.get_status_display().lower()}: the dataset "
            "key is released only while the replicate runs.",
            status=403,
        )
    verdict = membership.member_standing(
        chain_id=run.chain_id, workerpool=run.workerpool, worker=replicate.worker
    )
    if not verdict.ok:
        raise WorkRefused(f"No dataset key: {verdict.reason}", status=403)
    deal = Deal.objects.get(chain_id=run.chain_id, dealid=run.dealid)
    if not deal.dataset:
        raise WorkRefused("This task uses no dataset.", status=404)
    if replicate.worker in membership.buyer_wallets([deal.requester, deal.beneficiary]):
        raise WorkRefused("The deal's buyer never receives its dataset's key.", status=403)
    # The run is the deal's, in its pool: the Hub matched the deal only if the dataset's order
    # allows that pool (workerpoolrestrict), so no more is checked of the order here.
    listing = Listing.objects.filter(chain_address=deal.dataset, kind="dataset").first()
    if listing is None:
        raise WorkRefused(
            f"The dataset {deal.dataset} has no listing on this site, so no key here.", status=404
        )
    member = PoolMember.objects.get(
        chain_id=run.chain_id, workerpool=run.workerpool, worker=replicate.worker
    )
    score = membership.Facts.of(
        chain_id=run.chain_id, workerpool=run.workerpool, worker=replicate.worker
    ).score
    try:
        return dataset_key_release(
            dataset=listing.dataset,
            chain_id=run.chain_id,
            worker=replicate.worker,
            workerpool=run.workerpool,
            dealid=run.dealid,
            taskid=run.taskid,
            admitted_by_hand=member.admitted_via == AdmittedVia.HAND,
            worker_score=score,
        )
    except KeyRefused as refusal:
        raise WorkRefused(f"No dataset key: {refusal}", status=403) from None


def _hex32(value: Any, field: str) -> str:
    text = str(value).lower()
    if not (text.startswith("0x") and len(text) == 66):
        raise WorkRefused(f"{field} must be 0x and 64 hex digits.")
    try:
        bytes.fromhex(text[2:])
    except ValueError:
        raise WorkRefused(f"{field} must be 0x and 64 hex digits.") from None
    return text


@transaction.atomic
def result_upload(*, replicate: Replicate, archive: IO[bytes], size: int, digest: Any) -> Replicate:
    """Store the replicate's result archive, after checking that its sha256 is `digest` (what
    the worker will commit to on chain) and that it is a result archive as the agent writes it,
    within RESULT_MAX_MEMBERS and RESULT_MAX_UNPACKED_BYTES (`check_result_archive`)."""
    digest = _hex32(digest, "digest")
    replicate = Replicate.objects.select_for_update().get(pk=replicate.pk)
    if replicate.status not in (ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING):
        raise WorkRefused(
            f"Replicate {replicate.pk} is {replicate.get_status_display().lower()}: it takes "
            "no result now.",
            status=409,
        )
    if size > MAX_RESULT_BYTES:
        raise WorkRefused(f"The result is {size:,} bytes: at most {MAX_RESULT_BYTES:,}.")
    hasher = hashlib.sha256()
    for chunk in iter(lambda: archive.read(1 << 20), b""):
        hasher.update(chunk)
    if "0x" + hasher.hexdigest() != digest:
        raise WorkRefused(
            f"The archive's sha256 is 0x{hasher.hexdigest()}, not {digest}: upload the archive "
            "you computed the digest of."
        )
    try:
        check_result_archive(
            archive,
            max_members=settings.RESULT_MAX_MEMBERS,
            max_unpacked_bytes=settings.RESULT_MAX_UNPACKED_BYTES,
        )
    except UnsafeArchive as error:
        raise WorkRefused(str(error)) from None
    archive.seek(0)
    name = f"results/{replicate.task.taskid}/{replicate.worker}.tar"
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, File(archive))
    replicate.digest = digest
    replicate.percent = 100.0
    replicate.status = ReplicateStatus.UPLOADED
    # The lease now waits for the contribution's report (replicates_expire).
    # A full lease whoever the worker: a contribution may wait for blocks on a busy chain.
    replicate.lease_until = timezone.now() + datetime.timedelta(seconds=lease_seconds())
    replicate.save(update_fields=["digest", "percent", "status", "lease_until", "updated_at"])
    progress_changed(replicate.task.dealid)
    return replicate


@transaction.atomic
def replicate_fail(
    *,
    replicate: Replicate,
    reason: Any,
    app_fault: bool = False,
    kind: str = "",
    exit_code: int | None = None,
    stderr_tail: str = "",
) -> Replicate:
    """The worker could not run or prove the replicate (a checksum mismatch, the app ran out of
    fuel, time or memory, its contribution was refused...): recorded with its reason, whether
    the app itself failed and how (`kind`, worker.failures; from the reason when not given):
    what makes the scheduler give a task up when members agree. For a run of the app, its exit
    status and the end of its stderr (bounded and cleaned: worker.failures.clean_tail), which
    the deal's buyer reads. Nothing counts as contributed."""
    text = str(reason or "").strip()[:300]
    if kind and kind not in FAILURE_KINDS:
        raise WorkRefused(f"kind is one of {', '.join(FAILURE_KINDS)}.")
    if not text:
        raise WorkRefused("Say why the replicate failed (reason).")
    replicate = Replicate.objects.select_for_update().get(pk=replicate.pk)
    if replicate.status not in _UNPROVEN:
        raise WorkRefused(
            f"Replicate {replicate.pk} is {replicate.get_status_display().lower()} already.",
            status=409,
        )
    replicate.status = ReplicateStatus.FAILED
    replicate.failure = text
    replicate.app_fault = bool(app_fault)
    replicate.failure_kind = (kind or classify(text)) if app_fault else ""
    replicate.exit_code = exit_code
    replicate.stderr_tail = clean_tail(stderr_tail or "")
    replicate.save(
        update_fields=[
            "status",
            "failure",
            "app_fault",
            "failure_kind",
            "exit_code",
            "stderr_tail",
            "updated_at",
        ]
    )
    progress_changed(replicate.task.dealid)
    return replicate


def replicate_contributed(*, replicate: Replicate, hub) -> Replicate:
    """The worker says it contributed: believed only when the Hub has its contribution, and
    it commits to the result the worker uploaded (a late report of a replicate that expired
    after its upload counts too). A contribution to another result fails the replicate."""
    late = replicate.status == ReplicateStatus.EXPIRED and replicate.digest
    if replicate.status != ReplicateStatus.UPLOADED and not late:
        raise WorkRefused("Upload the result before contributing it.", status=409)
    contribution = hub.contribution(replicate.task.taskid, replicate.worker)
    if contribution.status == ContributionStatus.UNSET:
        raise WorkRefused(
            "The Hub has no contribution of yours for this task yet: send contribute, wait "
            "for its receipt, then report it.",
            status=409,
        )
    if contribution.result_hash != result_hash(replicate.task.taskid, replicate.digest):
        Replicate.objects.filter(pk=replicate.pk, status=replicate.status).update(
            status=ReplicateStatus.FAILED,
            failure="Contributed another result on chain than the archive it uploaded.",
        )
        progress_changed(replicate.task.dealid)
        raise WorkRefused(
            "Your contribution on chain commits to another result than the archive you "
            f"uploaded ({replicate.digest}): its result would not be served. Upload the "
            "archive whose sha256 you contributed.",
            status=409,
        )
    Replicate.objects.filter(pk=replicate.pk, status=replicate.status).update(
        status=ReplicateStatus.CONTRIBUTED, failure=""
    )
    progress_changed(replicate.task.dealid)
    replicate.refresh_from_db()
    return replicate


def replicate_revealed(*, replicate: Replicate, hub) -> Replicate:
    """The worker says it revealed: believed only when the Hub has the reveal."""
    if replicate.status != ReplicateStatus.CONTRIBUTED:
        raise WorkRefused("Only a contributed replicate is revealed.", status=409)
    if hub.contribution(replicate.task.taskid, replicate.worker).status != (
        ContributionStatus.PROVED
    ):
        raise WorkRefused(
            "The Hub has no reveal of yours for this task yet: send reveal, wait for its "
            "receipt, then report it.",
            status=409,
        )
    Replicate.objects.filter(pk=replicate.pk).update(status=ReplicateStatus.REVEALED)
    progress_changed(replicate.task.dealid)
    replicate.refresh_from_db()
    return replicate


def instruction(replicate: Replicate) -> Instruction:
    """What the worker should do next, from the replicate and the task as indexed."""
    if replicate.status == ReplicateStatus.EXPIRED:
        return Instruction("stop", replicate.failure)
    if replicate.status == ReplicateStatus.FAILED:
        return Instruction("stop", replicate.failure)
    if replicate.status in (ReplicateStatus.ASSIGNED, ReplicateStatus.RUNNING):
        return Instruction("run")
    if replicate.status == ReplicateStatus.UPLOADED:
        return Instruction("contribute")
    if replicate.status == ReplicateStatus.REVEALED:
        return Instruction("done")
    task = Task.objects.filter(
        chain_id=replicate.task.chain_id, taskid=replicate.task.taskid
    ).first()
    if task is None or task.status == "active":
        return Instruction("wait", "Consensus is not reached yet.")
    if task.status == "revealing":
        mine = "0x" + result_hash(replicate.task.taskid, replicate.digest).hex()
        if task.consensus == mine:
            return Instruction("reveal")
        return Instruction("stop", "The consensus is on another result.")
    return Instruction("done", f"The task is {task.get_status_display().lower()}.")
