"""The files worker agents download: an app's .wasm and a dataset's encrypted file, at the
location their registration records on chain (`/files/<kind>/<slug>/`, see
MarketAdapter.file_location). Public: the app is what anyone may run, and a dataset is only
ciphertext, its key released per task. Agents check each file's sha256 against the checksum
registered on chain."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.downloads import download
from marketplace.notfound import NotFound


@require_GET
def asset_file(request: HttpRequest, kind: str, slug: str) -> FileResponse:
    listing = Listing.objects.filter(kind=kind, slug=slug).exclude(chain_address="").first()
    stored = MARKETS[kind].stored_file(listing) if listing is not None else None
    if stored is None:
        raise NotFound("No registered app or dataset here.")
    file, name = stored
    return download(
        request, file.open("rb"), filename=name, content_type="application/octet-stream"
    )
