"""Buying: find the sell orders that fit what a buyer wants, run every check matchOrders will
run (so that each failure is told in words before any gas is spent), build the request order
the buyer signs, and then the matchOrders transaction the buyer's wallet sends.

The checks are the Hub's, in its order (PROTOCOL.md), and their sentences are the ones the
Hub's custom errors get (marketplace.chain.hub_errors): what the page says before the
transaction is what the chain would have said after. Unlike the Hub, which stops at the first
failure, every failing check is reported.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.conf import settings

from marketplace.chain.amounts import format_ect
from marketplace.chain.errors import MESSAGES, ChainError, describe_error
from marketplace.chain.ids import deal_id
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Domain,
    RequestOrder,
    WorkerpoolOrder,
    order_digest,
    recover_signer,
    tag_covers,
    tag_union,
    typed_data,
)
from marketplace.indexer.models import Category, OrderKind
from marketplace.matchmaking.choice import DEFAULT_PRESET, PRESETS, Weights
from marketplace.matchmaking.explain import NO_OFFER
from marketplace.matchmaking.requirements import Requirements
from marketplace.orders import caps, matching, selectors
from marketplace.orders.models import Order as BookOrder
from marketplace.orders.models import OrderStatus
from marketplace.orders.parsing import (
    OrderError,
    input_file_urls,
    parse_order,
    parse_signature,
)
from marketplace.orders.services import (
    BookUnavailable,
    ChainFacts,
    OrderRefused,
    book_domain,
    chain_order,
)
from pools import scheduler
from worker.command_line import DATASET_PLACEHOLDER, input_file_name, task_command_line

# Codes of the Hub's errors (HubTypes.sol, library Kind).
APP, DATASET, WORKERPOOL, REQUEST = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True)
class Failure:
    """One check matchOrders would fail: the Hub's error name and its sentence."""

    check: str
    message: str


def _failure(name: str, **arguments: Any) -> Failure:
    import marketplace.chain.hub_errors  # noqa: F401  (registers the sentences)

    build = MESSAGES.get(name)
    return Failure(name, build(arguments) if build else describe_error(name, arguments))


def _zero(address: str) -> bool:
    return address == ZERO_ADDRESS


def match_failures(
    *,
    app: AppOrder,
    dataset: DatasetOrder | None,
    workerpool: WorkerpoolOrder,
    request: RequestOrder,
    remaining: dict[int, int],
    facts: ChainFacts,
    categories: int,
) -> list[Failure]:
    """Every matchOrders check these orders fail, in the Hub's order. `remaining` gives each
    order's remaining volume by kind code; `categories` how many categories the Hub has. The
    payer's and the pool owner's escrow are checked last (InsufficientStake)."""
    failures: list[Failure] = []
    add = failures.append
    # 1. category
    if request.category != workerpool.category:
        add(
            _failure(
                "CategoryMismatch",
                requestCategory=request.category,
                workerpoolCategory=workerpool.category,
            )
        )
    elif request.category >= categories:
        add(_failure("UnknownCategory", category=request.category, count=categories))
    # 2. trust
    if request.trust > workerpool.trust:
        add(_failure("TrustTooHigh", requestTrust=request.trust, workerpoolTrust=workerpool.trust))
    # 3. prices
    for code, price, max_price in (
        (APP, app.appprice, request.appmaxprice),
        (DATASET, dataset.datasetprice if dataset else 0, request.datasetmaxprice),
        (WORKERPOOL, workerpool.workerpoolprice, request.workerpoolmaxprice),
    ):
        if price > max_price:
            add(_failure("PriceTooHigh", asset=code, price=price, maxPrice=max_price))
    # 4. tag
    required = tag_union(app.tag, dataset.tag if dataset else bytes(32), request.tag)
    if not tag_covers(offered=workerpool.tag, required=required):
        offered = int.from_bytes(workerpool.tag, "big")
        missing = int.from_bytes(required, "big") & ~offered
        add(_failure("TagNotOffered", missingBits=missing.to_bytes(32, "big")))
    # 5. assets
    if request.app != app.app:
        add(_failure("AssetMismatch", asset=APP, requested=request.app, offered=app.app))
    offered_dataset = dataset.dataset if dataset else ZERO_ADDRESS
    if request.dataset != offered_dataset:
        add(
            _failure(
                "AssetMismatch", asset=DATASET, requested=request.dataset, offered=offered_dataset
            )
        )
    # 6. restrictions
    deal = {
        APP: app.app,
        DATASET: request.dataset,
        WORKERPOOL: workerpool.workerpool,
        REQUEST: request.requester,
    }
    # In the Hub's order; a deal without dataset has the empty dataset order, which allows all.
    no_restriction = ZERO_ADDRESS
    restrictions = [
        (REQUEST, WORKERPOOL, request.workerpool),
        (APP, DATASET, app.datasetrestrict),
        (APP, WORKERPOOL, app.workerpoolrestrict),
        (APP, REQUEST, app.requesterrestrict),
        (DATASET, APP, dataset.apprestrict if dataset else no_restriction),
        (DATASET, WORKERPOOL, dataset.workerpoolrestrict if dataset else no_restriction),
        (DATASET, REQUEST, dataset.requesterrestrict if dataset else no_restriction),
        (WORKERPOOL, APP, workerpool.apprestrict),
        (WORKERPOOL, DATASET, workerpool.datasetrestrict),
        (WORKERPOOL, REQUEST, workerpool.requesterrestrict),
    ]
    for order, field, allowed in restrictions:
        if not _zero(allowed) and allowed != deal[field]:
            add(
                _failure(
                    "RestrictionFailed",
                    order=order,
                    field=field,
                    allowed=allowed,
                    actual=deal[field],
                )
            )
    # 7. registered assets (their owners' signatures were checked when the orders were
    # published; the book marks them dead when an owner changes)
    for code, kind, address in (
        (APP, OrderKind.APP, app.app),
        (DATASET, OrderKind.DATASET, offered_dataset),
        (WORKERPOOL, OrderKind.WORKERPOOL, workerpool.workerpool),
    ):
        if not _zero(address) and facts.owner(kind, address) is None:
            add(_failure("AssetNotRegistered", asset=code, addr=address))
    # 8. volume
    digests = {
        APP: order_digest(app, facts.domain),
        WORKERPOOL: order_digest(workerpool, facts.domain),
        REQUEST: order_digest(request, facts.domain),
    }
    if dataset is not None:
        digests[DATASET] = order_digest(dataset, facts.domain)
    for code, digest in digests.items():
        if remaining.get(code, 0) <= 0:
            add(_failure("OrderExhausted", order=code, digest=digest))
    if failures:
        return failures
    # Escrow: what the Hub locks.
    volume = min(remaining.values())
    task_price = (
        app.appprice + (dataset.datasetprice if dataset else 0) + workerpool.workerpoolprice
    )
    payer_needs = task_price * volume
    payer_stake = facts.stake(request.requester, needed=payer_needs)
    if payer_stake < payer_needs:
        add(
            _failure(
                "InsufficientStake",
                account=request.requester,
                stake=payer_stake,
                needed=payer_needs,
            )
        )
    pool_owner = facts.owner(OrderKind.WORKERPOOL, workerpool.workerpool)
    ratio = facts.stake_ratio(workerpool.workerpool)
    pool_needs = workerpool.workerpoolprice * ratio // 100 * volume
    if pool_needs and pool_owner is not None:
        # A pool owner buying from their own pool pays and stakes from the same escrow.
        already = payer_needs if pool_owner == request.requester else 0
        pool_stake = max(0, facts.stake(pool_owner, needed=pool_needs + already) - already)
        if pool_stake < pool_needs:
            add(
                Failure(
                    "InsufficientStake",
                    f"The pool's owner cannot stake for this deal: its escrow holds "
                    f"{format_ect(pool_stake)} free and {format_ect(pool_needs)} are needed. "
                    "Pick another pool, or try again once the pool's owner deposits.",
                )
            )
    return failures


# ---------------------------------------------------------------------- what the task reads


@dataclasses.dataclass(frozen=True)
class TaskInput:
    """What a task of this purchase would run: the command line a worker runs the app with,
    the reasons it cannot work (refused before any money moves) and what looks wrong with it
    (warnings: the buyer may know better)."""

    command_line: str
    failures: list[Failure]
    warnings: list[Failure]


def task_input(*, app: str, dataset: str, args: str, input_files: list[str]) -> TaskInput:
    """Check what a task of `app` (with `dataset`, or "" for none) would read: an app that
    needs a dataset (App.needs_dataset), or arguments naming `{dataset}`, without a dataset
    are refused; arguments that name no input for an app that needs one, a dataset the
    arguments never name, or no file in /output for an app whose default arguments write
    there, are warned about. Apps and datasets not listed on this site are
    judged by the arguments alone."""
    listing = selectors.listed_app(address=app)
    needs_dataset = listing is not None and listing.app.needs_dataset
    default_args = listing.app.default_args if listing is not None else ""
    dataset_listing = selectors.listed_dataset(address=dataset) if dataset else None
    file_name = dataset_listing.dataset.task_file_name if dataset_listing else "dataset"
    command_line = task_command_line(args, dataset_file=file_name if dataset else None)
    words = args.split()
    names_dataset = any(DATASET_PLACEHOLDER in word for word in words)
    failures, warnings = [], []
    if not dataset and names_dataset:
        failures.append(
            Failure(
                "NeedsDataset",
                f"Your arguments name {DATASET_PLACEHOLDER} but no dataset is chosen: the app "
                f"would be given the text {DATASET_PLACEHOLDER} instead of a file, and fail. "
                f"Choose a dataset, or take {DATASET_PLACEHOLDER} out of the arguments.",
            )
        )
    elif not dataset and needs_dataset:
        failures.append(
            Failure(
                "NeedsDataset",
                f"This app reads a dataset (its default arguments, “{default_args}”, name "
                f"{DATASET_PLACEHOLDER}) and none is chosen: choose one of the datasets that "
                "allow it.",
            )
        )
    elif dataset and not names_dataset:
        path = f"/input/{file_name}"
        if needs_dataset and not _names_input(words, input_files):
            warnings.append(
                Failure(
                    "ReadsNoInput",
                    f"Your arguments name no input ({DATASET_PLACEHOLDER} or a file in /input), "
                    f"so this app will read nothing: the dataset is at {path}. Put "
                    f"{DATASET_PLACEHOLDER} where the app reads its input, as its default "
                    f"arguments do: “{default_args}”.",
                )
            )
        else:
            warnings.append(
                Failure(
                    "DatasetNotNamed",
                    f"You pay for a dataset that your arguments never name: the app is not "
                    f"told it is at {path}. Put {DATASET_PLACEHOLDER} where the app reads it"
                    + ("." if needs_dataset else ", or choose no dataset."),
                )
            )
    if "/output" in default_args and not any("/output" in word for word in words):
        warnings.append(
            Failure(
                "WritesNoOutput",
                "Your arguments name nothing in /output, the only folder whose files come back "
                "in the result: it would hold the app's messages (stdout and stderr) alone. "
                f"Its default arguments write there: “{default_args}”.",
            )
        )
    return TaskInput(command_line, failures, warnings)


def _names_input(words: list[str], input_files: list[str]) -> bool:
    """Some argument names a file of the input folder: by its path, or an input file's name
    (the input folder is also the app's working folder)."""
    names = {input_file_name(url) for url in input_files}
    return any("/input" in word or any(name in word for name in names) for word in words)


# ---------------------------------------------------------------------- quote


@dataclasses.dataclass(frozen=True)
class Quote:
    """What buying would take: the orders found, the request to sign, the cost, the buyer's
    escrow and how much to deposit first, and every check that fails (empty: ready)."""

    wanted: selectors.Wanted
    app_order: BookOrder | None
    dataset_order: BookOrder | None
    workerpool_order: BookOrder | None
    request: RequestOrder | None
    request_typed_data: dict[str, Any] | None
    task_price: int
    total: int
    stake: int
    wallet: int
    failures: list[Failure]
    warnings: list[Failure] = dataclasses.field(default_factory=list)
    command_line: str = ""
    market: matching.Market | None = None

    @property
    def deposit_needed(self) -> int:
        return max(0, self.total - self.stake)


def _not_found(wanted: selectors.Wanted, what: str) -> Failure:
    if what == "app":
        return Failure(
            "NoAppOrder",
            f"Nobody sells runs of this app for {wanted.volume} task(s) to you right now (no "
            "open app order with that volume, for this dataset, pool and wallet): try a "
            "smaller volume, or come back when its provider publishes an order.",
        )
    if what == "dataset":
        return Failure(
            "NoDatasetOrder",
            f"This dataset has no open order for {wanted.volume} task(s) that allows this app, "
            "pool and wallet: pick another dataset or a smaller volume.",
        )
    pool = "the pool you chose" if wanted.workerpool else "any pool"
    category = (
        Category.objects.filter(chain_id=settings.CHAIN_ID, catid=wanted.category)
        .values_list("name", flat=True)
        .first()
        or wanted.category
    )
    sells = ""
    if wanted.workerpool:
        # A category the pool does not sell at all is not one to try again: say which it sells
        # to this buyer (offers reserved for it included).
        sold = selectors.categories_on_offer(
            chain_id=settings.CHAIN_ID,
            workerpools=[wanted.workerpool],
            requesters=[wanted.requester],
        ).get(wanted.workerpool, [])
        names = selectors.category_names(chain_id=settings.CHAIN_ID)
        if wanted.category not in sold:
            sells = (
                f" That pool sells {', '.join(names.get(c, str(c)) for c in sold)} only."
                if sold
                else " That pool has no open offer at all."
            )
    return Failure(
        "NoWorkerpoolOrder",
        f"No open offer from {pool} for category {category} with trust {wanted.trust} "
        f"or more, for {wanted.volume} task(s), accepting this app and dataset.{sells} Pick "
        "another category, lower the trust or the volume, or choose “best offer”.",
    )


# Pool offers weighed for the words of why none fits (the cheapest first).
POOL_CANDIDATES = 10


def trust_out_of_reach(
    *, chain_id: int, workerpool: str, trust: int, buyers: list[str], dataset: str = ""
) -> Failure | None:
    """Why `workerpool`'s members in good standing that may run the task (not `buyers`: a
    buyer never works on its own deals; none whom `dataset`'s owner refuses its key) cannot
    reach `trust` all agreeing, so that a task bought there could never reach consensus (the
    scheduler gives it up and refunds it: pools.scheduler.runs_out_of_reach); None when they
    can, or when this site does not schedule the pool (its members are not known here)."""
    if workerpool not in scheduler.operated_pools(chain_id=chain_id):
        return None
    able = scheduler.pool_members_able(
        chain_id=chain_id, workerpool=workerpool, buyers=buyers, dataset=dataset
    )
    scores = list(able.values())
    trust = max(trust, 1)
    highest = scheduler.highest_trust(scores)
    if highest >= trust:
        return None
    wait = "the pool would give your tasks up at once and refund them, with nothing run"
    if not scores:
        return Failure(
            "TrustOutOfReach",
            f"This pool has no member in good standing to run your tasks: {wait}. Choose "
            "another pool.",
        )
    members = f"{len(scores)} member{'s' if len(scores) != 1 else ''}"
    return Failure(
        "TrustOutOfReach",
        f"Trust {trust} needs the agreement of {scheduler.replicates_for(trust, scores)} workers, "
        f"and this pool has {members} in good standing to run your tasks: {wait}. Choose trust "
        f"{highest} or less for this pool, or another pool.",
    )


def _categories(chain_id: int) -> int:
    return Category.objects.filter(chain_id=chain_id).count()


def _legacy_pool_failures(
    wanted: selectors.Wanted,
    *,
    required: bytes,
    app_order: BookOrder | None,
    dataset_order: BookOrder | None,
    buyers: list[str],
) -> list[Failure]:
    """Why no pool offer fits a request that states nothing but its trust: no offer of the
    category with the trust and volume, or none whose members can reach the trust (the
    cheapest such pool's words)."""
    chain_id = settings.CHAIN_ID
    pools = selectors.best_workerpool_orders(
        chain_id=chain_id,
        wanted=wanted,
        required_tag=required,
        app_order=app_order,
        dataset_order=dataset_order,
        limit=1 if wanted.workerpool else POOL_CANDIDATES,
    )
    for offer in pools:
        failure = trust_out_of_reach(
            chain_id=chain_id,
            workerpool=offer.asset,
            trust=wanted.trust,
            buyers=buyers,
            dataset=wanted.dataset,
        )
        if failure is not None:
            return [failure]
    return [_not_found(wanted, "pool")]


# Conditions whose failure the older checks word better (they name the category, the trust
# and what the pool sells): the explanation's sentence is for what the buyer asked beyond.
_PLAIN = {NO_OFFER, "trust"}


def _nothing_matches(market: matching.Market) -> Failure:
    explanation = market.explanation
    said = explanation.sentence
    if explanation.suggestions:
        said += " To get a match: " + "; or ".join(s.words for s in explanation.suggestions[:3])
        said += "."
    return Failure("NothingMatches", said)


def sell_orders_for(wanted: selectors.Wanted) -> tuple[BookOrder | None, BookOrder | None, bytes]:
    """The cheapest app and dataset offers for `wanted`, and the tag a pool must offer (the
    request's, the app's and the dataset's together)."""
    chain_id = settings.CHAIN_ID
    app_order = selectors.best_app_order(chain_id=chain_id, wanted=wanted)
    dataset_order = selectors.best_dataset_order(chain_id=chain_id, wanted=wanted)
    required = tag_union(
        wanted.tag,
        bytes.fromhex(app_order.tag[2:]) if app_order else bytes(32),
        bytes.fromhex(dataset_order.tag[2:]) if dataset_order else bytes(32),
    )
    return app_order, dataset_order, required


def purchase_market(
    *,
    wanted: selectors.Wanted,
    requirements: Requirements,
    weights: Weights,
    preset: str,
    beneficiary: str = "",
) -> matching.Market:
    """The market `wanted` sees, exactly as its quote (purchase_quote) chooses in it: the app's
    and dataset's cheapest offers restrict the pools and add their tags, then every pool is
    matched, explained and ranked. Reads the book only: no chain, no escrow."""
    app_order, dataset_order, required = sell_orders_for(wanted)
    return matching.market_for(
        wanted=wanted,
        requirements=requirements,
        weights=weights,
        preset=preset,
        required_tag=required,
        app_order=app_order,
        dataset_order=dataset_order,
        beneficiary=beneficiary,
    )


def purchase_quote(
    *,
    wanted: selectors.Wanted,
    params: str,
    beneficiary: str = "",
    requirements: Requirements | None = None,
    weights: Weights | None = None,
    preset: str = DEFAULT_PRESET,
) -> Quote:
    """Find the orders for `wanted`: the cheapest app and dataset offers, and the pool offer
    that fits `requirements` (symmetrically: the pool's own Requirements too) and ranks first
    by `weights` (default: the preset's; cheapest first). Build the request order (max prices
    = the prices found, so the buyer pays exactly those) and check everything matchOrders
    will, and first what the task would read (task_input). `params` is default_params' JSON.
    The quote keeps the market (`market`): why pools do not fit, and the ranking."""
    decoded = json.loads(params or "{}")
    reads = task_input(
        app=wanted.app,
        dataset=wanted.dataset,
        args=str(decoded.get("args", "")),
        input_files=list(decoded.get("input_files", [])),
    )
    domain = book_domain()
    chain_id = domain.chain_id
    app_order, dataset_order, required = sell_orders_for(wanted)
    buyers = [wanted.requester, beneficiary or wanted.requester]
    market = matching.market_for(
        wanted=wanted,
        requirements=requirements or Requirements(),
        weights=weights or PRESETS[preset],
        preset=preset,
        required_tag=required,
        app_order=app_order,
        dataset_order=dataset_order,
        beneficiary=beneficiary,
    )
    workerpool_order = market.best
    failures = list(reads.failures)
    if app_order is None:
        failures.append(_not_found(wanted, "app"))
    if wanted.dataset and dataset_order is None:
        failures.append(_not_found(wanted, "dataset"))
    if workerpool_order is None:
        said = {item.key for item in market.explanation.ruled_out}
        if said <= _PLAIN:
            failures += _legacy_pool_failures(
                wanted,
                required=required,
                app_order=app_order,
                dataset_order=dataset_order,
                buyers=buyers,
            )
        else:
            failures.append(_nothing_matches(market))
    facts = ChainFacts(chain_id=chain_id, domain=domain)
    stake = wallet = 0
    try:
        account = facts.hub.account(wanted.requester)
        stake, wallet = account.stake, facts.hub.token_balance(wanted.requester)
    except ChainError as error:
        raise BookUnavailable(f"Could not read your escrow on chain: {error}") from error
    if failures:
        return Quote(
            wanted,
            app_order,
            dataset_order,
            workerpool_order,
            None,
            None,
            0,
            0,
            stake,
            wallet,
            failures,
            reads.warnings,
            reads.command_line,
            market,
        )
    app = chain_order(app_order)
    dataset = chain_order(dataset_order) if dataset_order else None
    workerpool = chain_order(workerpool_order)
    # The wallet's spending caps, before the request is built: nothing is signed over them.
    caps.spending_cap_check(
        chain_id=chain_id,
        requester=wanted.requester,
        cost=(app.appprice + (dataset.datasetprice if dataset else 0) + workerpool.workerpoolprice)
        * wanted.volume,
    )
    request = RequestOrder(
        app=app.app,
        appmaxprice=app.appprice,
        dataset=dataset.dataset if dataset else ZERO_ADDRESS,
        datasetmaxprice=dataset.datasetprice if dataset else 0,
        workerpool=wanted.workerpool or ZERO_ADDRESS,
        workerpoolmaxprice=workerpool.workerpoolprice,
        requester=wanted.requester,
        volume=wanted.volume,
        tag=wanted.tag,
        category=wanted.category,
        trust=wanted.trust,
        beneficiary=beneficiary or wanted.requester,
        params=params,
    )
    task_price = request.appmaxprice + request.datasetmaxprice + request.workerpoolmaxprice
    total = task_price * wanted.volume
    facts.load(
        assets=[app.app, workerpool.workerpool] + ([dataset.dataset] if dataset else []),
        accounts=[workerpool_order.signer],
        digests=[],
    )
    facts.assume_stake(wanted.requester, max(stake, total))  # the buyer deposits first if short
    failures = match_failures(
        app=app,
        dataset=dataset,
        workerpool=workerpool,
        request=request,
        remaining={
            APP: app_order.remaining,
            WORKERPOOL: workerpool_order.remaining,
            REQUEST: request.volume,
            **({DATASET: dataset_order.remaining} if dataset_order else {}),
        },
        facts=facts,
        categories=_categories(chain_id),
    )
    return Quote(
        wanted,
        app_order,
        dataset_order,
        workerpool_order,
        request,
        typed_data(request, domain),
        task_price,
        total,
        stake,
        wallet,
        failures,
        reads.warnings,
        reads.command_line,
        market,
    )


# ---------------------------------------------------------------------- match


class MatchRefused(OrderError):
    """matchOrders would fail: `failures` says every reason."""

    def __init__(self, failures: list[Failure]) -> None:
        super().__init__(" ".join(failure.message for failure in failures))
        self.failures = failures


@dataclasses.dataclass(frozen=True)
class MatchTransaction:
    transaction: dict[str, str]
    dealid: str
    request_digest: str


def _book_order(digest: Any, kind: str, domain: Domain, *, field: str) -> BookOrder:
    if not isinstance(digest, str) or len(digest) != 66:
        raise OrderError(f"{field} must be an order digest, 0x and 64 hex digits.", field=field)
    order = BookOrder.objects.filter(
        chain_id=domain.chain_id, digest=digest.lower(), kind=kind
    ).first()
    if order is None:
        raise OrderError(f"No {kind} order {digest} in the book.", field=field)
    if order.status != OrderStatus.OPEN:
        raise OrderRefused(
            f"The {kind} order {digest} is {order.get_status_display().lower()}"
            f"{': ' + order.status_reason if order.status_reason else ''}. Ask for a new quote.",
            field=field,
        )
    return order


def purchase_match_transaction(
    *,
    sender: str,
    request: Any,
    signature: Any,
    app_order: Any,
    dataset_order: Any,
    workerpool_order: Any,
    site_url: str,
) -> MatchTransaction:
    """The unsigned matchOrders transaction that `sender` (the requester) sends to buy, after
    checking the signed request (its input files too: parsing.input_file_urls, with this site
    at `site_url`) and every matchOrders rule again against the chain now."""
    domain = book_domain()
    request_order = parse_order(OrderKind.REQUEST, request)
    params = json.loads(request_order.params)
    input_files = input_file_urls(params.get("input_files", []), site_url=site_url)
    reads = task_input(
        app=request_order.app,
        dataset="" if _zero(request_order.dataset) else request_order.dataset,
        args=str(params.get("args", "")),
        input_files=input_files,
    )
    if reads.failures:
        raise MatchRefused(reads.failures)
    request_sign = parse_signature(signature)
    if not request_sign:
        raise OrderError(
            "signature is required: sign the request in your wallet.", field="signature"
        )
    digest = order_digest(request_order, domain)
    facts = ChainFacts(chain_id=domain.chain_id, domain=domain)
    try:
        signer = recover_signer(digest, request_sign)
    except ValueError as error:
        raise OrderRefused(str(error), field="signature") from error
    if signer != request_order.requester and facts.contract_signature_valid(
        signer=request_order.requester, digest="0x" + digest.hex(), signature=request_sign
    ):
        signer = request_order.requester  # a contract wallet (ERC-1271) signed
    if signer != request_order.requester:
        raise OrderRefused(
            f"The request is signed by {signer}, not by its requester {request_order.requester}: "
            "sign it with the wallet you buy with.",
            field="signature",
        )
    if signer.lower() != str(sender).lower():
        raise OrderRefused(
            f"The request's requester is {signer} but the transaction would come from {sender}: "
            "send it from the wallet that signed.",
            field="sender",
        )
    # A script may sign a request of its own: the caps hold before its transaction is built.
    caps.spending_cap_check(
        chain_id=domain.chain_id,
        requester=request_order.requester,
        cost=request_cost(request_order),
    )
    app = _book_order(app_order, OrderKind.APP, domain, field="app_order")
    workerpool = _book_order(
        workerpool_order, OrderKind.WORKERPOOL, domain, field="workerpool_order"
    )
    dataset = (
        _book_order(dataset_order, OrderKind.DATASET, domain, field="dataset_order")
        if dataset_order
        else None
    )
    try:
        consumed_before = facts.hub.consumed(digest)
    except ChainError as error:
        raise BookUnavailable(f"Could not read the request on chain: {error}") from error
    facts.load(
        assets=[app.asset, workerpool.asset] + ([dataset.asset] if dataset else []),
        accounts=[workerpool.signer],
        digests=[],
    )
    failures = match_failures(
        app=chain_order(app),
        dataset=chain_order(dataset) if dataset else None,
        workerpool=chain_order(workerpool),
        request=request_order,
        remaining={
            APP: app.remaining,
            WORKERPOOL: workerpool.remaining,
            REQUEST: request_order.volume - consumed_before,
            **({DATASET: dataset.remaining} if dataset else {}),
        },
        facts=facts,
        categories=_categories(domain.chain_id),
    )
    # What the quote said of the pool's reach holds when the request is sent too (a script
    # may build its own request): a task no consensus can finish is not sold.
    out_of_reach = trust_out_of_reach(
        chain_id=domain.chain_id,
        workerpool=workerpool.asset,
        trust=request_order.trust,
        buyers=[request_order.requester, request_order.beneficiary],
        dataset=dataset.asset if dataset else "",
    )
    if out_of_reach is not None:
        failures.append(out_of_reach)
    if failures:
        raise MatchRefused(failures)
    call = facts.hub.match_orders_call(
        app_order=chain_order(app),
        app_sign=_sign(app),
        dataset_order=chain_order(dataset) if dataset else None,
        dataset_sign=_sign(dataset) if dataset else b"",
        workerpool_order=chain_order(workerpool),
        workerpool_sign=_sign(workerpool),
        request_order=request_order,
        request_sign=request_sign,
    )
    try:
        transaction = call.unsigned_transaction(sender=request_order.requester, w3=facts.hub.w3)
    except ChainError as error:  # a revert found by the gas estimate, or the node down
        raise OrderRefused(str(error), field="transaction") from error
    return MatchTransaction(
        transaction=transaction,
        dealid="0x" + deal_id(digest, consumed_before).hex(),
        request_digest="0x" + digest.hex(),
    )


def request_cost(request: RequestOrder) -> int:
    """The most a request can cost its requester: its max prices times its volume."""
    return (
        request.appmaxprice + request.datasetmaxprice + request.workerpoolmaxprice
    ) * request.volume


def _sign(order: BookOrder) -> bytes:
    return bytes.fromhex(order.signature[2:]) if order.signature else b""


def default_params(*, args: str, input_files: list[str]) -> str:
    """The request's params: a JSON object the worker agents read (args, input file URLs)."""
    params: dict[str, Any] = {"args": args}
    if input_files:
        params["input_files"] = input_files
    return json.dumps(params, separators=(",", ":"))
