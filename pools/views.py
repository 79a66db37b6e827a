"""A task's result: the archive its winning workers uploaded, checked against the digest the
Hub recorded, previewed (images, text) and downloaded. For the deal's requester and
beneficiary, the pool's owner and staff only: a result is the buyer's.

And demand as a pool's owner sees it: the live check of the pool form's Requirements against
the latest requests, and the pool's Demand page (open standing requests it could serve, and
why not the others)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from marketplace import errors
from marketplace.catalogue import selectors as catalogue_selectors
from marketplace.catalogue.models import Listing, Market
from marketplace.downloads import download
from marketplace.indexer.models import Deal, Task
from marketplace.matchmaking.classads import ExpressionRefused
from marketplace.notfound import NotFound
from marketplace.orders import demand
from marketplace.orders.selectors import category_names
from pools import services
from pools.forms import RequirementsCheckForm
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


# ---------------------------------------------------------------------- demand
# What recent requests asked is the buyers' business: only people who run a pool see it in
# numbers (an expression can single out one buyer's requests, so this is not for anyone).


def _owned_pool(request: HttpRequest, slug: str) -> Listing:
    listing = catalogue_selectors.listing_detail(kind=Market.POOL, slug=slug)
    if listing is None:
        raise errors.NotFound("No such pool.")
    if listing.owner_id != request.user.pk:
        raise errors.Forbidden(
            "Only the pool's owner sees the demand it could serve: sign in with the account "
            "that listed it."
        )
    return listing


@require_POST
def requirements_check(request: HttpRequest, slug: str = "") -> HttpResponse:
    """The pool form's Requirements against the latest requests, as a fragment for the form
    (htmx). Its owner editing a pool, or a user who owns a pool listing drafting a new one, sees
    how many they match; any other signed-in user only whether the expression reads."""
    if not request.user.is_authenticated:
        raise errors.Forbidden("Sign in to check Requirements against recent requests.")
    listing = _owned_pool(request, slug) if slug else None
    form = RequirementsCheckForm(request.POST)
    form.is_valid()  # an attribute not valid yet is left out of the ad; the form says so on save
    context: dict = {"requirements": form.cleaned_data.get("requirements", "")}
    if "requirements" in form.errors:
        context["error"] = form.errors["requirements"][0]
    elif (
        listing is None
        and not catalogue_selectors.my_listings(user=request.user).filter(kind=Market.POOL).exists()
    ):
        context["reads_only"] = True
    else:
        context["check"] = demand.demand_check(
            chain_id=settings.CHAIN_ID,
            workerpool=listing.chain_address if listing and listing.chain_address else None,
            attributes=form.attributes(),
            requirements_text=context["requirements"],
        )
    return render(request, "pools/_demand_check.html", context)


@login_required
@require_GET
def pool_demand(request: HttpRequest, slug: str) -> HttpResponse:
    """The pool's Demand page, for its owner: what its stored Requirements match of the latest
    requests, and the open standing requests it could serve now and those it cannot, why."""
    listing = _owned_pool(request, slug)
    pool = listing.workerpool
    address = listing.chain_address
    context: dict = {"listing": listing, "requirements": pool.requirements, "rank": pool.rank}
    try:
        context["check"] = demand.demand_check(
            chain_id=settings.CHAIN_ID,
            workerpool=address or None,
            attributes={name: getattr(pool, name) for name in services.POOL_ATTRIBUTES},
            requirements_text=pool.requirements,
        )
    except ExpressionRefused as refused:
        context["error"] = str(refused)
    if address:
        lines = demand.pool_demand(chain_id=settings.CHAIN_ID, workerpool=address)
        names = category_names(chain_id=settings.CHAIN_ID)
        rows = [(line, names.get(line.order.category, line.order.category)) for line in lines]
        context["servable"] = [row for row in rows if row[0].servable]
        context["rejected"] = [row for row in rows if not row[0].servable]
    return render(request, "pools/demand.html", context)
