"""A task's result: the archive its winning workers uploaded, checked against the digest the
Hub recorded, previewed (images, text) and downloaded. For the deal's requester and
beneficiary, the pool's owner and staff only: a result is the buyer's. (A pool's demand, as
its owner sees it, is marketplace/orders/demand_views.py.)"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from marketplace.downloads import download
from marketplace.indexer.models import Deal, Task
from marketplace.notfound import NotFound
from pools.models import Replicate, ReplicateStatus
from worker.results import ArchiveMember, UnsafeArchive, check_result_archive

_TASKID = re.compile(r"0x[0-9a-f]{64}")
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
}
TEXT_SUFFIXES = {".txt", ".log", ".csv", ".json", ".dot", ".md", ".svg", ".xml"}
TEXT_PREVIEW_BYTES = 20_000
IMAGE_PREVIEW_BYTES = 8 * 1024 * 1024
# Files shown on the page, previews included: the rest are in the download.
SHOWN_FILES = 100


@dataclass
class Member:
    name: str
    size: int
    kind: str  # "image", "text", "large image" (over IMAGE_PREVIEW_BYTES) or "other"
    text: str = ""
    """The first TEXT_PREVIEW_BYTES of a text file."""
    truncated: bool = False


def _task_and_deal(taskid: str) -> tuple[Task, Deal]:
    taskid = taskid.lower()
    if not _TASKID.fullmatch(taskid):
        raise NotFound("A task id is 0x and 64 hex digits.")
    task = Task.objects.filter(chain_id=settings.CHAIN_ID, taskid=taskid).first()
    if task is None:
        raise NotFound("No such task in the index.")
    deal = Deal.objects.get(chain_id=settings.CHAIN_ID, dealid=task.dealid)
    return task, deal


def _allowed(request: HttpRequest, deal: Deal) -> None:
    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied(
            "Sign in with the wallet of the deal's requester, its beneficiary or the pool's owner "
            "to see its result."
        )
    if user.is_staff:
        return
    parties = {deal.requester.lower(), deal.beneficiary.lower(), deal.workerpool_owner.lower()}
    wallets = {address.lower() for address in user.wallets.values_list("address", flat=True)}
    if not parties & wallets:
        raise PermissionDenied(
            "Only the deal's requester, its beneficiary and the pool's owner see its results: "
            "sign in with one of those wallets."
        )


def _archive(task: Task) -> str | None:
    """The stored archive of a worker whose result the Hub agreed on."""
    if not task.result_digest:
        return None
    for replicate in Replicate.objects.filter(
        task__chain_id=task.chain_id,
        task__taskid=task.taskid,
        digest=task.result_digest,
        status__in=(ReplicateStatus.REVEALED, ReplicateStatus.CONTRIBUTED),
    ):
        name = f"results/{task.taskid}/{replicate.worker}.tar"
        if default_storage.exists(name):
            return name
    return None


def _sha256(name: str) -> str:
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return "0x" + digest.hexdigest()


def _archive_members(file) -> list[ArchiveMember]:
    """The files and folders of a stored archive, read by their headers only; raises
    UnsafeArchive for one that is not what the agent writes (stored before uploads were
    checked), which is then never opened any further."""
    return check_result_archive(
        file,
        max_members=settings.RESULT_MAX_MEMBERS,
        max_unpacked_bytes=settings.RESULT_MAX_UNPACKED_BYTES,
    )


def _members(name: str) -> tuple[list[Member], int]:
    """The first SHOWN_FILES files of the archive with their previews, and how many more
    files it holds."""
    members = []
    with default_storage.open(name, "rb") as file:
        files = [entry for entry in _archive_members(file) if not entry.is_folder]
        for entry in files[:SHOWN_FILES]:
            suffix = PurePosixPath(entry.name).suffix.lower()
            if suffix in IMAGE_TYPES:
                kind = "image" if entry.size <= IMAGE_PREVIEW_BYTES else "large image"
            else:
                kind = "text" if suffix in TEXT_SUFFIXES else "other"
            member = Member(entry.name, entry.size, kind)
            if kind == "text":
                file.seek(entry.offset)
                raw = file.read(min(entry.size, TEXT_PREVIEW_BYTES))
                member.text = raw.decode("utf-8", errors="replace")
                member.truncated = entry.size > TEXT_PREVIEW_BYTES
            members.append(member)
    return members, max(0, len(files) - SHOWN_FILES)


@require_GET
def task_result(request: HttpRequest, taskid: str) -> HttpResponse:
    task, deal = _task_and_deal(taskid)
    _allowed(request, deal)
    name = _archive(task)
    context = {
        "task": task,
        "deal": deal,
        "archive": name,
        "text_preview_bytes": TEXT_PREVIEW_BYTES,
        "image_preview_bytes": IMAGE_PREVIEW_BYTES,
    }
    if name is not None:
        actual = _sha256(name)
        context.update(
            verified=actual == task.result_digest,
            actual=actual,
            size=default_storage.size(name),
        )
        try:
            context["members"], context["more_files"] = _members(name)
        except UnsafeArchive as error:
            context["unreadable"] = error.problem
    return render(request, "pools/result.html", context)


@require_GET
def task_result_download(request: HttpRequest, taskid: str) -> FileResponse:
    task, deal = _task_and_deal(taskid)
    _allowed(request, deal)
    name = _archive(task)
    if name is None:
        raise NotFound("No result archive for this task.")
    return download(
        request,
        default_storage.open(name, "rb"),
        filename=f"result-{task.taskid[:12]}.tar",
        content_type="application/x-tar",
    )


@require_GET
def task_result_file(request: HttpRequest, taskid: str, path: str) -> HttpResponse:
    """One image of the archive, for the preview: shown inline only for raster images, in a
    sandbox, never as a page of the site."""
    task, deal = _task_and_deal(taskid)
    _allowed(request, deal)
    name = _archive(task)
    suffix = PurePosixPath(path).suffix.lower()
    if name is None or suffix not in IMAGE_TYPES:
        raise NotFound("No such image in the result.")
    with default_storage.open(name, "rb") as file:
        try:
            members = _archive_members(file)
        except UnsafeArchive:
            raise NotFound("No such image in the result.") from None
        entry = next((m for m in members if m.name == path and not m.is_folder), None)
        if entry is None or entry.size > IMAGE_PREVIEW_BYTES:
            raise NotFound("No such image in the result.")
        file.seek(entry.offset)
        data = file.read(entry.size)
    response = HttpResponse(data, content_type=IMAGE_TYPES[suffix])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
