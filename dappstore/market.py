"""The DApp Store in the catalogue: its adapter (see marketplace.catalogue.markets)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from dappstore.forms import AppForm
from dappstore.models import App
from marketplace.catalogue.forms import ListingFilterForm
from marketplace.catalogue.markets import MarketAdapter
from marketplace.catalogue.models import Listing, Market
from marketplace.indexer.models import Asset, OrderKind
from marketplace.prepared import Prepared

# Every app's page reads them: prepared (marketplace.prepared).
_datasets_for_app = Prepared(
    lambda app_id: Listing.objects.filter(dataset__allowed_apps=app_id, is_public=True).order_by(
        "name"
    )[:12]
)


class AppMarket(MarketAdapter):
    kind = Market.APP
    plural = "Apps"
    noun = "app"
    article = "An app"
    url_prefix = "apps"
    tagline = "WebAssembly programs that run sandboxed on any worker pool."
    detail_relation = "app"
    order_kind = OrderKind.APP
    form_class = AppForm
    filter_form_class = ListingFilterForm
    sell_restrictions = ("requester_restrict", "workerpool_restrict")
    program_lookup = "app__wasm_sha256"
    facts_template = "dappstore/_facts.html"
    offers_actions_template = "dappstore/_offers_actions.html"  # buying a run is an app's
    curation_checks_template = "dappstore/_curation_checks.html"

    def detail_context(self, listing: Listing) -> dict[str, Any]:
        return {"datasets_for_app": _datasets_for_app(app_id=listing.app.pk)}

    def program(self, listing: Listing) -> str | None:
        app = getattr(listing, "app", None)
        return None if app is None else app.wasm_sha256

    def registration(self, listing: Listing):
        # marketplace.chain.hub loads web3 (1.5 to 2.6 s measured here): imported when an app
        # is registered, not by every process that loads the markets.
        from marketplace.chain.hub import AppRegistration

        return AppRegistration(
            owner=listing.owner_wallet,
            name=listing.name,
            multiaddr=self.file_location(listing).encode(),
            checksum=bytes.fromhex(listing.app.wasm_sha256),
        )

    def stored_file(self, listing: Listing):
        return listing.app.wasm, f"{listing.slug}.wasm"

    def unlinked_match(self, asset: Asset) -> Q:
        return Q(app__wasm_sha256=asset.checksum.removeprefix("0x"))

    def create_placeholder(self, *, listing: Listing, asset: Asset) -> None:
        App.objects.create(
            listing=listing, wasm="", wasm_sha256=asset.checksum.removeprefix("0x"), wasm_size=0
        )

    def run_partners(self, run) -> str:
        pool = run.workerpool.name
        return f"{run.dataset.name} on {pool}" if run.dataset else pool
