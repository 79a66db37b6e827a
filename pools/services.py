"""Cloud market writes: a worker pool listing and its attributes."""

from __future__ import annotations

from marketplace.catalogue import services as catalogue
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.storage import atomic_with_files
from pools.models import Workerpool

POOL_ATTRIBUTES = ("cpu_cores", "memory_mb", "runtime", "location", "energy_class", "visibility")


@atomic_with_files()
def workerpool_submit(*, owner, attributes: dict, **listing_fields) -> Listing:
    listing = catalogue.listing_create(kind=Market.POOL, owner=owner, **listing_fields)
    pool = Workerpool(listing=listing, **{k: attributes[k] for k in POOL_ATTRIBUTES})
    pool.full_clean()
    pool.save()
    return listing


@atomic_with_files()
def workerpool_update(*, listing: Listing, actor, attributes: dict, **listing_fields) -> Listing:
    listing = catalogue.listing_update(listing=listing, actor=actor, **listing_fields)
    pool = Workerpool.objects.select_for_update().get(listing=listing)
    for name in POOL_ATTRIBUTES:
        setattr(pool, name, attributes[name])
    pool.full_clean()
    pool.save()
    return listing
