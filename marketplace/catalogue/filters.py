"""What a list page can ask of the catalogue: its filters and sort orders. Read by the filter
forms, the market adapters and the selectors, and importing none of them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SORTS = {
    # Ids grow with creation time; ordering by id lets search walk its index newest first.
    "newest": ("-id",),
    "price_asc": ("price_from", "-id"),
    # Read backwards along the (price_from, -id) index.
    "price_desc": ("-price_from", "id"),
    "rating": ("-rating_avg", "-rating_count", "-id"),
    # marketplace.catalogue.reputation; equals (all 0 before any record) newest first.
    "reputation": ("-reputation", "-id"),
}
# Every market's list opens by reputation: before any record every listing ranks 0, and the
# order is the newest first, as it was.
DEFAULT_SORT = "reputation"


@dataclass(frozen=True)
class ListingFilters:
    q: str = ""
    tag: str = ""
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    rating_min: int | None = None
    sort: str = DEFAULT_SORT
    # worker pools only
    cores_min: int | None = None
    memory_min_gib: int | None = None
    location: str = ""
    energy_class: str = ""
    visibility: str = ""
