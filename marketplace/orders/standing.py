"""Standing requests: a request order its requester signed and left in the book, until an
expiry, for when nothing fits now or to wait for a better price; and the matcher that matches
them against the offers as they come.

A standing request is a request order of the book (kind "request") with an expiry
(`Order.expires_at`), the buyer's requirements of pools (`Order.requirements`, the buy form's
fields) and preferences (`Order.preferences`: a preset and its weights). The book keeps it like
any order: `orders_refresh` marks it dead while its requester's escrow does not cover it, open
again once it does, filled or cancelled from the chain. Its signed max prices are the buyer's
limits: the matcher never pays more per task for the app, the dataset or the pool.

The matcher (`standing_match_round`, a Celery beat task) takes each open, unexpired standing
request, oldest first, finds the offers that fit it now (`matching.market_for`, with its own
requirements, ranked by its own preferences), checks every matchOrders rule
(`purchases.match_failures`) for the best ones in turn, and sends matchOrders with a server key:
the requester's escrow pays, as the Hub takes it from the requester whoever sends.

Exactly once: before a match is sent, a `StandingMatch` row says so, committed. While it is
pending or sent, nothing else is sent for that request (a unique constraint holds it too); the
next round, after a crash or a restart as well, resolves it from the chain first: the deal a
match makes is named after the request's digest and its consumed volume when it was decided, so
the request's consumed volume on chain says whether it landed. A match never takes more than
the request's remaining volume on chain, and the Hub refuses beyond the signed volume anyway.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from marketplace.chain.amounts import ECT_DECIMALS, format_ect
from marketplace.chain.errors import ChainError, ChainRevert
from marketplace.chain.ids import Market, deal_id
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    RequestOrder,
    hub_domain,
    order_digest,
    typed_data,
)
from marketplace.chain.selectors import current_hub
from marketplace.deals.selectors import deal_params
from marketplace.indexer.models import Category, Deal, IndexerState, OrderKind
from marketplace.matchmaking.choice import DEFAULT_PRESET, PRESETS, Weights, WeightsRefused
from marketplace.matchmaking.requirements import (
    Requirements,
    RequirementsRefused,
    parse_requirements,
)
from marketplace.notifications.services import notify_standing_matched
from marketplace.orders import caps, matching, purchases, selectors
from marketplace.orders.models import (
    UNRESOLVED,
    MatchStatus,
    Order,
    OrderStatus,
    StandingMatch,
)
from marketplace.orders.parsing import ARGS_MAX, TRUST_MAX, OrderError, parse_order
from marketplace.orders.services import (
    BookUnavailable,
    ChainFacts,
    NotYourOrder,
    book_domain,
    chain_order,
    order_publish,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from marketplace.chain.client import TransactionSender
    from marketplace.chain.hub import Hub

DEFAULT_EXPIRY = datetime.timedelta(days=7)
MAX_EXPIRY = datetime.timedelta(days=30)
EXPIRED = (
    "Expired: no offer fitted it before its expiry, and it left the book. It is still valid on "
    "chain until closed there."
)


class StandingRefused(OrderError):
    """A standing request the book does not take: `field` names the input at fault."""


def _refusal_field(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if field else prefix


# ---------------------------------------------------------------------- what the buyer asks


def standing_requirements(values: Any) -> Requirements:
    """The requirements of pools a standing request keeps (the buy form's fields); raises
    StandingRefused naming the field at fault (requirements.<field>)."""
    if values in (None, ""):
        values = {}
    if not isinstance(values, dict):
        raise StandingRefused(
            "requirements must be a JSON object of the buy form's fields (cores, memory_mb, "
            "region, energy_class, max_price, trust, deadline_minutes, expression).",
            field="requirements",
        )
    try:
        return parse_requirements(values, regions=matching.REGIONS)
    except RequirementsRefused as refused:
        raise StandingRefused(
            str(refused), field=_refusal_field("requirements", refused.field)
        ) from None


def standing_preferences(values: Any) -> tuple[str, Weights]:
    """(preset, weights) of a standing request: {"preset": one of PRESETS} or {"weights":
    {criterion: number}} (then the preset is ""); nothing is the cheapest first. Raises
    StandingRefused naming the field at fault."""
    if values in (None, ""):
        values = {}
    if not isinstance(values, dict):
        raise StandingRefused(
            'preferences must be a JSON object: {"preset": "cheapest"} or {"weights": {...}}.',
            field="preferences",
        )
    unknown = sorted(str(key) for key in values if key not in ("preset", "weights"))
    if unknown:
        raise StandingRefused(
            f"preferences has no field {unknown[0]!r}: give a preset, or weights.",
            field=_refusal_field("preferences", unknown[0]),
        )
    weights = values.get("weights")
    if weights:
        if not isinstance(weights, dict):
            raise StandingRefused(
                "preferences.weights must be a JSON object of weights by criterion, such as "
                '{"price": 1, "speed": 0.5}.',
                field="preferences.weights",
            )
        try:
            return "", Weights.parse(weights)
        except WeightsRefused as refused:
            raise StandingRefused(
                str(refused), field=_refusal_field("preferences.weights", refused.field)
            ) from None
    preset = values.get("preset") or DEFAULT_PRESET
    if preset not in PRESETS:
        raise StandingRefused(
            f"There is no preset {str(preset)[:40]!r}: choose one of {', '.join(PRESETS)}, or "
            "give weights.",
            field="preferences.preset",
        )
    return preset, PRESETS[preset]


def standing_expiry(
    value: datetime.datetime | None, *, now: datetime.datetime
) -> datetime.datetime:
    """When a standing request leaves the book: `value`, in the future and at most MAX_EXPIRY
    ahead of `now`, or DEFAULT_EXPIRY from `now` when None. Raises StandingRefused."""
    if value is None:
        return now + DEFAULT_EXPIRY
    if timezone.is_naive(value):
        raise StandingRefused(
            "expires_at needs a time zone: give it as 2030-01-31T12:00:00Z, for example.",
            field="expires_at",
        )
    if value <= now:
        raise StandingRefused(
            f"The expiry {value.isoformat()} is past: choose a time in the future, at most "
            f"{MAX_EXPIRY.days} days ahead.",
            field="expires_at",
        )
    if value > now + MAX_EXPIRY:
        raise StandingRefused(
            f"The expiry {value.isoformat()} is more than {MAX_EXPIRY.days} days ahead: a "
            f"request stays in the book {MAX_EXPIRY.days} days at most. Choose an earlier one "
            "(you may publish a new request then).",
            field="expires_at",
        )
    return value


def _units(ect: Any) -> int:
    return int(ect.scaleb(ECT_DECIMALS))


def _check_limits(request: RequestOrder, requirements: Requirements) -> None:
    """The pool price the buyer requires is one the signed request can pay."""
    if requirements.max_price is None:
        return
    if _units(requirements.max_price) > request.workerpoolmaxprice:
        raise StandingRefused(
            f"Your max pool price ({requirements.max_price:f} ECT) is above the pool price the "
            f"request is signed for ({format_ect(request.workerpoolmaxprice)}): no match could "
            "pay it. Lower the max price, or sign the request with that workerpoolmaxprice.",
            field="requirements.max_price",
        )


def standing_category(category: int, *, chain_id: int) -> None:
    """Raise StandingRefused (field "category") unless the Hub has `category`: the Hub would
    refuse every match of the request, which would wait in the book for nothing."""
    if refusal := selectors.category_refusal(category, chain_id=chain_id):
        raise StandingRefused(refusal, field="category")


# What a request may name, by its order field: (the kind of asset, how to say it).
_NAMED = {
    "app": (Market.APP, OrderKind.APP, "an app"),
    "dataset": (Market.DATASET, OrderKind.DATASET, "a dataset"),
    "workerpool": (Market.POOL, OrderKind.WORKERPOOL, "a pool"),
}


def _check_request(request: RequestOrder, *, chain_id: int) -> None:
    """What the buy form bounds, bounded here too (the API is not the form): the trust, the
    arguments' length, and the app, dataset and pool it names registered on this chain. A
    request failing these would wait in the book for a match that can never come."""
    if request.trust > TRUST_MAX:
        raise StandingRefused(
            f"Trust {request.trust:,} is above the most a buyer may ask here, {TRUST_MAX:,}: "
            "sign the request with a lower trust.",
            field="trust",
        )
    args = deal_params(request.params or "").args  # "args", or iExec's "iexec_args"
    if len(args) > ARGS_MAX:
        raise StandingRefused(
            f"The arguments have {len(args):,} characters; at most {ARGS_MAX:,} are accepted.",
            field="params",
        )
    for field, (kind, registry, noun) in _NAMED.items():
        address = getattr(request, field)
        if field != "app" and address == ZERO_ADDRESS:
            continue
        if selectors.asset_registered(chain_id=chain_id, address=address, kind=kind):
            continue
        try:  # registered since the indexer's last block, perhaps: the chain knows
            registered = current_hub().is_registered(registry, address)
        except ChainError as error:
            raise BookUnavailable(
                f"Could not ask the chain whether {address} is registered: {error}"
            ) from error
        if not registered:
            raise StandingRefused(
                f"No {noun.split()[1]} is registered at {address} on this chain: name {noun} "
                "of this site's markets.",
                field=field,
            )


def _check_task(request: RequestOrder) -> None:
    """What the task would read works (purchases.task_input), as a purchase requires."""
    try:
        params = json.loads(request.params or "{}")
    except ValueError:
        params = {}
    if not isinstance(params, dict):
        params = {}
    files = params.get("input_files")
    reads = purchases.task_input(
        app=request.app,
        dataset="" if request.dataset == ZERO_ADDRESS else request.dataset,
        args=str(params.get("args", "")),
        input_files=[str(url) for url in files] if isinstance(files, list) else [],
    )
    if reads.failures:
        raise purchases.MatchRefused(reads.failures)


@dataclasses.dataclass(frozen=True)
class StandingDraft:
    """A standing request to sign: the order (its max prices are the buyer's limits), its
    typed data and digest, the most it can cost (`total`), and the requester's free escrow."""

    request: RequestOrder
    typed_data: dict[str, Any]
    digest: str
    total: int
    stake: int

    @property
    def deposit_needed(self) -> int:
        """What to deposit first: the book takes a request its escrow covers."""
        return max(0, self.total - self.stake)


def standing_draft(
    *,
    wanted: selectors.Wanted,
    params: str,
    workerpool_max: int,
    app_max: int | None = None,
    dataset_max: int | None = None,
    beneficiary: str = "",
) -> StandingDraft:
    """The request order a buyer signs to wait for `wanted`: at most `workerpool_max` per task
    for a pool, and `app_max` and `dataset_max` for the app and the dataset (None: what their
    cheapest offer asks now). `params` is purchases.default_params' JSON. Raises
    StandingRefused when the Hub has no such category or no offer of the app (or dataset)
    gives a default, BookUnavailable when the chain cannot be asked the requester's escrow."""
    domain = book_domain()
    standing_category(wanted.category, chain_id=domain.chain_id)
    if app_max is None:
        offer = selectors.best_app_order(chain_id=domain.chain_id, wanted=wanted)
        if offer is None:
            raise StandingRefused(
                "Nobody sells runs of this app to you right now: give the most you would pay "
                "its provider per task (app max price), and the request waits for that too.",
                field="app_max",
            )
        app_max = int(offer.price)
    if not wanted.dataset:
        dataset_max = 0
    elif dataset_max is None:
        offer = selectors.best_dataset_order(chain_id=domain.chain_id, wanted=wanted)
        if offer is None:
            raise StandingRefused(
                "Nobody sells this dataset for this app to you right now: give the most you "
                "would pay its provider per task (dataset max price).",
                field="dataset_max",
            )
        dataset_max = int(offer.price)
    total = (app_max + dataset_max + workerpool_max) * wanted.volume
    caps.spending_cap_check(
        chain_id=domain.chain_id, requester=wanted.requester, cost=total, standing=True
    )
    request = RequestOrder(
        app=wanted.app,
        appmaxprice=app_max,
        dataset=wanted.dataset or ZERO_ADDRESS,
        datasetmaxprice=dataset_max,
        workerpool=wanted.workerpool or ZERO_ADDRESS,
        workerpoolmaxprice=workerpool_max,
        requester=wanted.requester,
        volume=wanted.volume,
        tag=wanted.tag,
        category=wanted.category,
        trust=wanted.trust,
        beneficiary=beneficiary or wanted.requester,
        params=params,
    )
    try:
        stake = current_hub().account(wanted.requester).stake
    except ChainError as error:
        raise BookUnavailable(f"Could not read your escrow on chain: {error}") from error
    return StandingDraft(
        request=request,
        typed_data=typed_data(request, domain),
        digest="0x" + order_digest(request, domain).hex(),
        total=total,
        stake=stake,
    )


@transaction.atomic
def standing_publish(
    *,
    user: AbstractBaseUser,
    message: Any,
    signature: Any,
    requirements: Any,
    preferences: Any,
    expires_at: datetime.datetime | None = None,
    site_url: str | None = None,
    now: datetime.datetime | None = None,
) -> Order:
    """Publish a signed request order into the book as a standing request, with the buyer's
    `requirements` of pools (the buy form's fields), `preferences` ({"preset"} or
    {"weights"}) and expiry (default: DEFAULT_EXPIRY from now; at most MAX_EXPIRY).

    Precondition: `user` is signed in. The request's requester must be one of their linked
    wallets (else NotYourOrder); the request is checked as the book checks every order
    (signature, volume, the requester's escrow: services.order_publish), its category must
    be one the Hub has, its task is checked as a purchase checks it, and its cost against the
    requester's spending caps (caps.spending_cap_check). Raises
    StandingRefused (or the book's OrderError) naming the field at fault; nothing is stored
    then.
    """
    now = now or timezone.now()
    request = parse_order(OrderKind.REQUEST, message)
    if not user.wallets.filter(address__iexact=request.requester).exists():
        raise NotYourOrder(
            f"The request's requester {request.requester} is not one of your linked wallets: "
            "link it on the Wallets page (sign in with it), then publish.",
            field="requester",
        )
    parsed = standing_requirements(requirements)
    preset, weights = standing_preferences(preferences)
    expiry = standing_expiry(expires_at, now=now)
    standing_category(request.category, chain_id=settings.CHAIN_ID)
    _check_limits(request, parsed)
    _check_request(request, chain_id=settings.CHAIN_ID)
    _check_task(request)
    caps.spending_cap_check(
        chain_id=settings.CHAIN_ID,
        requester=request.requester,
        cost=purchases.request_cost(request),
        standing=True,
        now=now,
    )
    order = order_publish(
        kind=OrderKind.REQUEST, order=message, signature=signature, user=user, site_url=site_url
    )
    order.requirements = parsed.as_dict()
    order.preferences = {"preset": preset, "weights": weights.as_dict()}
    order.expires_at = expiry
    order.save(update_fields=["requirements", "preferences", "expires_at", "updated_at"])
    return order


# ---------------------------------------------------------------------- reads


def standing_list(*, user: AbstractBaseUser, chain_id: int) -> QuerySet[Order]:
    """The standing requests of `user`'s linked wallets, newest first, with their matches."""
    wallets = list(user.wallets.values_list("address", flat=True))
    return (
        Order.objects.filter(
            chain_id=chain_id,
            kind=OrderKind.REQUEST,
            expires_at__isnull=False,
            signer__in=wallets,
        )
        .prefetch_related("standing_matches")
        .order_by("-created_at", "-id")
    )


def standing_detail(*, chain_id: int, digest: str) -> Order | None:
    """The standing request `digest` (None: no such standing request)."""
    return (
        Order.objects.filter(
            chain_id=chain_id,
            kind=OrderKind.REQUEST,
            expires_at__isnull=False,
            digest=digest.lower(),
        )
        .prefetch_related("standing_matches")
        .first()
    )


def standing_deals(order: Order) -> list[str]:
    """The deals of this request: those its matches made, then any other the index saw (the
    signed request is in the book: anyone may match it), oldest first."""
    return standing_deals_of([order])[order.digest]


def standing_deals_of(orders: list[Order]) -> dict[str, list[str]]:
    """`standing_deals` of each of `orders` (with their matches prefetched), by digest, in one
    query of the index."""
    found = {
        order.digest: [
            match.dealid
            for match in order.standing_matches.all()
            if match.status == MatchStatus.CONFIRMED
        ]
        for order in orders
    }
    if not orders:
        return found
    indexed = Deal.objects.filter(
        chain_id=orders[0].chain_id, request_order__in=list(found)
    ).order_by("block_number", "id")
    for digest, dealid in indexed.values_list("request_order", "dealid"):
        if dealid not in found[digest]:
            found[digest].append(dealid)
    return found


def standing_remaining(order: Order) -> int:
    """Tasks the request has left: the book's count, or fewer when the matcher's deal is on
    chain and the index has not read it yet."""
    matched = [
        match.consumed_before + match.volume
        for match in order.standing_matches.all()
        if match.status == MatchStatus.CONFIRMED
    ]
    return max(0, order.volume - max([order.consumed, *matched]))


@dataclasses.dataclass(frozen=True)
class StandingMarket:
    """A standing request against the book now: its order, the app's and dataset's offers it
    would take (None: none within its max prices), and the pools' market (why none fits, the
    fitting ones ranked by its preferences)."""

    request: RequestOrder
    remaining: int
    app_order: Order | None
    dataset_order: Order | None
    market: matching.Market


def _stored_weights(order: Order) -> tuple[str, Weights]:
    preferences = order.preferences or {}
    weights = preferences.get("weights")
    preset = preferences.get("preset", DEFAULT_PRESET)
    if weights:
        return preset, Weights(**weights)
    return preset, PRESETS.get(preset, PRESETS[DEFAULT_PRESET])


def standing_market(order: Order, *, consumed: int | None = None) -> StandingMarket:
    """The market a standing request sees now, for its remaining volume (`consumed`: its
    consumed volume as the chain says, else as the book last saw it). Raises StandingRefused
    when its stored requirements no longer parse (a region this site dropped)."""
    request = chain_order(order)
    consumed = order.consumed if consumed is None else consumed
    remaining = max(request.volume - consumed, 0)
    wanted = selectors.Wanted(
        app=request.app,
        category=request.category,
        requester=request.requester,
        dataset="" if request.dataset == ZERO_ADDRESS else request.dataset,
        workerpool="" if request.workerpool == ZERO_ADDRESS else request.workerpool,
        trust=request.trust,
        volume=max(remaining, 1),
        tag=request.tag,
        app_max=request.appmaxprice,
        dataset_max=request.datasetmaxprice,
        workerpool_max=request.workerpoolmaxprice,
    )
    app_order, dataset_order, required = purchases.sell_orders_for(wanted)
    preset, weights = _stored_weights(order)
    market = matching.market_for(
        wanted=wanted,
        requirements=standing_requirements(order.requirements),
        weights=weights,
        preset=preset,
        required_tag=required,
        app_order=app_order,
        dataset_order=dataset_order,
        beneficiary=request.beneficiary,
    )
    return StandingMarket(request, remaining, app_order, dataset_order, market)


def standing_waiting_for(standing: StandingMarket) -> list[str]:
    """Why the request is still waiting, in words: the app's or dataset's offer missing
    within its max prices, and why no pool fits (empty: something fits)."""
    request = standing.request
    said = []
    if standing.app_order is None:
        said.append(
            f"No offer of the app for {standing.remaining} task(s) at "
            f"{format_ect(request.appmaxprice)} or less."
        )
    if request.dataset != ZERO_ADDRESS and standing.dataset_order is None:
        said.append(
            f"No offer of the dataset for {standing.remaining} task(s) at "
            f"{format_ect(request.datasetmaxprice)} or less."
        )
    if standing.market.best is None:
        said.append(standing.market.explanation.sentence)
    return said


# ---------------------------------------------------------------------- the matcher


@dataclasses.dataclass
class MatchRound:
    """What one round did: deals its matches made (`matched`), earlier matches it found on
    chain (`resolved`), matches that failed, requests still waiting, requests expired, and
    the problems met (a request skipped this round, said why)."""

    matched: list[str] = dataclasses.field(default_factory=list)
    resolved: list[str] = dataclasses.field(default_factory=list)
    failed: int = 0
    waiting: int = 0
    expired: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


def _settle_seconds() -> float:
    return float(settings.STANDING_MATCH_SETTLE_SECONDS)


def _finish(match: StandingMatch, **fields: Any) -> bool:
    """Record the outcome of an unresolved match, unless another round did first."""
    return bool(
        StandingMatch.objects.filter(pk=match.pk, status__in=UNRESOLVED).update(
            updated_at=timezone.now(), **fields
        )
    )


def _resolve(match: StandingMatch, *, hub: Hub, now: datetime.datetime, done: MatchRound) -> None:
    """Settle a match whose outcome is not known from the chain: the request's consumed volume
    moved past the one it was decided at (it landed: its deal is on chain), or it did not and
    STANDING_MATCH_SETTLE_SECONDS have passed since it was sent (it will not land: the request
    may be matched anew). Left unresolved otherwise: it may still be mined."""
    consumed = hub.consumed(match.request_digest)
    if consumed > match.consumed_before:
        if hub.deal(match.dealid).volume:
            if _finish(match, status=MatchStatus.CONFIRMED, reason=""):
                done.resolved.append(match.dealid)
                _matched(match, match.dealid)
            return
        # Consumed without this deal: closed on chain (its consumed volume is its volume now).
        if _finish(
            match,
            status=MatchStatus.FAILED,
            reason="The request was closed on chain before the match landed.",
        ):
            done.failed += 1
        return
    if (now - match.updated_at).total_seconds() < _settle_seconds():
        return
    if _finish(
        match,
        status=MatchStatus.FAILED,
        reason=f"Not on chain {_settle_seconds():g} s after it was sent: matched anew.",
    ):
        done.failed += 1


def _book_lock(chain_id: int) -> None:
    # The indexer holds its state row while it refreshes the book (services.orders_refresh):
    # an expiry written under it is never overwritten by a refresh that read the book before.
    IndexerState.objects.select_for_update().filter(chain_id=chain_id).first()


@transaction.atomic
def standing_expire(*, chain_id: int, now: datetime.datetime | None = None) -> int:
    """Take the standing requests past their expiry off the book (cancelled, EXPIRED), but
    not one with a match in flight (the next round, once it is resolved). How many."""
    now = now or timezone.now()
    _book_lock(chain_id)
    expired = (
        Order.objects.filter(
            chain_id=chain_id,
            kind=OrderKind.REQUEST,
            unpublished=False,
            expires_at__lte=now,
        )
        .exclude(status__in=[OrderStatus.FILLED, OrderStatus.CANCELLED])
        .exclude(standing_matches__status__in=UNRESOLVED)
    )
    # Off the book like an order its signer took off (unpublished): the refresh, which follows
    # the chain, leaves it alone.
    return expired.update(
        status=OrderStatus.CANCELLED,
        unpublished=True,
        status_reason=EXPIRED,
        updated_at=now,
    )


def _signature(order: Order) -> bytes:
    return bytes.fromhex(order.signature[2:]) if order.signature else b""


@dataclasses.dataclass(frozen=True)
class _Chosen:
    """The offers a request is matched with, and how many tasks."""

    app: Order
    dataset: Order | None
    workerpool: Order
    volume: int


def _choose(
    standing: StandingMarket, *, facts: ChainFacts, categories: int, chain_id: int
) -> _Chosen | None:
    """The first pool offer, in the request's own ranking, that passes every matchOrders rule
    (and whose members can reach its trust) with the app's and dataset's offers; None."""
    request, app_order, dataset_order = standing.request, standing.app_order, standing.dataset_order
    if app_order is None or (request.dataset != ZERO_ADDRESS and dataset_order is None):
        return None
    app = chain_order(app_order)
    dataset = chain_order(dataset_order) if dataset_order else None
    for offer in standing.market.offers:
        if int(offer.price) > request.workerpoolmaxprice:
            continue
        facts.load(
            assets=[app_order.asset, offer.asset]
            + ([dataset_order.asset] if dataset_order else []),
            accounts=[offer.signer, request.requester],
            digests=[],
        )
        remaining = {
            purchases.APP: app_order.remaining,
            purchases.WORKERPOOL: offer.remaining,
            purchases.REQUEST: standing.remaining,
            **({purchases.DATASET: dataset_order.remaining} if dataset_order else {}),
        }
        failures = purchases.match_failures(
            app=app,
            dataset=dataset,
            workerpool=chain_order(offer),
            request=request,
            remaining=remaining,
            facts=facts,
            categories=categories,
        )
        if failures:
            continue
        out_of_reach = purchases.trust_out_of_reach(
            chain_id=chain_id,
            workerpool=offer.asset,
            trust=request.trust,
            buyers=[request.requester, request.beneficiary],
            dataset=dataset_order.asset if dataset_order else "",
        )
        if out_of_reach is not None:
            continue
        return _Chosen(app_order, dataset_order, offer, min(remaining.values()))
    return None


def _decide(
    pk: int, *, chain_id: int, hub: Hub, now: datetime.datetime, done: MatchRound
) -> StandingMatch | None:
    """Lock the request, find its match and write it down (pending), in one committed
    transaction; None when there is nothing to send."""
    with transaction.atomic():
        candidates = Order.objects.filter(
            pk=pk, status=OrderStatus.OPEN, unpublished=False, expires_at__gt=now
        )
        if connection.features.has_select_for_update_skip_locked:
            # Another round deciding this request: it is theirs this time.
            candidates = candidates.select_for_update(skip_locked=True)
        else:
            candidates = candidates.select_for_update()
        order = candidates.first()
        if order is None or order.standing_matches.filter(status__in=UNRESOLVED).exists():
            return None
        # The chain's word, not the index's: the index may not have seen our last match yet.
        consumed = hub.consumed(order.digest)
        if consumed >= order.volume:
            return None  # filled: the refresh marks it so
        standing = standing_market(order, consumed=consumed)
        facts = ChainFacts(
            chain_id=chain_id, domain=hub_domain(chain_id=chain_id, hub_address=hub.address)
        )
        categories = Category.objects.filter(chain_id=chain_id).count()
        chosen = _choose(standing, facts=facts, categories=categories, chain_id=chain_id)
        if chosen is None:
            done.waiting += 1
            return None
        try:
            with transaction.atomic():
                return StandingMatch.objects.create(
                    chain_id=chain_id,
                    request=order,
                    request_digest=order.digest,
                    app_order=chosen.app.digest,
                    dataset_order=chosen.dataset.digest if chosen.dataset else "",
                    workerpool_order=chosen.workerpool.digest,
                    volume=chosen.volume,
                    consumed_before=consumed,
                    dealid="0x" + deal_id(bytes.fromhex(order.digest[2:]), consumed).hex(),
                    status=MatchStatus.PENDING,
                )
        except IntegrityError:
            return None  # another round wrote one first: it sends it


def _reason(text: str, limit: int = 300) -> str:
    """`text` as StandingMatch.reason holds it: whole, or cut at a word with "…"."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,:;") + "…"


def _send(match: StandingMatch, *, hub: Hub, sender: TransactionSender, done: MatchRound) -> None:
    """Send the match written down (pending) and record what the chain said."""
    orders = {
        order.digest: order
        for order in Order.objects.filter(
            chain_id=match.chain_id,
            digest__in=[
                match.request_digest,
                match.app_order,
                match.workerpool_order,
                *([match.dataset_order] if match.dataset_order else []),
            ],
        )
    }
    request = orders[match.request_digest]
    app, pool = orders[match.app_order], orders[match.workerpool_order]
    dataset = orders[match.dataset_order] if match.dataset_order else None
    call = hub.match_orders_call(
        app_order=chain_order(app),
        app_sign=_signature(app),
        dataset_order=chain_order(dataset) if dataset else None,
        dataset_sign=_signature(dataset) if dataset else b"",
        workerpool_order=chain_order(pool),
        workerpool_sign=_signature(pool),
        request_order=chain_order(request),
        request_sign=_signature(request),
    )
    try:
        receipt = call.send(sender)
    except ChainRevert as refusal:
        # Refused by the gas estimate (nothing sent) or mined and reverted: nothing matched.
        if _finish(
            match,
            status=MatchStatus.FAILED,
            tx_hash=refusal.tx_hash or "",
            reason=_reason(str(refusal)),
        ):
            done.failed += 1
        return
    except ChainError as error:
        # No answer: it may have been sent, and may still be mined. The next rounds ask the
        # chain (_resolve) before sending anything else for this request.
        _finish(match, status=MatchStatus.SENT, reason=_reason(f"No answer yet: {error}"))
        done.problems.append(f"matching request {match.request_digest[:10]}: {error}")
        return
    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    (matched,) = hub.orders_matched(receipt)
    dealid = "0x" + bytes(matched.dealid).hex()
    if _finish(match, status=MatchStatus.CONFIRMED, tx_hash=tx_hash, dealid=dealid, reason=""):
        _matched(match, dealid)
    done.matched.append(dealid)


def _matched(match: StandingMatch, dealid: str) -> None:
    """Tell the requester their standing request became deal `dealid` (once: only the round
    that recorded the match as confirmed calls this, and the notification's key holds too)."""
    request = match.request
    notify_standing_matched(
        chain_id=match.chain_id,
        dealid=dealid,
        request_digest=match.request_digest,
        requester=request.signer,
        publisher=request.published_by,
    )


def standing_match_round(
    *,
    chain_id: int,
    hub: Hub,
    sender: TransactionSender,
    now: datetime.datetime | None = None,
) -> MatchRound:
    """One round of the matcher: resolve the matches in flight from the chain, take the
    expired requests off the book, then match every open, unexpired standing request (oldest
    first) that has none in flight with the best offer by its own preferences that passes
    every matchOrders rule, sending matchOrders from `sender` (a server key; the requester's
    escrow pays).

    Preconditions: `hub` is this site's Hub (the book's orders are signed for it) on chain
    `chain_id` (settings.CHAIN_ID); `sender` holds gas money. A request the round cannot handle
    (the node down, its requirements no longer readable) is skipped, said in `problems`."""
    now = now or timezone.now()
    done = MatchRound()
    for match in StandingMatch.objects.filter(chain_id=chain_id, status__in=UNRESOLVED):
        try:
            _resolve(match, hub=hub, now=now, done=done)
        except ChainError as error:
            done.problems.append(f"resolving the match of {match.request_digest[:10]}: {error}")
    done.expired = standing_expire(chain_id=chain_id, now=now)
    waiting = (
        Order.objects.filter(
            chain_id=chain_id,
            hub__iexact=hub.address,
            kind=OrderKind.REQUEST,
            status=OrderStatus.OPEN,
            unpublished=False,
            expires_at__gt=now,
        )
        .exclude(standing_matches__status__in=UNRESOLVED)
        .order_by("created_at", "id")
        .values_list("pk", "digest")
    )
    for pk, digest in list(waiting):
        try:
            match = _decide(pk, chain_id=chain_id, hub=hub, now=now, done=done)
        except (ChainError, OrderError) as error:
            done.problems.append(f"matching request {digest[:10]}: {error}")
            continue
        if match is not None:
            _send(match, hub=hub, sender=sender, done=done)
    return done
