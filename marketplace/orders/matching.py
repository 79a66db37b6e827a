"""The market as a buyer's request sees it: every pool with an open offer, as a ClassAd built
from its attributes, its track record and its offer that fits the request; the request's ad
from what it asks; HTCondor's symmetric match between them, why the others do not fit, and the
fitting ones ranked by the buyer's preferences (marketplace.matchmaking)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from marketplace.chain.amounts import ECT_DECIMALS
from marketplace.chain.orders import tag_covers
from marketplace.indexer.models import Deal, OrderKind
from marketplace.matchmaking import choice
from marketplace.matchmaking.attributes import PoolAd
from marketplace.matchmaking.explain import Explanation, explain
from marketplace.matchmaking.requirements import Clause, Requirements, clauses
from marketplace.orders import selectors
from marketplace.orders.models import DemandSample, Order, OrderStatus
from pools import scheduler
from pools.ads import PoolProfile, pool_profiles
from pools.models import Region

REGIONS = tuple(Region.values)
# How explanations name regions ("outside Europe West"), as the forms do.
REGION_NAMES = dict(Region.choices)


@dataclasses.dataclass
class Market:
    """A request against the market: the pools' ads, the explanation, the fitting ones ranked
    (best first) with each one's book offer, and what the request asked."""

    requirements: Requirements
    weights: choice.Weights
    preset: str
    explanation: Explanation
    ranking: choice.Ranking
    request: dict[str, Any]
    found: list[Clause]
    app_requirement: str = ""

    @property
    def offers(self) -> list[Order]:
        """The book offers of the fitting pools, best first by the buyer's preferences."""
        by_key = {ad.key: ad for ad in self.explanation.fitting}
        return [by_key[ranked.option.key].offer for ranked in self.ranking.ranked]

    @property
    def best(self) -> Order | None:
        offers = self.offers
        return offers[0] if offers else None

    def chart(self) -> str:
        """The price/speed Pareto chart of the fitting pools (empty: no timing data yet)."""
        options = [ranked.option for ranked in self.ranking.ranked]
        top = options[0].key if options else ""
        return choice.pareto_svg(options, highlight=top)


def _price(units: int) -> float:
    return int(units) / 10**ECT_DECIMALS


def _either(restriction: str, value: str) -> bool:
    return not restriction or (bool(value) and restriction.lower() == value.lower())


@dataclasses.dataclass(frozen=True)
class _Context:
    wanted: selectors.Wanted
    required_tag: bytes
    pool_restrictions: tuple[str, ...]  # pools the app's and dataset's orders are limited to
    category_name: str


def _fits(offer: Order, context: _Context) -> bool:
    """The offer takes this request (all but its trust and price, which the ad carries)."""
    wanted = context.wanted
    return (
        offer.category == wanted.category
        and offer.remaining >= wanted.volume
        and _either(offer.app_restrict, wanted.app)
        and _either(offer.dataset_restrict, wanted.dataset)
        and all(offer.asset.lower() == pool.lower() for pool in context.pool_restrictions)
        and tag_covers(offered=offer.tag, required=context.required_tag)
    )


def _no_offer(offers: Sequence[Order], context: _Context) -> str:
    name = context.category_name
    if not any(offer.category == context.wanted.category for offer in offers):
        return f"no open offer for {name} tasks"
    return f"no open offer for {name} tasks that takes this app, dataset, volume and tag"


def _reach(chain_id: int, pools: Iterable[str], buyers: list[str], dataset: str) -> dict[str, int]:
    """The highest trust the members of each pool this site operates can reach for these
    buyers (pools it does not operate: unknown, left out)."""
    operated = scheduler.operated_pools(chain_id=chain_id)
    reach = {}
    for pool in pools:
        if pool in operated:
            able = scheduler.pool_members_able(
                chain_id=chain_id, workerpool=pool, buyers=buyers, dataset=dataset
            )
            reach[pool] = scheduler.highest_trust(list(able.values()))
    return reach


def _ad(
    profile: PoolProfile | None,
    address: str,
    offers: list[Order],
    context: _Context,
    reach: int | None,
) -> PoolAd:
    # The profile carries the pool's reliability record, timed for the request's category.
    attributes: dict[str, Any] = dict(profile.attributes) if profile else {"Pool": address}
    name = profile.name if profile else address
    ad = PoolAd(
        key=address,
        name=name,
        attributes=attributes,
        requirements=profile.requirements if profile else None,
        rank=profile.rank if profile else None,
    )
    fitting = [offer for offer in offers if _fits(offer, context)]
    if not fitting:
        ad.no_offer = _no_offer(offers, context)
        return ad
    trusted = [offer for offer in fitting if offer.trust >= context.wanted.trust]
    offer = (trusted or fitting)[0]  # offers come cheapest first
    trust = max(int(offer.trust), 1)  # the Hub reads trust 0 as 1: one worker's word
    if reach is not None:
        trust = min(trust, reach)
    attributes.update(
        Category=offer.category,
        Price=_price(offer.price),
        Trust=trust,
        Volume=int(offer.remaining),
    )
    ad.offer = offer
    return ad


def request_attributes(*, wanted: selectors.Wanted, app_name: str, app_tags: list[str]) -> dict:
    """The request's ad: what the buyer asks, and who asks."""
    return {
        "Requester": wanted.requester,
        "App": wanted.app,
        "AppName": app_name,
        "AppTags": app_tags,
        "Dataset": wanted.dataset,
        "Category": wanted.category,
        "Volume": wanted.volume,
        "Trust": wanted.trust,
        "RequesterDeals": Deal.objects.filter(
            chain_id=settings.CHAIN_ID, requester=wanted.requester
        ).count(),
    }


def market_for(
    *,
    wanted: selectors.Wanted,
    requirements: Requirements,
    weights: choice.Weights,
    preset: str = "",
    required_tag: bytes,
    app_order: Order | None,
    dataset_order: Order | None,
    beneficiary: str = "",
) -> Market:
    """Match `wanted` (with `requirements`) against every pool with an open offer the
    requester may take (only `wanted.workerpool` when it names one), explain, and rank the
    fitting ones by `weights`. `required_tag` is the union of the request's and the app's and
    dataset's orders' tags."""
    chain_id = settings.CHAIN_ID
    app = selectors.listed_app(address=wanted.app)
    app_requirement = getattr(getattr(app, "app", None), "requirements", "") if app else ""
    offers = (
        Order.objects.filter(chain_id=chain_id, kind=OrderKind.WORKERPOOL, status=OrderStatus.OPEN)
        .filter(requester_restrict__in=("", wanted.requester))
        .order_by("price", "created_at", "id")
        .defer("message")
    )
    if wanted.workerpool:
        offers = offers.filter(asset=wanted.workerpool)
    by_pool: dict[str, list[Order]] = {}
    for offer in offers:
        by_pool.setdefault(offer.asset, []).append(offer)
    names = selectors.category_names(chain_id=chain_id)
    context = _Context(
        wanted=wanted,
        required_tag=required_tag,
        pool_restrictions=tuple(
            order.workerpool_restrict
            for order in (app_order, dataset_order)
            if order is not None and order.workerpool_restrict
        ),
        category_name=names.get(wanted.category, str(wanted.category)),
    )
    profiles = pool_profiles(chain_id=chain_id, addresses=by_pool, category=wanted.category)
    buyers = [wanted.requester, beneficiary or wanted.requester]
    reach = _reach(chain_id, by_pool, buyers, wanted.dataset)
    ads = [
        _ad(profiles.get(pool), pool, pool_offers, context, reach.get(pool))
        for pool, pool_offers in by_pool.items()
    ]
    if wanted.trust and requirements.trust is None:
        requirements = dataclasses.replace(requirements, trust=max(wanted.trust, 1))
    elif requirements.trust is None:
        requirements = dataclasses.replace(requirements, trust=1)
    if wanted.workerpool_max is not None and requirements.max_price is None:
        requirements = dataclasses.replace(
            requirements, max_price=_decimal_ect(wanted.workerpool_max)
        )
    tags = list(app.tags.values_list("name", flat=True)) if app else []
    request = request_attributes(wanted=wanted, app_name=app.name if app else "", app_tags=tags)
    found = clauses(
        requirements,
        app_requirement=app_requirement,
        app_name=app.name if app else "the app",
        region_names=REGION_NAMES,
    )
    explanation = explain(ads, request=request, found=found)
    ranking = choice.rank([ad.option() for ad in explanation.fitting], weights)
    return Market(
        requirements, weights, preset, explanation, ranking, request, found, app_requirement
    )


def _decimal_ect(units: int) -> Decimal:
    return Decimal(int(units)).scaleb(-ECT_DECIMALS)


# ---------------------------------------------------------------------- what is said of it

# Demand kept for pool operators to check their Requirements against.
DEMAND_SAMPLES = 1000
DEMAND_MERGE_SECONDS = 60
RANKED_SHOWN = 10


def demand_record(market: Market) -> None:
    """Keep the request as demand that pools see (the latest DEMAND_SAMPLES). A buyer's asks
    within DEMAND_MERGE_SECONDS are one request, the latest: a buyer trying requirements in the
    buy form, or a script asking again and again, counts once."""
    now = timezone.now()
    requester = str(market.request.get("Requester") or "")
    fields = {
        "request": market.request,
        "requirements": market.requirements.as_dict(),
        "app_requirement": market.app_requirement,
        "created_at": now,
    }
    latest = (
        DemandSample.objects.filter(
            chain_id=settings.CHAIN_ID,
            requester=requester,
            created_at__gte=now - datetime.timedelta(seconds=DEMAND_MERGE_SECONDS),
        )
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    if requester and latest is not None:
        DemandSample.objects.filter(pk=latest).update(**fields)
        return
    sample = DemandSample.objects.create(chain_id=settings.CHAIN_ID, requester=requester, **fields)
    if sample.pk % 100 == 0:  # now and then, not on every request
        cutoff = (
            DemandSample.objects.filter(chain_id=settings.CHAIN_ID)
            .order_by("-id")
            .values_list("id", flat=True)[DEMAND_SAMPLES : DEMAND_SAMPLES + 1]
        )
        if cutoff:
            DemandSample.objects.filter(chain_id=settings.CHAIN_ID, id__lte=cutoff[0]).delete()


def market_summary(market: Market) -> dict[str, Any]:
    """The market as the API tells it: why pools do not fit, the changes that would let some
    in, and the fitting ones ranked (the first RANKED_SHOWN), with the reason for the first."""
    explanation = market.explanation
    ranking = market.ranking
    by_key = {ad.key: ad for ad in explanation.fitting}
    return {
        "requirements": market.requirements.as_dict(),
        "preset": market.preset,
        "weights": market.ranking.weights.as_dict(),
        "sentence": explanation.sentence,
        "pools": explanation.total,
        "fitting": len(explanation.fitting),
        "ruled_out": [
            {"condition": item.key, "words": item.words, "count": item.count, "first": item.first}
            for item in explanation.ruled_out
        ],
        "refusals": [
            {"pool": r.pool, "name": r.name, "condition": r.condition} for r in explanation.refusals
        ],
        "suggestions": [
            {
                "field": s.field,
                "value": s.value,
                "also": [{"field": field, "value": value} for field, value in s.also],
                "words": s.words,
                "pools": s.count,
                "names": list(s.pools),
            }
            for s in explanation.suggestions
        ],
        "ranking": [
            {
                "position": ranked.position,
                "pool": ranked.option.key,
                "name": ranked.option.name,
                "score": round(ranked.score, 4),
                "price": ranked.option.price,
                "median_seconds": ranked.option.seconds,
                "trust": ranked.option.trust,
                "reliability": ranked.option.reliability,
                "energy_class": ranked.option.energy,
                "missing": list(ranked.missing),
                "pareto": ranked.pareto,
                "offer": by_key[ranked.option.key].offer.digest,
            }
            for ranked in ranking.ranked[:RANKED_SHOWN]
        ],
        "reason": ranking.reason,
        "without_data": list(ranking.without_data),
    }
