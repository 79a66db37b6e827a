"""The catalogue follows the indexer (marketplace.indexer.followers): list pages cached before
a batch changed listings or registrations are retired, and newly registered assets get their
listings (marketplace.catalogue.assets)."""

from __future__ import annotations

from marketplace.catalogue.assets import link_listing
from marketplace.catalogue.freshness import catalogue_changed
from marketplace.indexer.changes import Changes
from marketplace.indexer.followers import IndexedBatch
from marketplace.indexer.models import Asset


class CatalogueFollower:
    """Inside the batch's transaction: its cache retirement must cover the batch's commit."""

    in_transaction = True

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything or batch.listings_changed or batch.registrations:
            catalogue_changed()

    def link_asset(self, asset: Asset, changes: Changes) -> None:
        link_listing(asset, changes)
