"""The files worker agents download: an app's .wasm and a dataset's encrypted file, at the
location their registration records on chain (`/files/<kind>/<slug>/`). Public: the app is
what anyone may run, and a dataset is only ciphertext, its key released per task.
Agents check each file's sha256 against the checksum registered on chain."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from django.views.decorators.http import require_GET

from marketplace.catalogue.models import Listing, Market
from marketplace.downloads import download
from marketplace.notfound import NotFound


def file_location(listing: Listing) -> str:
    """The path of the listing's file on this site (what registration records)."""
    return reverse("asset_file", args=[listing.kind, listing.slug])


@require_GET
def asset_file(request: HttpRequest, kind: str, slug: str) -> FileResponse:
    listing = Listing.objects.filter(kind=kind, slug=slug).exclude(chain_address="").first()
    if listing is None or kind not in (Market.APP, Market.DATASET):
        raise NotFound("No registered app or dataset here.")
    stored = listing.app.wasm if kind == Market.APP else listing.dataset.encrypted_file
    name = f"{slug}.wasm" if kind == Market.APP else f"{slug}.enc"
    return download(
        request, stored.open("rb"), filename=name, content_type="application/octet-stream"
    )
