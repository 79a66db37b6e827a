"""Reads of the order book: the list with its filters, one order, and the best offers for a
request (what a buyer's "best offer" finds); what listings cost now (their open offers, and the
cheapest complete run each takes part in); and the input files buyers stored for their tasks,
with the ones a deal or a request still needs."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber

from datamarket.models import Dataset
from marketplace.catalogue.freshness import catalogue_version
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, Market, TaskCategory
from marketplace.chain.orders import checksummed, tag_covers, tag_union
from marketplace.deals.selectors import deal_final_deadline
from marketplace.indexer.models import Asset, Deal, OrderKind
from marketplace.indexer.selectors import indexed_categories
from marketplace.orders.models import InputFile, Order, OrderStatus
from marketplace.prepared import Prepared

# Tag bits 0 to 62 are filtered in SQL (the `tag_bits` column); a request needing a higher bit,
# which no pool of ours offers, has the cheapest offers checked in Python.
_LOW_BITS = 2**63 - 1
_TAG_CANDIDATES = 200


@dataclasses.dataclass(frozen=True)
class OrderFilters:
    """The book's filters; None means "any"."""

    kind: str | None = None
    asset: str | None = None
    owner: str | None = None
    category: int | None = None
    min_trust: int | None = None
    tag_bits: int | None = None
    min_volume: int | None = None
    price_min: int | None = None
    price_max: int | None = None
    status: str | None = OrderStatus.OPEN


def order_list(*, chain_id: int, filters: OrderFilters) -> QuerySet[Order]:
    """Orders matching `filters`, cheapest first, then oldest first."""
    orders = Order.objects.filter(chain_id=chain_id)
    if filters.status:
        orders = orders.filter(status=filters.status)
    if filters.kind:
        orders = orders.filter(kind=filters.kind)
    if filters.asset:
        orders = orders.filter(asset=checksummed(filters.asset.lower()))
    if filters.owner:
        orders = orders.filter(signer=checksummed(filters.owner.lower()))
    if filters.category is not None:
        orders = orders.filter(category=filters.category)
    if filters.min_trust is not None:
        orders = orders.filter(trust__gte=filters.min_trust)
    if filters.tag_bits:
        orders = orders.alias(tagged=F("tag_bits").bitand(filters.tag_bits)).filter(
            tagged=filters.tag_bits
        )
    if filters.min_volume is not None:
        orders = orders.filter(remaining__gte=filters.min_volume)
    if filters.price_min is not None:
        orders = orders.filter(price__gte=filters.price_min)
    if filters.price_max is not None:
        orders = orders.filter(price__lte=filters.price_max)
    return orders.order_by("price", "created_at", "id")


def order_detail(*, chain_id: int, digest: str) -> Order | None:
    return Order.objects.filter(chain_id=chain_id, digest=digest.lower()).first()


@dataclasses.dataclass(frozen=True)
class Wanted:
    """What a buyer asks for: an app, maybe a dataset, maybe a given pool, a category, a
    trust, a volume, from a requester; prices at most the given ones (None: any)."""

    app: str
    category: int
    requester: str
    dataset: str = ""
    workerpool: str = ""
    trust: int = 0
    volume: int = 1
    tag: bytes = bytes(32)
    app_max: int | None = None
    dataset_max: int | None = None
    workerpool_max: int | None = None


def listed_app(*, address: str) -> Listing | None:
    """The app listing of this site registered at `address`, with its program."""
    if not address:
        return None
    return (
        Listing.objects.filter(kind=Market.APP, chain_address=checksummed(address))
        .select_related("app")
        .first()
    )


def listed_dataset(*, address: str) -> Listing | None:
    """The dataset listing of this site registered at `address`, with its file."""
    if not address:
        return None
    return (
        Listing.objects.filter(kind=Market.DATASET, chain_address=checksummed(address))
        .select_related("dataset")
        .first()
    )


def assets_on_sale(*, chain_id: int, addresses: Iterable[str]) -> set[str]:
    """Those of these asset addresses that have an open offer (not a request) on the book."""
    wanted = [address for address in addresses if address]
    if not wanted:
        return set()
    return set(
        Order.objects.filter(chain_id=chain_id, asset__in=wanted, status=OrderStatus.OPEN)
        .exclude(kind="request")
        .values_list("asset", flat=True)
        .distinct()
    )


def _either(field: str, value: str) -> Q:
    """The restriction `field` lets `value` through: unset, or exactly it."""
    return Q(**{field: ""}) | Q(**{field: value}) if value else Q(**{field: ""})


def best_app_order(*, chain_id: int, wanted: Wanted) -> Order | None:
    """The cheapest open order of the app that lets this dataset, pool and requester buy."""
    orders = Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.APP,
        asset=wanted.app,
        status=OrderStatus.OPEN,
        remaining__gte=wanted.volume,
    ).filter(
        _either("dataset_restrict", wanted.dataset),
        _either("requester_restrict", wanted.requester),
    )
    if wanted.workerpool:
        orders = orders.filter(_either("workerpool_restrict", wanted.workerpool))
    if wanted.app_max is not None:
        orders = orders.filter(price__lte=wanted.app_max)
    return orders.order_by("price", "created_at", "id").first()


def best_dataset_order(*, chain_id: int, wanted: Wanted) -> Order | None:
    """The cheapest open order of the dataset that lets this app, pool and requester use it."""
    if not wanted.dataset:
        return None
    orders = Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.DATASET,
        asset=wanted.dataset,
        status=OrderStatus.OPEN,
        remaining__gte=wanted.volume,
    ).filter(_either("app_restrict", wanted.app), _either("requester_restrict", wanted.requester))
    if wanted.workerpool:
        orders = orders.filter(_either("workerpool_restrict", wanted.workerpool))
    if wanted.dataset_max is not None:
        orders = orders.filter(price__lte=wanted.dataset_max)
    return orders.order_by("price", "created_at", "id").first()


def best_workerpool_orders(
    *,
    chain_id: int,
    wanted: Wanted,
    required_tag: bytes,
    app_order: Order | None = None,
    dataset_order: Order | None = None,
    limit: int = 1,
) -> list[Order]:
    """The cheapest open pool offers of the category with at least the trust, that offer the
    tag, accept this app, dataset and requester, and that the app and dataset orders accept."""
    orders = Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.WORKERPOOL,
        category=wanted.category,
        status=OrderStatus.OPEN,
        trust__gte=wanted.trust,
        remaining__gte=wanted.volume,
    ).filter(
        _either("app_restrict", wanted.app),
        _either("dataset_restrict", wanted.dataset),
        _either("requester_restrict", wanted.requester),
    )
    if wanted.workerpool:
        orders = orders.filter(asset=wanted.workerpool)
    for restricting in (app_order, dataset_order):
        if restricting is not None and restricting.workerpool_restrict:
            orders = orders.filter(asset=restricting.workerpool_restrict)
    if wanted.workerpool_max is not None:
        orders = orders.filter(price__lte=wanted.workerpool_max)
    low_bits = int.from_bytes(required_tag, "big") & _LOW_BITS
    if low_bits:  # bits 0 to 62 in SQL; any higher one is checked below
        orders = orders.alias(offered=F("tag_bits").bitand(low_bits)).filter(offered=low_bits)
    orders = orders.order_by("price", "created_at", "id")
    if int.from_bytes(required_tag, "big") == low_bits:
        return list(orders[:limit])
    found = []
    for order in orders[:_TAG_CANDIDATES]:
        if tag_covers(offered=order.tag, required=required_tag):
            found.append(order)
            if len(found) == limit:
                break
    return found


def asset_registered(*, chain_id: int, address: str, kind: str) -> bool:
    """Whether an asset of `kind` (app, dataset, workerpool) is registered at `address` on
    this chain, as the indexer has seen it."""
    return Asset.objects.filter(chain_id=chain_id, address__iexact=address, kind=kind).exists()


def registered_listings(*, kinds: Iterable[str]) -> QuerySet[Listing]:
    """The public listings of `kinds` registered on chain, by name: what a buyer may name."""
    return (
        Listing.objects.filter(kind__in=list(kinds), is_public=True)
        .exclude(chain_address="")
        .order_by("name", "pk")
    )


def listings_by_address(*, chain_id: int, addresses: Iterable[str]) -> dict[str, Listing]:
    """The public listings of these assets, by address (for names and links anyone may see:
    a listing waiting for review, renamed perhaps, is shown to nobody yet)."""
    assets = Asset.objects.filter(
        chain_id=chain_id, address__in=set(addresses), listing__is_public=True
    ).select_related("listing")
    return {asset.address: asset.listing for asset in assets}


# ---------------------------------------------------------------------- what listings cost

# The trust a purchase asks unless its buyer says otherwise (the buy form's default): a card
# advertises only runs whose pool offer gives at least that much, so that the buy form, as it
# opens, can buy the run the card shows.
DEFAULT_TRUST = 1

# How many of the cheapest pool offers of each category, and of the cheapest app offers, a
# pool's card looks at for its partners (restricted offers that do not fit are skipped).
RUN_CANDIDATES = 10
# How many offers of one asset (for a pool: of one category) a run looks at: the cheapest of
# each set of restrictions and tag, cheapest first. However many orders a provider publishes,
# a run reads and pairs this many of them at most.
OFFERS_PER_ASSET = 5
_CHEAPEST_FIRST = ("price", "created_at", "id")
# What an offer's fit with the other parts of a run depends on, by kind (besides its asset).
_FIT = {
    OrderKind.APP: ("dataset_restrict", "workerpool_restrict", "tag"),
    OrderKind.DATASET: ("app_restrict", "workerpool_restrict", "tag"),
    OrderKind.WORKERPOOL: ("category", "app_restrict", "dataset_restrict", "tag"),
}


def _address(listing: Listing) -> str:
    return (checksummed(listing.chain_address.lower()) or "") if listing.chain_address else ""


def _public_offers(chain_id: int, kind: str) -> QuerySet[Order]:
    """Open offers of `kind` that anyone may take (no buyer restriction)."""
    return Order.objects.filter(
        chain_id=chain_id, kind=kind, status=OrderStatus.OPEN, requester_restrict=""
    ).order_by(*_CHEAPEST_FIRST)


def _runnable_offers(chain_id: int, kind: str) -> QuerySet[Order]:
    """Open offers of `kind` that anyone may take in a default purchase (for a pool: giving
    at least DEFAULT_TRUST)."""
    offers = _public_offers(chain_id, kind)
    if kind == OrderKind.WORKERPOOL:
        offers = offers.filter(trust__gte=DEFAULT_TRUST)
    return offers


def _ranked(partition_by: Iterable[str]) -> Window:
    return Window(
        RowNumber(),
        partition_by=[F(field) for field in partition_by] or None,
        order_by=[F(field).asc() for field in _CHEAPEST_FIRST],
    )


def _cheapest_fits(
    offers: QuerySet[Order], *, kind: str, per: Iterable[str], limit: int
) -> QuerySet[Order]:
    """Of `offers` (all of `kind`), ranked in SQL: the cheapest of each asset and set of
    restrictions and tag (a dearer one with the same fit never makes a cheaper run), and of
    those the `limit` cheapest for each value of the `per` fields (none: overall)."""
    cheapest_of_each = (
        offers.annotate(rank=_ranked(("asset", *_FIT[kind]))).filter(rank=1).values("pk")
    )
    return (
        Order.objects.filter(pk__in=cheapest_of_each)
        .annotate(rank=_ranked(per))
        .filter(rank__lte=limit)
        .order_by(*_CHEAPEST_FIRST)
        .defer("message")
    )


def category_refusal(category: int, *, chain_id: int) -> str:
    """Why `category` cannot be asked ("" when the Hub has it): the sentence every form and
    API of a request gives."""
    names = category_names(chain_id=chain_id)
    if category in names:
        return ""
    known = ", ".join(f"{catid} ({name})" for catid, name in sorted(names.items()))
    return f"The Hub has no such category: choose one of {known}."


def category_names(*, chain_id: int) -> dict[int, str]:
    """The Hub's category names by id (XS, S...), the catalogue's when not indexed yet."""
    names = dict(enumerate(TaskCategory.values))
    names.update(indexed_categories(chain_id=chain_id))
    return names


@dataclasses.dataclass(frozen=True)
class BookPrice:
    """What a listing's cheapest open offer (for a pool: of one category) asks per task."""

    price: int  # ECT base units
    category: str = ""  # pools only

    @property
    def run_time(self) -> str:
        """How long a task of its category may run ("up to 5 min"); empty when unknown."""
        if self.category in TaskCategory.values:
            return TaskCategory(self.category).label.split(" · ", 1)[1]
        return ""


# Every listing page reads one of them: prepared (marketplace.prepared).
_cheapest_per_category = Prepared(
    lambda chain_id, kind, asset: _public_offers(chain_id, kind)
    .filter(asset=asset)
    .order_by("category")
    .values("category")
    .annotate(cheapest=Min("price"))
    .values_list("category", "cheapest")
)
_cheapest_price = Prepared(
    lambda chain_id, kind, asset: _public_offers(chain_id, kind)
    .filter(asset=asset)
    .values_list("price", flat=True)[:1]
)


def book_prices(*, chain_id: int, listing: Listing) -> list[BookPrice]:
    """The prices on offer now for `listing`: an app's or dataset's cheapest open offer anyone
    may take (one price per task, whatever the category), or a pool's cheapest per category,
    in category order. Empty: no open offer."""
    address = _address(listing)
    if not address:
        return []
    market = MARKETS[listing.kind]
    if market.prices_per_category:
        names = category_names(chain_id=chain_id)
        cheapest = _cheapest_per_category(chain_id=chain_id, kind=market.order_kind, asset=address)
        return [
            BookPrice(price=int(price), category=names.get(category, str(category)))
            for category, price in cheapest
        ]
    prices = _cheapest_price(chain_id=chain_id, kind=market.order_kind, asset=address)
    return [BookPrice(price=int(price)) for price in prices]


def categories_on_offer(
    *, chain_id: int, workerpools: Iterable[str], requesters: Iterable[str] = ()
) -> dict[str, list[int]]:
    """The categories each of these pools has an open offer of that anyone, or one of
    `requesters` (checksummed addresses), may take, by pool address: what a buyer paying from
    one of them may choose with that pool."""
    offers = (
        Order.objects.filter(
            chain_id=chain_id,
            kind=OrderKind.WORKERPOOL,
            status=OrderStatus.OPEN,
            asset__in=set(workerpools),
            requester_restrict__in={"", *requesters},
        )
        .order_by()
        .values_list("asset", "category")
        .distinct()
    )
    found: dict[str, list[int]] = {}
    for asset, category in offers:
        found.setdefault(asset, []).append(category)
    return {asset: sorted(categories) for asset, categories in found.items()}


@dataclasses.dataclass(frozen=True)
class Run:
    """The cheapest complete run of one task that a listing takes part in, from open offers
    anyone may take in a default purchase (trust DEFAULT_TRUST): its price per task (ECT base
    units: app + dataset + pool), its category, and the public listings of its app, dataset
    (None: none) and pool."""

    price: int
    category: str
    app: Listing
    dataset: Listing | None
    workerpool: Listing

    def partners(self, listing: Listing) -> list[Listing]:
        """The run's other parts, app first."""
        parts = [self.app, self.dataset, self.workerpool]
        return [part for part in parts if part is not None and part.pk != listing.pk]


def needs_dataset(app: Listing) -> bool:
    """Whether an app listing's program reads a dataset (its run without one fails)."""
    return app.app.needs_dataset


# Made when first read: the markets load once Django is ready.
_PUBLIC_LISTINGS: dict[str, Prepared] = {}


def _public_listings_of(kind: str) -> Prepared:
    read = _PUBLIC_LISTINGS.get(kind)
    if read is None:
        relation = MARKETS[kind].detail_relation  # an app's card reads its program's needs
        read = _PUBLIC_LISTINGS[kind] = Prepared(
            lambda addresses: Listing.objects.filter(
                kind=kind, is_public=True, chain_address__in=addresses
            ).select_related(relation)
        )
    return read


def _public_listings(kind: str, addresses: set[str]) -> dict[str, Listing]:
    if not addresses:
        return {}
    listings = _public_listings_of(kind)(addresses=tuple(sorted(addresses)))
    return {checksummed(listing.chain_address.lower()): listing for listing in listings}


def _listed(kind: str) -> Exists:
    """An offer's asset has a public listing of `kind`: looked up per offer by the listings'
    address index, where `asset IN (public listings)` makes SQLite list every public listing of
    the market first, on every call, whatever the size of the book."""
    return Exists(
        Listing.objects.filter(kind=kind, is_public=True, chain_address=OuterRef("asset"))
    )


_allowed_apps = Prepared(
    lambda datasets: Dataset.allowed_apps.through.objects.filter(
        dataset__listing__chain_address__in=datasets
    ).values_list("dataset__listing__chain_address", "app__listing__chain_address")
)


def _allowed_pairs(datasets: set[str]) -> set[tuple[str, str]]:
    """(dataset, app) addresses: the apps each dataset lets read it (the site's rule, which
    key releases follow)."""
    if not datasets:
        return set()
    pairs = _allowed_apps(datasets=tuple(sorted(datasets)))
    return {(checksummed(d.lower()), checksummed(a.lower())) for d, a in pairs if d and a}


def _unique(orders: Iterable[Order]) -> list[Order]:
    return list({order.pk: order for order in orders}.values())


@dataclasses.dataclass(frozen=True)
class _MarketSide:
    """What the runs of every listing share, read from the book once per version of the
    catalogue (which changes with every offer that comes or goes and every listing that
    changes: marketplace.catalogue.freshness). Read only: its orders and listings go into
    many pages' runs."""

    apps: list[Order]  # the RUN_CANDIDATES cheapest app offers: a pool card's partners
    pools: list[Order]  # the RUN_CANDIDATES cheapest unrestricted pool offers per category
    # The offers of the datasets allowing one of `apps`, and the apps each allows.
    datasets: list[Order]
    allowed: frozenset[tuple[str, str]]
    # The public listings of all those offers, by market and address.
    listings: dict[tuple[str, str], Listing]
    # The apps and the datasets each pool's runnable offers are restricted to, if any.
    kept_for: dict[str, frozenset[str]]
    restricted: frozenset[str]  # all of those
    names: dict[int, str]  # the categories' names


# Per process: each reads the market side once per version, and holds the latest few.
_MARKET_SIDES: dict[tuple[int, int], _MarketSide] = {}
_MARKET_SIDES_KEPT = 4


def _market_side(chain_id: int) -> _MarketSide:
    key = (chain_id, catalogue_version())
    side = _MARKET_SIDES.get(key)
    if side is None:
        side = _read_market_side(chain_id)
        while len(_MARKET_SIDES) >= _MARKET_SIDES_KEPT:
            _MARKET_SIDES.pop(next(iter(_MARKET_SIDES)), None)
        _MARKET_SIDES[key] = side
    return side


def _read_market_side(chain_id: int) -> _MarketSide:
    apps = list(
        _cheapest_fits(
            _runnable_offers(chain_id, OrderKind.APP).filter(_listed(Market.APP)),
            kind=OrderKind.APP,
            per=(),
            limit=RUN_CANDIDATES,
        )
    )
    pools = list(
        _cheapest_fits(
            _runnable_offers(chain_id, OrderKind.WORKERPOOL).filter(
                _listed(Market.POOL), app_restrict="", dataset_restrict=""
            ),
            kind=OrderKind.WORKERPOOL,
            per=("category",),
            limit=RUN_CANDIDATES,
        )
    )
    listings = _listings_by_market(
        {Market.APP: {offer.asset for offer in apps}, Market.POOL: {offer.asset for offer in pools}}
    )
    apps = [offer for offer in apps if (Market.APP, offer.asset) in listings]
    pools = [offer for offer in pools if (Market.POOL, offer.asset) in listings]
    datasets = _dataset_offers(chain_id, {offer.asset for offer in apps})
    found = _listings_by_market({Market.DATASET: {offer.asset for offer in datasets}})
    listings.update(found)
    datasets = [offer for offer in datasets if (Market.DATASET, offer.asset) in found]
    kept_for: dict[str, set[str]] = {}
    for pool, app_restrict, dataset_restrict in (
        _runnable_offers(chain_id, OrderKind.WORKERPOOL)
        .filter(~Q(app_restrict="") | ~Q(dataset_restrict=""))
        .order_by()
        .values_list("asset", "app_restrict", "dataset_restrict")
        .distinct()
    ):
        kept_for.setdefault(pool, set()).update({app_restrict, dataset_restrict} - {""})
    return _MarketSide(
        apps=apps,
        pools=pools,
        datasets=datasets,
        allowed=frozenset(_allowed_pairs({offer.asset for offer in datasets})),
        listings=listings,
        kept_for={pool: frozenset(assets) for pool, assets in kept_for.items()},
        restricted=frozenset().union(*kept_for.values()),
        names=category_names(chain_id=chain_id),
    )


def _listings_by_market(addresses: dict[str, set[str]]) -> dict[tuple[str, str], Listing]:
    return {
        (market, address): listing
        for market, found in addresses.items()
        for address, listing in _public_listings(market, found).items()
    }


def _dataset_offers_query(chain_id: int, apps, datasets, skip=()) -> QuerySet[Order]:
    allowing = Listing.objects.filter(
        kind=Market.DATASET, dataset__allowed_apps__listing__chain_address__in=apps
    ).values("chain_address")
    offers = _runnable_offers(chain_id, OrderKind.DATASET).filter(
        Q(asset__in=datasets) | Q(asset__in=allowing)
    )
    if skip:
        offers = offers.exclude(asset__in=skip)
    return _cheapest_fits(offers, kind=OrderKind.DATASET, per=("asset",), limit=OFFERS_PER_ASSET)


def _dataset_offers(
    chain_id: int, apps: set[str], datasets: set[str] = frozenset(), skip: set[str] = frozenset()
) -> list[Order]:
    """The cheapest offers of `datasets` and of the datasets allowing one of `apps`, but those
    of `skip` (already read)."""
    if not apps and not datasets:
        return []
    return _orders(
        _own_dataset_offers,
        chain_id=chain_id,
        apps=tuple(sorted(apps)),
        datasets=tuple(sorted(datasets)),
        skip=tuple(sorted(skip)),
    )


# The orders a listing's run reads for itself (its page, its card): prepared, each read as an
# Order whose signed message is left unread (as `_cheapest_fits` defers it).
_ORDER_COLUMNS = tuple(
    field.attname for field in Order._meta.concrete_fields if field.name != "message"
)


def _orders(prepared: Prepared, **values) -> list[Order]:
    return [Order.from_db(DEFAULT_DB_ALIAS, _ORDER_COLUMNS, row) for row in prepared(**values)]


_own_app_offers = Prepared(
    lambda chain_id, assets: _cheapest_fits(
        _runnable_offers(chain_id, OrderKind.APP).filter(asset__in=assets),
        kind=OrderKind.APP,
        per=("asset",),
        limit=OFFERS_PER_ASSET,
    ).values_list(*_ORDER_COLUMNS)
)
_own_dataset_offers = Prepared(
    lambda chain_id, apps, datasets, skip: _dataset_offers_query(
        chain_id, apps, datasets, skip
    ).values_list(*_ORDER_COLUMNS)
)


def _fitting_pool_offers(chain_id: int, apps, datasets) -> QuerySet[Order]:
    """Runnable pool offers that these apps and datasets may use."""
    return _runnable_offers(chain_id, OrderKind.WORKERPOOL).filter(
        app_restrict__in=("", *apps), dataset_restrict__in=("", *datasets)
    )


_named_pool_offers = Prepared(
    lambda chain_id, apps, datasets, named: _cheapest_fits(
        _fitting_pool_offers(chain_id, apps, datasets).filter(asset__in=named),
        kind=OrderKind.WORKERPOOL,
        per=("asset", "category"),
        limit=OFFERS_PER_ASSET,
    ).values_list(*_ORDER_COLUMNS)
)


_offered_assets = Prepared(
    lambda chain_id, assets: Order.objects.filter(
        Q(kind__in=(OrderKind.APP, OrderKind.DATASET))
        | Q(kind=OrderKind.WORKERPOOL, trust__gte=DEFAULT_TRUST),
        chain_id=chain_id,
        status=OrderStatus.OPEN,
        requester_restrict="",
        asset__in=assets,
    )
    .order_by()
    .values_list("kind", "asset")
    .distinct()
)


def _offered(chain_id: int, addresses: dict[str, set[str]]) -> dict[str, set[str]]:
    """Of these asset addresses by market, those with an open offer a default purchase may
    take (`_runnable_offers`)."""
    every = set().union(*addresses.values())
    if not every:
        return addresses
    offered = set(_offered_assets(chain_id=chain_id, assets=tuple(sorted(every))))
    return {
        market: {address for address in found if (Market(market).order_kind, address) in offered}
        for market, found in addresses.items()
    }


def cheapest_runs(*, chain_id: int, listings: Iterable[Listing]) -> dict[int, Run | None]:
    """The cheapest complete run (`Run`) each of `listings` takes part in, by listing id; None
    when none can be bought now (no open offer of its own, or none that fits with it).

    A run is an app offer, a dataset offer (unless the app runs without one: its default
    arguments do not name `{dataset}`) and a pool offer of a category giving DEFAULT_TRUST, all
    of public listings, open, for any buyer, and accepting each other (restrictions, the
    dataset's allowed apps, the pool's tag). Of each asset's offers (a pool's: of each
    category) only the OFFERS_PER_ASSET cheapest that fit differently are looked at; a pool's
    card looks at the RUN_CANDIDATES cheapest app offers (and those of the apps and datasets
    its offers are kept for), an app's or dataset's at the RUN_CANDIDATES cheapest pool offers
    of each category that may fit. A bounded number of queries, and of rows read and paired,
    whatever the number of orders; what every listing shares is read once per version of the
    catalogue (`_market_side`)."""
    listings = list(listings)
    runs: dict[int, Run | None] = {listing.pk: None for listing in listings}
    mine: dict[str, set[str]] = {Market.APP: set(), Market.DATASET: set(), Market.POOL: set()}
    for listing in listings:
        if address := _address(listing):
            mine[listing.kind].add(address)
    # Each part of a run is an offer of its own: a listing with none is in no run. One cheap
    # read of the book spares the ranked reads below for the many listings with no offer.
    mine = _offered(chain_id, mine)
    if not any(mine.values()):
        return runs

    side = _market_side(chain_id)
    found = dict(side.listings)

    def listed(market: str, offers: list[Order]) -> dict[str, Listing]:
        """The public listings of these offers' assets, by address (read unless known)."""
        missing = {offer.asset for offer in offers if (market, offer.asset) not in found}
        found.update(_listings_by_market({market: missing}))
        return {
            offer.asset: found[market, offer.asset]
            for offer in offers
            if (market, offer.asset) in found
        }

    side_datasets = {offer.asset for offer in side.datasets}
    # The apps and datasets some offer of these pools is kept for: read as theirs (an address
    # of one market never matches an offer of the other).
    kept_for = set().union(*(side.kept_for.get(pool, ()) for pool in mine[Market.POOL]))
    own_datasets = mine[Market.DATASET] | kept_for
    allowed = set(side.allowed) | _allowed_pairs(own_datasets - side_datasets)
    app_offers: list[Order] = []
    app_assets = (
        mine[Market.APP] | kept_for | {app for dataset, app in allowed if dataset in own_datasets}
    )
    if app_assets:
        app_offers += _orders(_own_app_offers, chain_id=chain_id, assets=tuple(sorted(app_assets)))
    if mine[Market.POOL]:
        app_offers += side.apps
    app_offers = _unique(app_offers)
    apps = listed(Market.APP, app_offers)
    app_offers = [offer for offer in app_offers if offer.asset in apps]
    needing = {address for address, app in apps.items() if needs_dataset(app)}

    # The datasets of the market side that may go with these apps (or are among `listings`),
    # and the others' offers read here.
    relevant = {dataset for dataset, app in side.allowed if app in apps}
    relevant |= own_datasets & side_datasets
    dataset_offers = [offer for offer in side.datasets if offer.asset in relevant]
    others = set(apps) - {offer.asset for offer in side.apps}
    if others or own_datasets - side_datasets:
        dataset_offers += _dataset_offers(chain_id, others, own_datasets, skip=side_datasets)
    datasets = listed(Market.DATASET, dataset_offers)
    dataset_offers = [offer for offer in dataset_offers if offer.asset in datasets]
    allowed |= _allowed_pairs(set(datasets) - own_datasets - side_datasets)

    pool_offers: list[Order] = []
    if app_offers:
        # The cheapest offers anyone's app may use are the same for every listing; those
        # restricted to these apps or datasets (rare) are read apart.
        pool_offers += side.pools
        if side.restricted & (set(apps) | set(datasets)):
            pool_offers += _cheapest_fits(
                _fitting_pool_offers(chain_id, apps, datasets)
                .filter(~Q(app_restrict="") | ~Q(dataset_restrict=""))
                .filter(_listed(Market.POOL)),
                kind=OrderKind.WORKERPOOL,
                per=("category",),
                limit=RUN_CANDIDATES,
            )
        named = mine[Market.POOL] | {
            offer.workerpool_restrict
            for offer in (*app_offers, *dataset_offers)
            if offer.workerpool_restrict
        }
        if named:
            pool_offers += _orders(
                _named_pool_offers,
                chain_id=chain_id,
                apps=tuple(sorted(apps)),
                datasets=tuple(sorted(datasets)),
                named=tuple(sorted(named)),
            )
    pool_offers = _unique(pool_offers)
    pools = listed(Market.POOL, pool_offers)
    pool_offers = [offer for offer in pool_offers if offer.asset in pools]
    if not pool_offers:
        return runs
    names = side.names

    # An app part: an app offer, with a dataset offer it may read or alone when it can.
    parts: list[tuple[int, Order, Order | None]] = []
    for app in app_offers:
        if app.asset not in needing and not app.dataset_restrict:
            parts.append((int(app.price), app, None))
        for dataset in dataset_offers:
            if (
                (dataset.asset, app.asset) in allowed
                and dataset.app_restrict in ("", app.asset)
                and app.dataset_restrict in ("", dataset.asset)
            ):
                parts.append((int(app.price) + int(dataset.price), app, dataset))
    best: dict[str, tuple[tuple[int, int], Run]] = {}
    # What each pool offer's tag leaves out: a run fits when its app and dataset require none
    # of it (tag_covers), checked here for every pair.
    # (Each pool offer's fields read once, not for every part: pages pair hundreds.)
    pool_fits = [
        (
            pool,
            pool.asset,
            pool.app_restrict,
            pool.dataset_restrict,
            ~int.from_bytes(tag_union(pool.tag), "big"),
            int(pool.price),
        )
        for pool in pool_offers
    ]
    for part_price, app, dataset in parts:
        required = int.from_bytes(tag_union(app.tag, dataset.tag if dataset else bytes(32)), "big")
        for pool, pool_address, app_restrict, dataset_restrict, lacking, price in pool_fits:
            if not (
                app.workerpool_restrict in ("", pool_address)
                and (dataset is None or dataset.workerpool_restrict in ("", pool_address))
                and app_restrict in ("", app.asset)
                and dataset_restrict in ("", dataset.asset if dataset else "")
                and not required & lacking
            ):
                continue
            key = (part_price + price, pool.category)
            involved = (app.asset, dataset.asset if dataset else None, pool_address)
            for address in involved:
                if address is None or (address in best and best[address][0] <= key):
                    continue
                best[address] = (
                    key,
                    Run(
                        price=key[0],
                        category=names.get(pool.category, str(pool.category)),
                        app=apps[app.asset],
                        dataset=datasets[dataset.asset] if dataset else None,
                        workerpool=pools[pool.asset],
                    ),
                )
    for listing in listings:
        found = best.get(_address(listing))
        if found is not None:
            runs[listing.pk] = found[1]
    return runs


# An input file's token in its URL (/inputs/<token>/<name>), wherever params name it; JSON may
# escape the slashes. Matching more than URLs only keeps more files.
_INPUT_TOKEN = re.compile(r"inputs\\?/([0-9a-f]{32})\\?/")


@dataclasses.dataclass(frozen=True)
class InputUsage:
    """What one user stores as input files."""

    files: int
    bytes: int


def input_list(*, owner) -> QuerySet[InputFile]:
    """`owner`'s input files, newest first."""
    return InputFile.objects.filter(owner=owner)


def input_usage(*, owner) -> InputUsage:
    totals = InputFile.objects.filter(owner=owner).aggregate(files=Count("id"), bytes=Sum("size"))
    return InputUsage(files=totals["files"], bytes=totals["bytes"] or 0)


def inputs_in_use(*, now: datetime.datetime, token: str = "") -> dict[str, str]:
    """The tokens of the input files that the params of a deal whose tasks may still run (some
    not finished, its final deadline not passed) name, or those of a request order in the book
    (it may still make such a deal), each with what needs it ("deal 0x…"). With `token`, only
    that file is looked for."""
    needle = token or "inputs"
    needed: dict[str, str] = {}
    deals = (
        Deal.objects.filter(params__contains=needle)
        .alias(finished=F("tasks_completed") + F("tasks_failed"))
        .filter(finished__lt=F("volume"))
        .only("dealid", "params", "start_time", "time_ref")
    )
    for deal in deals.iterator():
        deadline = deal_final_deadline(deal)
        if deadline is None or deadline > now:
            for found in _INPUT_TOKEN.findall(deal.params):
                needed.setdefault(found, f"deal {deal.dealid}")
    requests = Order.objects.filter(
        kind=OrderKind.REQUEST,
        status__in=(OrderStatus.OPEN, OrderStatus.DEAD),
        message__params__icontains=needle,
    ).only("digest", "message")
    for order in requests.iterator():
        for found in _INPUT_TOKEN.findall(str(order.message.get("params", ""))):
            needed.setdefault(found, f"request order {order.digest}")
    return {found: user for found, user in needed.items() if not token or found == token}
