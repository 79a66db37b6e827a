"""Demand as a pool operator sees it: how many of the latest requests buyers asked the market
(DemandSample) a pool's ad would match with given Requirements, and which open standing
requests in the book the pool could serve now, and why not the others.

Both are HTCondor's symmetric match (marketplace.matchmaking): the request's conditions hold
against the pool's ad, and the pool's Requirements hold against the request's ad."""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

from django.db.models import Q
from django.utils import timezone

from marketplace.chain.amounts import ECT_DECIMALS
from marketplace.indexer.models import OrderKind
from marketplace.matchmaking import classads
from marketplace.matchmaking.attributes import PoolAd, pool_expression, request_ad
from marketplace.matchmaking.choice import DEFAULT_PRESET, PRESETS
from marketplace.matchmaking.explain import POOL_REFUSES, explain
from marketplace.matchmaking.requirements import (
    Clause,
    RequirementsRefused,
    clauses,
    parse_requirements,
)
from marketplace.orders import matching, purchases, selectors
from marketplace.orders.models import DemandSample, Order, OrderStatus
from pools.ads import pool_profiles

# The pool form's attributes (pools.services.POOL_ATTRIBUTES) as its ad names them.
AD_NAMES = {
    "cpu_cores": "Cores",
    "memory_mb": "Memory",
    "location": "Region",
    "energy_class": "EnergyClass",
    "runtime": "Runtime",
    "visibility": "Visibility",
}
# A request's conditions on the terms of the pool's offer (not on the pool): judged only when
# the pool has an open offer that fits the request; an operator choosing Requirements has not
# necessarily priced every category yet.
OFFER_TERMS = frozenset({"max_price", "trust"})
# What a request asks that the pool lacks, by the first of its conditions that rules it out.
ASKS_FOR = {
    "region": "another region",
    "energy_class": "a better energy class",
    "cores": "more cores",
    "memory_mb": "more memory",
    "max_price": "a lower price",
    "trust": "more trust",
    "deadline_minutes": "a faster median time",
    "app": "what their app requires",
    "expression": "what their own expression requires",
}
DEMAND_SHOWN = 50
_CANDIDATE = "this pool"


@dataclasses.dataclass(frozen=True)
class DemandCheck:
    """Of `total` recent requests: `matched` fit the pool both ways, `refused_by_pool` fit it
    but the pool's Requirements refuse them, `ruled_out_by_requests` ask for something the pool
    does not have (whatever its Requirements); the three add up to `total`. `unpriced` of the
    matched ones were judged without an offer of the pool (their price and trust not checked);
    `asks_for` says what the ruled-out ones ask for, most asked first."""

    matched: int
    total: int
    refused_by_pool: int
    ruled_out_by_requests: int
    unpriced: int = 0
    asks_for: tuple[tuple[str, int], ...] = ()


def _price(units: int) -> float:
    return int(units) / 10**ECT_DECIMALS


def _same(restriction: str, value: Any) -> bool:
    return not restriction or restriction.lower() == str(value or "").lower()


def _offer_for(offers: list[Order], request: dict[str, Any]) -> Order | None:
    """The pool's cheapest open offer that takes this request (one giving the trust asked if
    any does), as the market would price it; `offers` come cheapest first."""
    fitting = [
        offer
        for offer in offers
        if offer.category == request.get("Category")
        and offer.remaining >= int(request.get("Volume") or 1)
        and _same(offer.requester_restrict, request.get("Requester"))
        and _same(offer.app_restrict, request.get("App"))
        and _same(offer.dataset_restrict, request.get("Dataset"))
    ]
    trusted = [offer for offer in fitting if offer.trust >= int(request.get("Trust") or 0)]
    return (trusted or fitting or [None])[0]


def _candidate_attributes(
    chain_id: int, workerpool: str | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    """The pool's ad without its offer: what the chain and the listing say of it (when it is
    registered), with the form's attributes in place of the stored ones."""
    found: dict[str, Any] = {"Name": _CANDIDATE}
    if workerpool:
        profile = pool_profiles(chain_id=chain_id, addresses=[workerpool]).get(workerpool)
        if profile is not None:
            found.update(profile.attributes)
    for name, ad_name in AD_NAMES.items():
        if attributes.get(name) not in (None, ""):
            found[ad_name] = attributes[name]
    return found


def _open_offers(chain_id: int, workerpool: str | None) -> list[Order]:
    if not workerpool:
        return []
    return list(
        Order.objects.filter(
            chain_id=chain_id, kind=OrderKind.WORKERPOOL, status=OrderStatus.OPEN, asset=workerpool
        )
        .order_by("price", "created_at", "id")
        .defer("message")
    )


def _sample_clauses(sample: DemandSample) -> list[Clause] | None:
    """The sample's conditions on pools, rebuilt as the market built them (None: they no longer
    read, as after a change of the regions)."""
    try:
        requirements = parse_requirements(sample.requirements, regions=matching.REGIONS)
        return clauses(
            requirements,
            app_requirement=sample.app_requirement,
            region_names=matching.REGION_NAMES,
        )
    except (RequirementsRefused, classads.ExpressionRefused):
        return None


def demand_check(
    *,
    chain_id: int,
    workerpool: str | None,
    attributes: dict[str, Any],
    requirements_text: str,
    limit: int = 100,
) -> DemandCheck:
    """Match a pool's ad with `requirements_text` (empty: none) against the latest `limit`
    requests asked of the market on `chain_id`. `attributes` are the pool form's (cpu_cores,
    memory_mb, location, energy_class, runtime, visibility; one left out reads as undefined);
    `workerpool` is the pool's address when it is registered (its name, owner, members, track
    record and open offers then count too). Raises ExpressionRefused when the Requirements do
    not read. A stored request whose conditions no longer read is left out of `total`."""
    text = requirements_text.strip()
    requirements = pool_expression(text) if text else None
    base = _candidate_attributes(chain_id, workerpool, attributes)
    offers = _open_offers(chain_id, workerpool)
    samples = DemandSample.objects.filter(chain_id=chain_id).order_by("-created_at", "-id")
    matched = refused = ruled_out = unpriced = 0
    asks_for: collections.Counter[str] = collections.Counter()
    for sample in samples[:limit]:
        found = _sample_clauses(sample)
        if found is None:
            continue
        request = dict(sample.request)
        ad_attributes = dict(base)
        offer = _offer_for(offers, request)
        if offer is not None:
            ad_attributes.update(
                Category=offer.category,
                Price=_price(offer.price),
                Trust=int(offer.trust),
                Volume=int(offer.remaining),
            )
        else:
            found = [clause for clause in found if clause.key not in OFFER_TERMS]
        ad = PoolAd(
            key=workerpool or _CANDIDATE,
            name=_CANDIDATE,
            attributes=ad_attributes,
            requirements=requirements,
        )
        explanation = explain([ad], request=request, found=found)
        if explanation.fitting:
            matched += 1
            if offer is None:
                unpriced += 1
            continue
        first = next(
            (item.key for item in explanation.ruled_out if item.first and item.key != POOL_REFUSES),
            None,
        )
        if first is None:
            refused += 1
        else:
            ruled_out += 1
            asks_for[ASKS_FOR.get(first, first)] += 1
    return DemandCheck(
        matched=matched,
        total=matched + refused + ruled_out,
        refused_by_pool=refused,
        ruled_out_by_requests=ruled_out,
        unpriced=unpriced,
        asks_for=tuple(asks_for.most_common()),
    )


# ---------------------------------------------------------------------- standing requests


@dataclasses.dataclass(frozen=True)
class DemandLine:
    """An open standing request: whether the pool could serve it now (with `offer`, its book
    offer that would), and if not, why (`reasons`, each a sentence)."""

    order: Order
    app_name: str
    servable: bool
    offer: Order | None = None
    reasons: tuple[str, ...] = ()
    rank: float | None = None  # the pool's Rank of the request (None: the pool has no Rank)


def _reasons(market: matching.Market) -> tuple[str, ...]:
    """Why the one pool of `market` does not fit, in its operator's words."""
    explanation = market.explanation
    if not explanation.total:
        return ("This pool has no open offer this requester may take.",)
    by_key = {clause.key: clause for clause in market.found}
    reasons = []
    for item in explanation.ruled_out:
        if not item.count:
            continue
        if item.key == POOL_REFUSES:
            condition = explanation.refusals[0].condition if explanation.refusals else ""
            reasons.append(f"Your requirements refuse it: {condition} does not hold.")
        elif item.key == "expression":
            reasons.append(
                "This pool does not meet the request's own expression "
                f"({market.requirements.expression})."
            )
        else:
            # A condition's words count the pools it rules out first ("1 is outside eu-west"):
            # said again of the one pool, whether or not another condition ruled it out first.
            clause = by_key.get(item.key)
            words = clause.ruling_out(1) if clause else item.words
            reasons.append(f"This pool {words.removeprefix('1 ')}.")
    return tuple(reasons)


def _line(chain_id: int, workerpool: str, order: Order) -> DemandLine:
    message = order.message or {}
    if order.workerpool and order.workerpool.lower() != workerpool.lower():
        return DemandLine(
            order, "", False, reasons=(f"It asks for another pool ({order.workerpool}).",)
        )
    try:
        requirements = parse_requirements(order.requirements or {}, regions=matching.REGIONS)
    except RequirementsRefused as refused:
        return DemandLine(
            order, "", False, reasons=(f"Its requirements no longer read: {refused}",)
        )
    wanted = selectors.Wanted(
        app=order.asset,
        category=int(order.category or 0),
        requester=order.signer,
        dataset=order.dataset,
        workerpool=workerpool,
        trust=int(order.trust or 0),
        volume=int(order.remaining),
        tag=bytes.fromhex(order.tag[2:]),
        app_max=int(message.get("appmaxprice", 0)),
        dataset_max=int(message.get("datasetmaxprice", 0)) if order.dataset else None,
        workerpool_max=int(message.get("workerpoolmaxprice", 0)),
    )
    market = purchases.purchase_market(
        wanted=wanted,
        requirements=requirements,
        weights=PRESETS[DEFAULT_PRESET],  # one pool: the order of the fitting ones does not matter
        preset=DEFAULT_PRESET,
        beneficiary=str(message.get("beneficiary", "")),
    )
    rank = _rank(chain_id, workerpool, market)
    app_name = str(market.request.get("AppName") or "")
    if market.best is not None:
        return DemandLine(order, app_name, True, offer=market.best, rank=rank)
    return DemandLine(order, app_name, False, reasons=_reasons(market), rank=rank)


def _rank(chain_id: int, workerpool: str, market: matching.Market) -> float | None:
    """The pool's own Rank of the request (HTCondor's: a number, higher is preferred; 0 when
    it is UNDEFINED for this request), None when the pool has no Rank."""
    profile = pool_profiles(chain_id=chain_id, addresses=[workerpool]).get(workerpool)
    if profile is None or profile.rank is None:
        return None
    fitting = {ad.key: ad for ad in market.explanation.fitting}
    pool = (
        fitting[workerpool].classad() if workerpool in fitting else classads.ad(profile.attributes)
    )
    return classads.rank(profile.rank, pool, request_ad(market.request, None))


def pool_demand(*, chain_id: int, workerpool: str, limit: int = DEMAND_SHOWN) -> list[DemandLine]:
    """The latest `limit` open standing requests in the book (not expired), each with whether
    `workerpool` (its address as the book writes it) could serve it now, as a purchase would
    match it, and if not, why. `chain_id` is the site's (settings.CHAIN_ID): the market that
    judges each request is read there."""
    now = timezone.now()
    requests = (
        Order.objects.filter(chain_id=chain_id, kind=OrderKind.REQUEST, status=OrderStatus.OPEN)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at", "-id")[:limit]
    )
    lines = [_line(chain_id, workerpool, order) for order in requests]
    # The pool's Rank first (the requests it prefers), then the newest: as it would take them.
    return sorted(lines, key=lambda line: -(line.rank or 0.0))
