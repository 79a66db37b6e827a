"""Reads of the catalogue. Every queryset here carries its joins, so that a page costs the same
number of queries with 10 listings or 100,000."""

from __future__ import annotations

import difflib
import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import overload

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Case, Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When

from marketplace.accounts.models import Wallet
from marketplace.addresses import normalize
from marketplace.catalogue import search
from marketplace.catalogue.filters import SORTS, ListingFilters
from marketplace.catalogue.freshness import catalogue_version
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import (
    Comment,
    CurationStatus,
    Listing,
    ListingPrice,
    ListingReport,
    Rating,
    Tag,
)
from marketplace.catalogue.pagination import COUNT_CAP
from marketplace.indexer.models import Deal, Task, TaskStatus
from marketplace.prepared import Prepared, give_prefetched


def _card_queryset(kind: str | None = None) -> QuerySet[Listing]:
    queryset = (
        Listing.objects.select_related("owner")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name", "slug")))
        .defer("description", "description_html", "search_vector")
    )
    markets = MARKETS.values() if kind is None else [MARKETS[kind]]
    relations = [relation for market in markets for relation in market.card_relations]
    if relations:
        # What the cards show of the market's own row; a LEFT JOIN when markets are mixed.
        queryset = queryset.select_related(*relations)
    return queryset


def market_tags(*, kind: str, limit: int = 30) -> list[Tag]:
    """Tags used by the market's public listings, for the filter menu. Cached for a minute:
    computing it scans every public listing of the market."""
    key = f"catalogue:market-tags:{kind}:{limit}"
    tags = cache.get(key)
    if tags is None:
        used = Listing.tags.through.objects.filter(
            tag=OuterRef("pk"), listing__kind=kind, listing__is_public=True
        )
        tags = list(Tag.objects.filter(Exists(used)).order_by("name")[:limit])
        cache.set(key, tags, timeout=60)
    return tags


class ListingsInOrder(Sequence[Listing]):
    """Listings whose ids are already known, in the order to show them: a pager counts them
    without a query and reads one page with one query (plus its prefetches)."""

    def __init__(self, queryset: QuerySet[Listing], ids: list[int]) -> None:
        self.queryset = queryset
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def count(self) -> int:  # the pager's count
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Listing: ...
    @overload
    def __getitem__(self, index: slice) -> list[Listing]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            ids = self.ids[index]
            found = self.queryset.in_bulk(ids)
            # A listing that left the market since its id was read is simply left out.
            return [found[listing_id] for listing_id in ids if listing_id in found]
        listing = self[index : index + 1] if index >= 0 else self[index:][:1]
        if not listing:
            raise IndexError(index)
        return listing[0]

    def __iter__(self) -> Iterator[Listing]:
        for start in range(0, len(self.ids), 500):
            yield from self[start : start + 500]


def listing_list(
    *, kind: str, filters: ListingFilters, capped: bool = False
) -> QuerySet[Listing] | ListingsInOrder:
    """Public listings of one market, filtered and sorted. `capped`: the caller shows at most
    COUNT_CAP of them (the pages' CappedPaginator), which lets a plain search read only the
    newest COUNT_CAP + 1 matches."""
    queryset = _card_queryset(kind).filter(kind=kind, is_public=True)
    if filters.q:
        plain = filters == ListingFilters(q=filters.q, sort=filters.sort) and (
            SORTS.get(filters.sort) == SORTS["newest"]
        )
        if plain and capped:
            # A plain search, newest first: the pager never shows more than COUNT_CAP
            # listings, read once for its count and its page.
            ids = search.newest_public_matches(filters.q, kind=kind, limit=COUNT_CAP + 1)
            if ids is not None:
                return ListingsInOrder(queryset, ids)
        queryset = search.filter_by_search(queryset, filters.q, public_kind=kind)
    if filters.tag:
        queryset = queryset.filter(
            Exists(
                Listing.tags.through.objects.filter(listing=OuterRef("pk"), tag__slug=filters.tag)
            )
        )
    if filters.price_min is not None:
        queryset = queryset.filter(price_from__gte=filters.price_min)
    if filters.price_max is not None:
        queryset = queryset.filter(price_from__lte=filters.price_max)
    if filters.rating_min:
        queryset = queryset.filter(rating_avg__gte=filters.rating_min)
    queryset = MARKETS[kind].filter_listings(queryset, filters)
    return queryset.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def results_cache_key(*, kind: str, filters: ListingFilters, page: int) -> str:
    """Where a rendered page of results is cached: the filters as parsed (so equivalent query
    strings share it), the page and the catalogue's version."""
    digest = hashlib.sha256(f"{kind}|{filters!r}|{page}".encode()).hexdigest()[:32]
    return f"catalogue:results:{catalogue_version()}:{digest}"


def listing_visible_to(*, listing: Listing, user) -> bool:
    return listing.is_public or (
        user.is_authenticated and (user.is_staff or listing.owner_id == user.pk)
    )


# Every anonymous visit of a listing page reads it first (its cache key): prepared.
_listing_ids = Prepared(
    lambda kind, slug: Listing.objects.filter(kind=kind, slug=slug).values_list("pk", flat=True)
)


def listing_id(*, kind: str, slug: str) -> int | None:
    """The id of listing `slug` of market `kind`, whoever may see it (None: none)."""
    found = _listing_ids(kind=kind, slug=slug)
    return found[0] if found else None


# A listing page's own reads: prepared (marketplace.prepared), a listing's per market (made
# when first read: the markets load once Django is ready).
_LISTING_PAGES: dict[str, Prepared] = {}


def _listing_page(kind: str) -> Prepared:
    read = _LISTING_PAGES.get(kind)
    if read is None:
        relation = MARKETS[kind].detail_relation
        read = _LISTING_PAGES[kind] = Prepared(
            lambda slug: Listing.objects.select_related("owner", relation)
            .filter(kind=kind, slug=slug)
            .order_by("pk")[:1]
        )
    return read


# Its tags and prices, given to it as prefetched (see give_prefetched).
_tags = Prepared(lambda listing_id: Tag.objects.filter(listings=listing_id))
_prices = Prepared(lambda listing_id: ListingPrice.objects.filter(listing_id=listing_id))


_comments = Prepared(
    lambda listing_id: Comment.objects.filter(listing_id=listing_id, parent__isnull=True)
    .select_related("author")
    .prefetch_related(
        Prefetch(
            "replies",
            queryset=Comment.objects.select_related("author").order_by("created_at", "id"),
        )
    )
    .order_by("created_at", "id")
)


def listing_detail(*, kind: str, slug: str) -> Listing | None:
    """Listing `slug` of market `kind` with its market's row; None: none (or no such market)."""
    if kind not in MARKETS:
        return None
    found = _listing_page(kind)(slug=slug)
    if not found:
        return None
    listing = found[0]
    give_prefetched(listing, "tags", _tags(listing_id=listing.pk))
    give_prefetched(listing, "prices", _prices(listing_id=listing.pk))
    return listing


def listing_comments(*, listing: Listing) -> list[Comment]:
    """First-level comments, oldest first, with their replies and authors."""
    return _comments(listing_id=listing.pk)


@dataclass(frozen=True)
class RatingRight:
    """Whether a user may rate a listing: the deal that makes them a verified buyer (the
    earliest of their deals of it with a finalized task), or, when there is none, why not and
    what to do (`refusal`, one sentence for the page and the API alike)."""

    deal: Deal | None
    refusal: str = ""

    @property
    def allowed(self) -> bool:
        return self.deal is not None


def rating_right(*, listing: Listing, user, keep: str = "") -> RatingRight:
    """May `user` (signed in, not its owner: the service checks those) rate `listing`?

    Only a buyer may: one of the user's wallets paid (the deal's payer) for a deal of the
    listing (its chain address in the deal's field of its market: app, dataset or workerpool)
    that has at least one COMPLETED, that is finalized, task. `keep`: the deal a review already
    names, kept when it still qualifies (its badge does not move at each edit)."""
    name = listing.name
    wallets = list(Wallet.objects.filter(user=user).values_list("address", flat=True))
    if not wallets:
        return RatingRight(
            None,
            f"Only buyers can rate: no wallet is linked to your account. Link the wallet you "
            f"bought {name} with (on your Wallets page), or buy a run, and rate it once a task "
            "is finalized.",
        )
    if not listing.chain_address:
        return RatingRight(
            None,
            f"Only buyers can rate: {name} is not on chain yet, so no one has bought it. "
            "Rate it once you bought a run and a task is finalized.",
        )
    role = str(MARKETS[listing.kind].order_kind)
    deals = Deal.objects.filter(
        chain_id=settings.CHAIN_ID, payer__in=wallets, **{role: normalize(listing.chain_address)}
    )
    finished = Task.objects.filter(
        chain_id=settings.CHAIN_ID, dealid=OuterRef("dealid"), status=TaskStatus.COMPLETED
    )
    verified = deals.filter(Exists(finished)).order_by(
        Case(When(dealid=keep, then=Value(0)), default=Value(1)), "id"
    )
    deal = verified.first()
    if deal is not None:
        return RatingRight(deal)
    if deals.exists():
        return RatingRight(
            None,
            f"Only buyers can rate: your purchase of {name} has no finalized task yet. Rate it "
            "once a task is finalized (its deal page follows it).",
        )
    return RatingRight(
        None,
        f"Only buyers can rate: none of your wallets paid for a finished task of {name}. Buy "
        "a run, and rate it once a task is finalized.",
    )


_reviews = Prepared(
    lambda listing_id: Rating.objects.filter(listing_id=listing_id)
    .select_related("user")
    .annotate(unverified=Case(When(dealid="", then=Value(1)), default=Value(0)))
    .order_by("unverified", "-created_at", "-id")
)


def listing_reviews(*, listing: Listing) -> list[Rating]:
    """The listing's reviews with their authors: verified ones first, newest first; then the
    unverified ratings given before purchases were checked (shown, not counted)."""
    return _reviews(listing_id=listing.pk)


def reported_reviews() -> QuerySet[Rating]:
    return (
        Rating.objects.filter(reports__isnull=False, reports__resolved_at__isnull=True)
        .select_related("user", "listing")
        .prefetch_related("reports")
        .distinct()
        .order_by("-report_count")
    )


def listing_decisions(*, listing: Listing):
    return listing.decisions.select_related("actor").order_by("-created_at", "-id")


def home_sections(*, per_market: int = 4) -> dict:
    """Featured and newest public listings of each market, and how many each has."""
    counts = dict(
        Listing.objects.filter(is_public=True).values_list("kind").annotate(n=Count("id"))
    )
    sections = []
    for kind, market in MARKETS.items():
        base = _card_queryset(kind).filter(kind=kind, is_public=True)
        sections.append(
            {
                "market": market,
                "count": counts.get(kind, 0),
                "featured": list(base.filter(status=CurationStatus.FEATURED)[:per_market]),
                "newest": list(base.order_by(*SORTS["newest"])[:per_market]),
            }
        )
    return {"sections": sections, "total": sum(counts.values())}


def provider_listings(*, owner=None, wallet: str = "", viewer) -> QuerySet[Listing]:
    """What a user (or wallet) lists: public listings, plus all of them for the owner and staff."""
    queryset = _card_queryset()
    if owner is not None:
        queryset = queryset.filter(owner=owner)
        sees_all = viewer.is_authenticated and (viewer.is_staff or viewer.pk == owner.pk)
    else:
        queryset = queryset.filter(owner_wallet__iexact=wallet)
        sees_all = viewer.is_authenticated and viewer.is_staff
    if not sees_all:
        queryset = queryset.filter(is_public=True)
    return queryset.order_by("kind", "-created_at")


def my_listings(*, user) -> QuerySet[Listing]:
    return (
        _card_queryset()
        .filter(owner=user)
        .prefetch_related(
            Prefetch(
                "decisions",
                queryset=Listing.decisions.rel.related_model.objects.select_related(
                    "actor"
                ).order_by("-created_at", "-id"),
            )
        )
        .order_by("-updated_at")
    )


def owner_next_step(*, listing: Listing, on_sale: bool) -> str:
    """What the owner of an approved listing does next so that it sells: "wallet" (choose a
    payout wallet), "register" (register it on chain), "sell" (publish an offer on the book),
    or "" (it is on sale, or not approved)."""
    if not listing.is_public:
        return ""
    if not listing.owner_wallet:
        return "wallet"
    if not listing.chain_address:
        return "register"
    return "" if on_sale else "sell"


def curation_queue(*, status: str = CurationStatus.PENDING) -> QuerySet[Listing]:
    open_reports = ListingReport.objects.filter(listing=OuterRef("pk"), resolved_at__isnull=True)
    queryset = (
        _card_queryset()
        .select_related(*(market.detail_relation for market in MARKETS.values()))
        .annotate(
            open_reports=Count("reports", filter=Q(reports__resolved_at__isnull=True)),
            has_open_reports=Exists(open_reports),
        )
    )
    if status == "reported":
        return queryset.filter(has_open_reports=True).order_by("-updated_at")
    return queryset.filter(status=status).order_by("updated_at")


def reported_comments() -> QuerySet[Comment]:
    return (
        # Both conditions on the same join: an unreported comment has no report row at all.
        Comment.objects.filter(reports__isnull=False, reports__resolved_at__isnull=True)
        .select_related("author", "listing")
        .prefetch_related("reports")
        .distinct()
        .order_by("-report_count")
    )


def user_by_username(username: str):
    return get_user_model().objects.filter(username=username).first()


# ---------------------------------------------------------------------- curation checks

# Names at least this alike (difflib's ratio of their comparison keys) are pointed out.
CLOSE_NAME_RATIO = 0.85


@dataclass(frozen=True)
class Resemblance:
    """Another listing that a listing under review resembles: the same program byte for byte
    (`same_program`), or a name close to its own (`close_name`)."""

    reason: str
    pk: int
    name: str
    kind: str
    slug: str
    status: str
    owner: str

    @property
    def url(self) -> str:
        return Listing(pk=self.pk, kind=self.kind, slug=self.slug).get_absolute_url()

    @property
    def status_label(self) -> str:
        return CurationStatus(self.status).label.lower()


def name_key(name: str) -> str:
    """What two names are compared by: letters and digits only, case-folded, so that
    "ResVG", "res vg" and "res-vg" are one name."""
    return "".join(c for c in unicodedata.normalize("NFKC", name).casefold() if c.isalnum())


_OTHER_FIELDS = ("pk", "name", "kind", "slug", "status", "owner__username")


def listing_resemblances(listings: Iterable[Listing]) -> dict[int, list[Resemblance]]:
    """For each listing, the other listings (any status) with the same program or a close name
    in the same market, so that curators notice a copy or an impersonation.

    Two queries for programs and one per market for names. The name comparison reads every
    name of the market once and compares each listing's against them all: its cost grows with
    the market (a few milliseconds per listing and thousand names)."""
    listings = list(listings)
    found: dict[int, list[Resemblance]] = {listing.pk: [] for listing in listings}

    # Listings of a market with programs, by the lookup of their program's checksum.
    programs: dict[str, dict[int, str]] = defaultdict(dict)
    for listing in listings:
        market = MARKETS[listing.kind]
        if market.program_lookup and (program := market.program(listing)) is not None:
            programs[market.program_lookup][listing.pk] = program
    for lookup, checksums in programs.items():
        twins: dict[str, list[tuple]] = defaultdict(list)
        for row in Listing.objects.filter(**{f"{lookup}__in": set(checksums.values())}).values_list(
            lookup, *_OTHER_FIELDS
        ):
            twins[row[0]].append(row[1:])
        for pk, checksum in checksums.items():
            found[pk] += [
                Resemblance("same_program", *row) for row in twins[checksum] if row[0] != pk
            ]

    for kind in {listing.kind for listing in listings}:
        by_key: dict[str, list[tuple]] = defaultdict(list)
        for row in Listing.objects.filter(kind=kind).values_list(*_OTHER_FIELDS):
            by_key[name_key(row[1])].append(row)
        keys = list(by_key)
        for listing in listings:
            if listing.kind != kind:
                continue
            key = name_key(listing.name)
            close = difflib.get_close_matches(key, keys, n=5, cutoff=CLOSE_NAME_RATIO)
            found[listing.pk] += [
                Resemblance("close_name", *row)
                for match in close
                for row in by_key[match]
                if row[0] != listing.pk
            ]
    return found
