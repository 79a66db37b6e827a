"""DApp Store writes: an app listing and its WebAssembly program."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from dappstore.models import App
from marketplace.catalogue import services as catalogue
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.storage import atomic_with_files, delete_after_commit, track_saved_file
from marketplace.matchmaking.attributes import request_expression
from marketplace.matchmaking.classads import ExpressionRefused
from worker.inspection import InvalidWasm, inspect_wasm


def _checked_wasm(wasm_file: UploadedFile):
    try:
        return inspect_wasm(wasm_file, max_bytes=settings.APP_WASM_MAX_BYTES)
    except InvalidWasm as error:
        raise catalogue.CatalogueError(str(error)) from error


def _checked_requirements(requirements: str) -> str:
    """What every run of the app needs of pools, once the matcher reads it (empty: nothing)."""
    text = requirements.strip()
    if text:
        try:
            request_expression(text)
        except ExpressionRefused as refused:
            raise catalogue.CatalogueError(f"Requirements: {refused}") from None
    return text


def app_submit(
    *,
    owner,
    wasm_file: UploadedFile,
    default_args: str = "",
    requirements: str = "",
    **listing_fields,
) -> Listing:
    """A new app listing, pending curation. The .wasm must be a WASI command module;
    `requirements` a request's ClassAd condition on pools."""
    info = _checked_wasm(wasm_file)
    requirements = _checked_requirements(requirements)
    with atomic_with_files():
        listing = catalogue.listing_create(kind=Market.APP, owner=owner, **listing_fields)
        app = App(
            listing=listing,
            wasm_sha256=info.sha256,
            wasm_size=info.size,
            default_args=default_args,
            requirements=requirements,
        )
        app.wasm.save(wasm_file.name, wasm_file, save=False)
        track_saved_file(app.wasm.name)
        app.save()
    return listing


def app_update(
    *,
    listing: Listing,
    actor,
    wasm_file: UploadedFile | None = None,
    default_args: str = "",
    requirements: str | None = None,
    **listing_fields,
) -> Listing:
    """The owner edits an app; a new .wasm replaces the old one (new checksum); `requirements`
    None keeps the app's own."""
    info = _checked_wasm(wasm_file) if wasm_file else None
    if requirements is not None:
        requirements = _checked_requirements(requirements)
    with atomic_with_files():
        listing = catalogue.listing_update(listing=listing, actor=actor, **listing_fields)
        app = App.objects.select_for_update().get(listing=listing)
        app.default_args = default_args
        if requirements is not None:
            app.requirements = requirements
        if info is not None:
            delete_after_commit(app.wasm.name)
            app.wasm.save(wasm_file.name, wasm_file, save=False)
            track_saved_file(app.wasm.name)
            app.wasm_sha256, app.wasm_size = info.sha256, info.size
        app.save()
    return listing
