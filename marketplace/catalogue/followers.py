"""The catalogue follows the indexer (marketplace.indexer.followers): newly registered assets
get their listings, listings rank by their assets' records, and list pages cached before a batch
changed either are retired (marketplace.catalogue.assets)."""

from __future__ import annotations

from marketplace.catalogue.assets import link_listing, rank_listings
from marketplace.catalogue.freshness import catalogue_changed
from marketplace.indexer.changes import Changes
from marketplace.indexer.followers import IndexedBatch
from marketplace.indexer.models import Asset


class CatalogueFollower:
    """Inside the batch's transaction: the reputations it sets commit (or roll back) with the
    batch, and its cache retirement must cover the batch's commit."""

    in_transaction = True

    def __call__(self, batch: IndexedBatch) -> None:
        if batch.everything:
            reranked = rank_listings(chain_id=batch.chain_id, assets=None)
        else:
            reranked = bool(batch.rated) and rank_listings(
                chain_id=batch.chain_id, assets=batch.rated
            )
        if batch.everything or batch.registrations or reranked:
            catalogue_changed()

    def link_asset(self, asset: Asset, changes: Changes) -> None:
        link_listing(asset, changes)
