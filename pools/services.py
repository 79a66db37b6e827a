"""Cloud market writes: a worker pool listing and its attributes."""

from __future__ import annotations

from marketplace.catalogue import services as catalogue
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.storage import atomic_with_files
from marketplace.matchmaking.attributes import pool_expression
from marketplace.matchmaking.classads import CONDITION, NUMBER, ExpressionRefused
from pools.models import Workerpool

POOL_ATTRIBUTES = ("cpu_cores", "memory_mb", "runtime", "location", "energy_class", "visibility")
# The operator's Requirements and Rank of requests: ClassAd text as they typed it (empty: none).
# Optional in `attributes`: left out, a new pool has none and an edit keeps the pool's own.
POOL_EXPRESSIONS = ("requirements", "rank")
# What each must give: Requirements a condition, Rank a number.
EXPRESSION_KINDS = {"requirements": CONDITION, "rank": NUMBER}


def _expressions(attributes: dict) -> dict[str, str]:
    """The expressions `attributes` gives, stripped, once the matcher reads them (checked here
    too: the form is not the only caller). Raises CatalogueError with the parser's words."""
    found = {}
    for name in POOL_EXPRESSIONS:
        if name not in attributes:
            continue
        text = str(attributes[name] or "").strip()
        if text:
            try:
                pool_expression(text, kind=EXPRESSION_KINDS[name])
            except ExpressionRefused as refused:
                raise catalogue.CatalogueError(f"{name.capitalize()}: {refused}") from None
        found[name] = text
    return found


@atomic_with_files()
def workerpool_submit(*, owner, attributes: dict, **listing_fields) -> Listing:
    """A new pool listing, pending curation. `attributes` holds every POOL_ATTRIBUTES and may
    hold POOL_EXPRESSIONS."""
    expressions = _expressions(attributes)
    listing = catalogue.listing_create(kind=Market.POOL, owner=owner, **listing_fields)
    pool = Workerpool(listing=listing, **{k: attributes[k] for k in POOL_ATTRIBUTES}, **expressions)
    pool.full_clean()
    pool.save()
    return listing


@atomic_with_files()
def workerpool_update(*, listing: Listing, actor, attributes: dict, **listing_fields) -> Listing:
    """The owner edits a pool. `attributes` holds every POOL_ATTRIBUTES and may hold
    POOL_EXPRESSIONS (left out: unchanged).

    An edit of the Requirements and Rank alone keeps the pool as curators left it: they are
    the operator's terms of trade, which the matcher reads, not what curators review (its
    texts, tags, prices and attributes); any other change sends it back to review."""
    expressions = _expressions(attributes)
    listing = catalogue.listing_for_edit(listing=listing, actor=actor)
    pool = Workerpool.objects.select_for_update().get(listing=listing)
    terms_only = all(getattr(pool, k) == attributes[k] for k in POOL_ATTRIBUTES) and (
        catalogue.listing_unchanged(listing, **listing_fields)
    )
    if not terms_only:
        listing = catalogue.listing_update(listing=listing, actor=actor, **listing_fields)
    for name, value in {**{k: attributes[k] for k in POOL_ATTRIBUTES}, **expressions}.items():
        setattr(pool, name, value)
    pool.full_clean()
    pool.save()
    return listing
