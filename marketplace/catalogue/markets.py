"""The markets of the catalogue, one adapter each: what differs between apps, datasets and
worker pools, asked of the adapter instead of testing a listing's kind.

Each market keeps its adapter in its own app (`dappstore/market.py`, `datamarket/market.py`,
`pools/market.py`) and is registered by one line of MARKET_ADAPTERS, its dotted path, loaded once
Django is set up. The catalogue reaches the market apps only through this registry and imports
none of their modules; they import the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.apps import apps
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.module_loading import import_string

from marketplace.catalogue.filters import ListingFilters
from marketplace.catalogue.models import Listing, TaskCategory
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.indexer.models import Asset

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from marketplace.catalogue.forms import ListingFilterForm, ListingForm
    from marketplace.chain.hub import AssetRegistration

# The markets, in the order the site shows them. Adding one takes its app (installed, its URLs
# included, its kind among catalogue.models.Market's choices) and one line here.
MARKET_ADAPTERS = (
    "dappstore.market.AppMarket",
    "datamarket.market.DatasetMarket",
    "pools.market.WorkerpoolMarket",
)


class RunOnCard(Protocol):
    """A run as a card shows it (marketplace.orders.selectors.Run is one): the listings of its
    app, dataset (None: none) and pool. The order book sits above the markets, so the
    catalogue names only what it reads of it."""

    app: Listing
    dataset: Listing | None
    workerpool: Listing


class MarketAdapter:
    """One market: its names and pages, its forms, how its assets are registered on chain and
    sold on the order book, its files, and its parts of the shared templates.

    Subclasses set the class attributes and override the hooks whose default does not fit."""

    kind: ClassVar[str]  # Listing.kind of its listings (catalogue.models.Market)
    plural: ClassVar[str]  # "Worker pools"
    noun: ClassVar[str]  # "worker pool"
    article: ClassVar[str]  # "A worker pool": the noun to start a sentence with
    url_prefix: ClassVar[str]  # its pages live under /<url_prefix>/
    tagline: ClassVar[str]
    # The one-to-one row of market-specific fields each of its listings has (`listing.app`).
    detail_relation: ClassVar[str]
    # The Hub's name of its assets: their registry, their sell orders' EIP-712 type and the
    # deal field that names them ("app", "dataset", "workerpool").
    order_kind: ClassVar[str]
    form_class: ClassVar[type[ListingForm]]  # submission and edit
    filter_form_class: ClassVar[type[ListingFilterForm]]  # the list page's filters
    # Relations a card of its listings shows, selected with the list's query.
    card_relations: ClassVar[tuple[str, ...]] = ()
    # Restrictions an offer may carry besides its price (sell form fields, order fields
    # without the underscore).
    sell_restrictions: ClassVar[tuple[str, ...]] = ()
    # Its sellers lock a stake in escrow for every task they offer (a pool's owner does).
    seller_stakes: ClassVar[bool] = False
    # What a complete run lacks when none on offer fits with one of its listings.
    run_partner: ClassVar[str] = "a worker pool"
    # What its owner's sell form adds about the orders it signs.
    sell_note: ClassVar[str] = ""
    # What an edit may change without going back to review, said on the edit form ("": none).
    unreviewed_note: ClassVar[str] = ""
    # The lookup of its listings' program checksum, for curators' "same program" check.
    program_lookup: ClassVar[str] = ""
    # Its parts of the shared pages (None: it adds nothing there), rendered with the page's
    # context: the listing page's details (`detail` is the market's row), its owner's extra
    # links and its side panels, the on-chain record's extra facts; the offers panel's
    # actions; the list page's extra filters; a listing's checks in the curation queue.
    facts_template: ClassVar[str | None] = None
    owner_links_template: ClassVar[str | None] = None
    side_panels_template: ClassVar[str | None] = None
    onchain_facts_template: ClassVar[str | None] = None
    offers_actions_template: ClassVar[str | None] = None
    filters_template: ClassVar[str | None] = None
    curation_checks_template: ClassVar[str | None] = None
    # How its list page says reputation is computed (marketplace.catalogue.reputation).
    reputation_note: ClassVar[str] = (
        "Reputation (0 to 1000) blends what the chain and verified buyers say: 40 % the "
        "record (the lower bound of the 95 % Wilson interval of tasks completed among those "
        "finished), 20 % usage (tasks completed, on a log scale full at 10,000), 20 % revenue "
        "(ECT earned, on a log scale full at 100,000) and 20 % the rating (the Wilson lower "
        "bound of the stars given above one). Not on chain yet: 0. Equal ones: newest first."
    )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}>"

    @property
    def prices_per_category(self) -> bool:
        """Whether its listings ask a price per task category (as a pool's offers have one),
        rather than one price per task whatever the category."""
        return self.form_class.per_category_prices

    def filter_form(self, data) -> ListingFilterForm:
        return self.filter_form_class(data)

    def filter_listings(self, queryset: QuerySet[Listing], filters: ListingFilters):
        """`queryset` (its public listings) narrowed by the filters only this market has."""
        return queryset

    def detail_context(self, listing: Listing) -> dict[str, Any]:
        """What its part of the listing page shows besides the listing's own fields."""
        return {}

    def listing_record(self, listing: Listing) -> Any | None:
        """The record its market keeps of the listing's asset besides the index's (a pool's
        reliability: pools.records.Reliability), for its page and the API; None: none."""
        return None

    def program(self, listing: Listing) -> str | None:
        """The checksum of the listing's program (compared under `program_lookup`)."""
        return None

    def record_reputations(self, *, chain_id: int, addresses: list[str]) -> dict[str, int] | None:
        """The reputation (0 to 1000) of its assets at `addresses` on `chain_id`, by address,
        from a record of its own; None: its listings take the catalogue's blend
        (marketplace.catalogue.reputation)."""
        return None

    # ------------------------------------------------------------------ on chain

    def registration(self, listing: Listing) -> AssetRegistration:
        """What registering `listing` on chain says (its registry's arguments), owned by its
        wallet."""
        raise NotImplementedError

    def file_location(self, listing: Listing) -> str:
        """Where workers download the listing's file on this site (what its registration
        records): catalogue.files serves it."""
        return reverse("asset_file", args=[listing.kind, listing.slug])

    def stored_file(self, listing: Listing) -> tuple[FieldFile, str] | None:
        """The file behind a registered listing and the name it is downloaded under; None:
        its assets have no file."""
        return None

    def task_file_name(self, address: str) -> str | None:
        """The file name a task reads the asset registered at `address` under; None: the
        worker names it."""
        return None

    def unlinked_match(self, asset: Asset) -> Q:
        """What a listing not linked to its asset yet has in common with the `asset` its
        owner registered (the owner's wallet aside): the file's checksum, or the name."""
        raise NotImplementedError

    def create_placeholder(self, *, listing: Listing, asset: Asset) -> None:
        """The market's row of a listing made for an asset first seen on chain, from what the
        chain says of it, until its owner describes it."""
        raise NotImplementedError

    # ------------------------------------------------------------------ selling

    def asked_price(self, listing: Listing, category: str) -> Decimal | None:
        """What the listing asks for a task of `category`."""
        if self.prices_per_category:
            return next((p.price for p in listing.prices.all() if p.category == category), None)
        return listing.price

    def offer_variants(self, listing: Listing) -> list[dict[str, Any]]:
        """The order fields that set apart the orders one offer of `listing` is made of (one
        order each); none: it cannot be offered now."""
        return [{}]

    def sell_refusal(self, listing: Listing) -> str:
        """Why `listing` cannot be offered now, in words; empty: it can."""
        return ""

    def buy_with(self, listing: Listing) -> list[Listing]:
        """The public apps on chain whose buy page a buyer of `listing` (on chain) starts
        from with it chosen, for its offers panel; none: it is not bought that way."""
        return []

    def sell_orders(
        self,
        listing: Listing,
        *,
        volume: int,
        price: Decimal | None = None,
        prices: Mapping[str, Decimal | None] | None = None,
        trust: int = 0,
        restrictions: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The fields of the sell orders one offer of `listing` is made of, for its owner to
        sign (the others take their defaults): `volume` tasks each, at `price` per task, or, in
        a market priced per category, at `prices` by category, one order per category priced,
        giving `trust` (as a pool's orders do); kept for the `restrictions` (sell_restrictions)
        given. Prices in ECT; the orders' in base units. No order without a price."""
        kind = str(self.order_kind)
        price_field = f"{kind}price"
        common: dict[str, Any] = {"volume": volume, kind: listing.chain_address}
        for name, value in (restrictions or {}).items():
            if name in self.sell_restrictions and value:
                common[name.replace("_", "")] = value
        if self.prices_per_category:
            priced = [
                {price_field: _units(value), "category": catid, "trust": trust}
                for catid, category in enumerate(TaskCategory.values)
                if (value := (prices or {}).get(category)) is not None
            ]
        else:
            priced = [] if price is None else [{price_field: _units(price)}]
        variants = self.offer_variants(listing) if priced else []
        return [{**common, **terms, **variant} for terms in priced for variant in variants]

    # ------------------------------------------------------------------ cards

    def run_partners(self, run: RunOnCard) -> str:
        """Who a listing of this market runs with in `run`, as its card says it."""
        raise NotImplementedError

    def card_attributes(self, listing: Listing) -> str:
        """HTML of the attributes its cards show (every value escaped); empty: none."""
        return ""


def _units(price: Decimal) -> int:
    return to_units(price, decimals=ECT_DECIMALS, currency="ECT")


class MarketRegistry(Mapping[str, MarketAdapter]):
    """The markets by kind, in MARKET_ADAPTERS' order, loaded when first asked for (the
    adapters import their apps' forms and models, ready only once Django is set up)."""

    def __init__(self, paths: tuple[str, ...]) -> None:
        self._paths = paths
        self._markets: dict[str, MarketAdapter] | None = None

    def _loaded(self) -> dict[str, MarketAdapter]:
        if self._markets is None:
            apps.check_apps_ready()
            markets = (import_string(path)() for path in self._paths)
            self._markets = {market.kind: market for market in markets}
        return self._markets

    def __getitem__(self, kind: str) -> MarketAdapter:
        return self._loaded()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


MARKETS = MarketRegistry(MARKET_ADAPTERS)
