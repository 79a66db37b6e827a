"""The Data market in the catalogue: its adapter (see marketplace.catalogue.markets)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from datamarket.forms import DatasetForm
from datamarket.models import Dataset
from marketplace.catalogue.forms import ListingFilterForm
from marketplace.catalogue.markets import MarketAdapter
from marketplace.catalogue.models import Listing, Market
from marketplace.indexer.models import Asset, OrderKind


class DatasetMarket(MarketAdapter):
    kind = Market.DATASET
    plural = "Datasets"
    noun = "dataset"
    article = "A dataset"
    url_prefix = "datasets"
    tagline = "Encrypted data, priced per task, readable only by the apps you allow."
    detail_relation = "dataset"
    order_kind = OrderKind.DATASET
    form_class = DatasetForm
    filter_form_class = ListingFilterForm
    sell_restrictions = ("requester_restrict",)
    sell_note = (
        "One order per allowed app registered on chain: only those apps can use the dataset."
    )
    facts_template = "datamarket/_facts.html"
    owner_links_template = "datamarket/_owner_links.html"
    curation_checks_template = "datamarket/_curation_checks.html"

    def detail_context(self, listing: Listing) -> dict[str, Any]:
        return {"allowed_apps": listing.dataset.allowed_apps.select_related("listing")}

    def registration(self, listing: Listing):
        # marketplace.chain.hub loads web3 (1.5 to 2.6 s measured here): imported when a
        # dataset is registered, not by every process that loads the markets.
        from marketplace.chain.hub import DatasetRegistration

        return DatasetRegistration(
            owner=listing.owner_wallet,
            name=listing.name,
            multiaddr=self.file_location(listing).encode(),
            checksum=bytes.fromhex(listing.dataset.encrypted_sha256),
        )

    def stored_file(self, listing: Listing):
        return listing.dataset.encrypted_file, f"{listing.slug}.enc"

    def task_file_name(self, address: str) -> str | None:
        listing = Listing.objects.filter(chain_address=address, kind=self.kind).first()
        original = listing.dataset.original_name if listing is not None else ""
        return original or "dataset"

    def unlinked_match(self, asset: Asset) -> Q:
        return Q(dataset__encrypted_sha256=asset.checksum.removeprefix("0x"))

    def create_placeholder(self, *, listing: Listing, asset: Asset) -> None:
        Dataset.objects.create(
            listing=listing,
            encrypted_file="",
            encrypted_sha256=asset.checksum.removeprefix("0x"),
            encrypted_size=0,
            plain_size=0,
            original_name="",
            wrapped_key=b"",
        )

    def _allowed_apps(self, listing: Listing) -> list[str]:
        """The addresses of the apps allowed to read the dataset that are on chain."""
        apps = listing.dataset.allowed_apps.exclude(listing__chain_address="")
        return sorted(apps.values_list("listing__chain_address", flat=True))

    def offer_variants(self, listing: Listing) -> list[dict[str, Any]]:
        # One order per allowed app: a dataset is usable only by the apps its provider chose.
        return [{"apprestrict": app} for app in self._allowed_apps(listing)]

    def sell_refusal(self, listing: Listing) -> str:
        if self._allowed_apps(listing):
            return ""
        return (
            "No app allowed to use this dataset is registered on chain yet: choose the "
            "allowed apps (Edit), and sell once one of them is registered."
        )

    def buy_with(self, listing: Listing) -> list[Listing]:
        # A dataset is bought with an app it allows.
        return list(
            Listing.objects.filter(
                kind=Market.APP, is_public=True, app__in=listing.dataset.allowed_apps.all()
            )
            .exclude(chain_address="")
            .order_by("name")
        )

    def run_partners(self, run) -> str:
        return f"{run.app.name} on {run.workerpool.name}"
