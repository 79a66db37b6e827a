"""The Cloud market in the catalogue: its adapter (see marketplace.catalogue.markets)."""

from __future__ import annotations

from html import escape
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from marketplace.addresses import is_address, normalize
from marketplace.catalogue.filters import ListingFilters
from marketplace.catalogue.markets import MarketAdapter
from marketplace.catalogue.models import Listing, Market
from marketplace.indexer.models import Asset, OrderKind
from pools.forms import WorkerpoolFilterForm, WorkerpoolForm
from pools.models import EnergyClass, Region, Workerpool
from pools.records import RECORD_TASKS, TIMES, Reliability, pool_records, pool_reliability


class WorkerpoolMarket(MarketAdapter):
    kind = Market.POOL
    plural = "Worker pools"
    noun = "worker pool"
    article = "A worker pool"
    url_prefix = "pools"
    tagline = "Machines that run tasks and agree on results before anyone is paid."
    detail_relation = "workerpool"
    order_kind = OrderKind.WORKERPOOL
    form_class = WorkerpoolForm
    filter_form_class = WorkerpoolFilterForm
    card_relations = ("workerpool",)  # pool cards show the pool's attributes
    seller_stakes = True  # its owner stakes a share of the price of every task it takes
    run_partner = "an app"
    sell_note = (
        "One order per category you price; your escrow must cover the pool's stake (pool "
        "workers' stake ratio of the price, per task)."
    )
    unreviewed_note = (
        "A change of the Requirements and Rank alone applies at once and keeps it public."
    )
    facts_template = "pools/_facts.html"
    side_panels_template = "pools/_side_panels.html"
    offers_actions_template = "pools/_offers_actions.html"  # a run on it: an app's, chosen next
    onchain_facts_template = "pools/_onchain_facts.html"
    filters_template = "pools/_filters.html"
    reputation_note = (
        "A pool's reputation is its reliability (0 to 1000), from the chain alone: over its "
        f"latest {RECORD_TASKS} ended tasks, 1000 {TIMES} W {TIMES} T, where W is the lower "
        "bound of the 95 % Wilson interval of the share finalized (failed ones, given up or "
        "claimed, count against it) and T the share of those finalized within their "
        "category's time. No task ended yet: 0. Equal ones: newest first. Each pool's page "
        "shows its figure with its inputs."
    )

    def record_reputations(self, *, chain_id: int, addresses: list[str]) -> dict[str, int]:
        records = pool_records(chain_id=chain_id, workerpools=addresses)
        return {
            address: records[address].reliability or 0 if address in records else 0
            for address in addresses
        }

    def listing_record(self, listing: Listing) -> Reliability | None:
        if not is_address(listing.chain_address):
            return None
        # The index keeps addresses checksummed; a listing may name its pool in any case.
        address = normalize(listing.chain_address)
        return pool_reliability(chain_id=settings.CHAIN_ID, workerpool=address)

    def detail_context(self, listing: Listing) -> dict[str, Any]:
        return {"reliability": self.listing_record(listing)}

    def filter_listings(self, queryset: QuerySet[Listing], filters: ListingFilters):
        pool_filters = {}
        if filters.cores_min:
            pool_filters["cpu_cores__gte"] = filters.cores_min
        if filters.memory_min_gib:
            pool_filters["memory_mb__gte"] = filters.memory_min_gib * 1024
        if filters.location:
            pool_filters["location"] = filters.location
        if filters.energy_class:
            # "B" means B or better.
            pool_filters["energy_class__lte"] = filters.energy_class
        if filters.visibility:
            pool_filters["visibility"] = filters.visibility
        if filters.location:
            # One region is a small share of the pools: read them from the location index,
            # then their listings (a broad EXISTS walk below would check every pool).
            pools = Workerpool.objects.filter(**pool_filters).values("listing_id")
            return queryset.filter(id__in=pools)
        if pool_filters:
            # Cores, memory and visibility match many pools: EXISTS rather than a join, so
            # SQLite walks the listings in the page's sort order and stops after a page,
            # where a join (or IN) makes it read and sort every matching pool.
            pools = Workerpool.objects.filter(listing=OuterRef("pk"), **pool_filters)
            return queryset.filter(Exists(pools))
        return queryset

    def registration(self, listing: Listing):
        # marketplace.chain.hub loads web3 (1.5 to 2.6 s measured here): imported when a pool
        # is registered, not by every process that loads the markets.
        from marketplace.chain.hub import WorkerpoolRegistration

        return WorkerpoolRegistration(owner=listing.owner_wallet, description=listing.name)

    def unlinked_match(self, asset: Asset) -> Q:
        return Q(name=asset.name)

    def create_placeholder(self, *, listing: Listing, asset: Asset) -> None:
        # Placeholders until the owner describes the pool; the listing waits for curation.
        Workerpool.objects.create(
            listing=listing,
            cpu_cores=1,
            memory_mb=1024,
            location=Region.EU_WEST,
            energy_class=EnergyClass.E,
        )

    def run_partners(self, run) -> str:
        app = run.app.name
        return f"{app} and {run.dataset.name}" if run.dataset else app

    def card_attributes(self, listing: Listing) -> str:
        pool = listing.workerpool
        memory = f"{pool.memory_gib:.1f}".removesuffix(".0")
        energy = escape(pool.energy_class)
        return (
            f'<ul class="attrs"><li title="CPU cores per worker">{pool.cpu_cores:d} cores</li>'
            f'<li title="Memory per worker">{memory} GiB</li>'
            f'<li title="Location">{escape(pool.get_location_display())}</li>'
            f'<li title="Energy class" class="energy energy-{energy}">{energy}</li></ul>'
        )
