"""Listings of the assets seen on chain: a newly registered asset is linked to the listing that
announced it, or gets a pending one for its owner (its market's adapter makes the placeholder
row). Called by the catalogue's indexer follower while the indexer projects the registration,
with the `Changes` of its block, so that a reorganization takes the link back."""

from __future__ import annotations

from collections.abc import Iterable

from marketplace.accounts.services import user_for_wallet
from marketplace.catalogue import services, texts
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.catalogue.reputation import listing_reputations
from marketplace.indexer.changes import Changes
from marketplace.indexer.models import Asset

# What the indexer's journal keeps of a listing it links: a reorganization that takes the
# asset back leaves the listing (its owner's to describe from then on) unlinked, to be found
# again if the asset comes back.
LINK_FIELDS = ("chain_address",)

PENDING_SUMMARY = "Registered on chain; its owner has not described it here yet."


def _matching_listing(asset: Asset) -> int | None:
    """The listing that announced this asset: by its address, or, for a listing not linked
    yet, by the owner's wallet and the file's checksum (a pool: its name)."""
    linked = (
        Listing.objects.filter(kind=asset.kind, chain_address__iexact=asset.address)
        .values_list("pk", flat=True)
        .first()
    )
    if linked is not None:
        return linked
    candidates = Listing.objects.filter(
        MARKETS[asset.kind].unlinked_match(asset),
        kind=asset.kind,
        chain_address="",
        owner_wallet__iexact=asset.owner,
    )
    return candidates.order_by("pk").values_list("pk", flat=True).first()


def _listing_name(asset: Asset) -> str:
    """The name a pending listing takes from the chain, where anyone writes what they like: the
    asset's name when it is one the catalogue accepts (plain text, not too long), else one made
    of its kind and address (the asset keeps the name as registered, for curators to read)."""
    name = asset.name.strip()
    if name and not texts.name_problem(name) and not texts.too_long("name", name, texts.NAME_MAX):
        return name
    return f"{asset.get_kind_display()} {asset.address[:10]}"


def _pending_listing(asset: Asset) -> Listing:
    """A new listing for `asset`, pending for its owner and not linked yet."""
    listing = services.listing_create(
        kind=asset.kind,
        owner=user_for_wallet(asset.owner),
        name=_listing_name(asset),
        summary=PENDING_SUMMARY,
        owner_wallet=asset.owner,
        status=CurationStatus.PENDING,
    )
    MARKETS[asset.kind].create_placeholder(listing=listing, asset=asset)
    return listing


def link_listing(asset: Asset, changes: Changes) -> None:
    """Point `asset` at its listing, making a pending one for its owner when there is none."""
    pk = _matching_listing(asset)
    listing = _pending_listing(asset) if pk is None else changes.get(Listing, pk)
    if listing.chain_address.lower() != asset.address.lower():
        # Journaled as it was, written now (another asset of this batch must not match the
        # same listing) and again, the same, when `changes` flushes.
        changes.edit(listing, LINK_FIELDS)
        services.listing_set_chain_address(listing=listing, address=asset.address)
    asset.listing_id = listing.pk


def rank_listings(*, chain_id: int, assets: Iterable[str] | None) -> bool:
    """Listings rank by their assets' records: set the reputation of the listings of `assets`
    (addresses on `chain_id`; None: every listing, a listing with no asset ranking 0) as
    marketplace.catalogue.reputation computes it. Whether any listing changed."""
    linked = Asset.objects.filter(chain_id=chain_id, listing__isnull=False)
    if assets is not None:
        linked = linked.filter(address__in=list(assets))
    linked = list(
        linked.only("address", "listing_id", "tasks_completed", "tasks_failed", "revenue")
    )
    listings = Listing.objects.filter(pk__in=[asset.listing_id for asset in linked]).only(
        "pk", "kind", "reputation", "rating_avg", "rating_count"
    )
    by_pk = {listing.pk: listing for listing in listings}
    scores = listing_reputations(
        chain_id=chain_id,
        linked=[(asset, by_pk[asset.listing_id]) for asset in linked if asset.listing_id in by_pk],
    )
    changed = [
        listing
        for pk, listing in by_pk.items()
        if pk in scores and listing.reputation != scores[pk]
    ]
    for listing in changed:
        listing.reputation = scores[listing.pk]
    Listing.objects.bulk_update(changed, ["reputation"], batch_size=500)
    unranked = 0
    if assets is None:
        unranked = Listing.objects.exclude(pk__in=scores).exclude(reputation=0).update(reputation=0)
    return bool(changed) or unranked > 0
