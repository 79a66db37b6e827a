"""The catalogue's public files.

- What worker agents download: an app's .wasm and a dataset's encrypted file, at the location
  their registration records on chain (`/files/<kind>/<slug>/`, see
  MarketAdapter.file_location). Public: the app is what anyone may run, and a dataset is only
  ciphertext, its key released per task. Agents check each file's sha256 against the checksum
  registered on chain.
- Listing icons (`MEDIA_URL` + `icons/…`), the only files under MEDIA_ROOT served as they are:
  nothing else there (buyers' inputs, result archives) is public."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from django.views.static import serve

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


ICON_FOLDER = "icons"  # Listing.icon's upload_to starts here


@require_GET
def listing_icon(request: HttpRequest, path: str) -> HttpResponse:
    """An uploaded listing icon (a path that leaves the icons folder is not found)."""
    return serve(request, path, document_root=Path(settings.MEDIA_ROOT) / ICON_FOLDER)
