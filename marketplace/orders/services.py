"""Writes of the order book: publish (one order or a batch), unpublish, and the refresh that
keeps every order's status in step with the chain; and the input files buyers store for their
tasks: stored within a quota, deleted by their owners or, unused, by the clean-up.

Publishing checks an order as the Hub would when matching it, against the chain as the indexer
last saw it: the asset's current owner signed it (or presigned it on chain) for this chain and
this Hub, it is neither closed nor consumed, and its signer's escrow covers what the Hub would
lock (a request: its prices for its remaining volume; a workerpool order: the pool's stake).
When the index says no, the chain itself is asked before refusing (the index may be a block
behind a registration or a deposit made a moment ago), so a refusal is the chain's answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import re
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import get_valid_filename

from marketplace.catalogue.freshness import catalogue_changed
from marketplace.chain.amounts import format_ect
from marketplace.chain.errors import ChainError
from marketplace.chain.orders import (
    ZERO_ADDRESS,
    Domain,
    Order,
    OrderOperation,
    RequestOrder,
    WorkerpoolOrder,
    hub_domain,
    order_digest,
    order_from_typed_message,
    recover_signer,
    typed_data,
)
from marketplace.chain.selectors import current_deployment, current_hub
from marketplace.indexer.changes import copy_rows
from marketplace.indexer.models import Asset, EscrowAccount, IndexerState, OrderFill, OrderKind
from marketplace.orders import selectors
from marketplace.orders.models import InputFile, OrderStatus
from marketplace.orders.models import Order as BookOrder
from marketplace.orders.parsing import (
    ASSET_FIELDS,
    ORDER_CLASSES,
    OrderError,
    input_file_urls,
    order_kind,
    order_price,
    parse_order,
    parse_signature,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from marketplace.chain.hub import Hub

ASSET_NAMES = {OrderKind.APP: "app", OrderKind.DATASET: "dataset", OrderKind.WORKERPOOL: "pool"}
MAX_BATCH = 1000
_KEYS_PER_QUERY = 2000
# What a refresh (and a check) decides of an order.
_REFRESHED = ["status", "status_reason", "consumed", "remaining"]


class BookUnavailable(OrderError):
    """The book cannot check orders now: no deployment, or the node does not answer."""

    status = 503


class DuplicateOrder(OrderError):
    status = 409


class OrderRefused(OrderError):
    """A well-formed order the chain would not honour (owner, signature, volume, escrow)."""


class NotYourOrder(OrderError):
    status = 403


@dataclasses.dataclass(frozen=True)
class Submission:
    """One order to publish, as a client sent it."""

    kind: Any
    order: Any
    signature: Any = ""
    domain: Any = None


@dataclasses.dataclass(frozen=True)
class Published:
    """The outcome of one submission of a batch: the stored order, or the error."""

    order: BookOrder | None = None
    error: OrderError | None = None


def book_domain() -> Domain:
    """The EIP-712 domain orders are signed for here: this chain and the deployed Hub."""

    try:
        deployment = current_deployment()
    except ChainError as error:
        raise BookUnavailable(f"The order book cannot reach the chain: {error}") from error
    if deployment is None:
        raise BookUnavailable(
            "The contracts are not deployed on this chain yet: the order book is closed until "
            "they are (`manage.py deploy_contracts`)."
        )
    return hub_domain(chain_id=settings.CHAIN_ID, hub_address=deployment.hub)


def _chain_number(value: Any) -> int | None:
    """A typed data's chainId: a number, or a decimal or 0x hex string (wallets send both)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # ASCII digits only (int() reads other scripts' digits), few enough for int().
    if isinstance(value, str) and re.fullmatch(r"0[xX][0-9a-fA-F]{1,64}", value):
        return int(value, 16)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,78}", value):
        return int(value)
    return None


def _check_domain(claimed: Any, domain: Domain) -> None:
    """A client that says which domain it signed for hears plainly when it is not ours."""
    if claimed in (None, ""):
        return
    if not isinstance(claimed, dict):
        raise OrderError("domain must be a JSON object (the typed data's domain).", field="domain")
    chain = claimed.get("chainId")
    if chain is not None and _chain_number(chain) != domain.chain_id:
        raise OrderRefused(
            f"This order is signed for chain {chain}, but this marketplace's Hub is on chain "
            f"{domain.chain_id}: sign it again with your wallet on chain {domain.chain_id}.",
            field="domain",
        )
    contract = claimed.get("verifyingContract")
    if contract is not None and str(contract).lower() != domain.verifying_contract.lower():
        raise OrderRefused(
            f"This order is signed for the contract {contract}, but this marketplace's Hub is "
            f"{domain.verifying_contract}: sign it again for this Hub.",
            field="domain",
        )
    for key, expected in (("name", domain.name), ("version", domain.version)):
        if key in claimed and claimed[key] != expected:
            raise OrderRefused(
                f"This order is signed for the domain {key} {claimed[key]!r}, not {expected!r}: "
                "sign it again with the typed data this site gives.",
                field="domain",
            )


class ChainFacts:
    """What the book needs of the chain for a set of orders: the index's view, loaded in a few
    queries, with the node asked only when the index says no."""

    def __init__(self, *, chain_id: int, domain: Domain | None = None) -> None:
        """`domain`: the Hub to ask when the index says no (None: the index alone)."""
        self.domain = domain
        self.chain_id = chain_id
        self._assets: dict[str, Asset | None] = {}
        self._escrow: dict[str, int] = {}
        self._fills: dict[str, OrderFill | None] = {}
        self._chain_owners: dict[str, str | None] = {}
        self._contracts: dict[str, bool] = {}
        self._hub: Hub | None = None

    def load(
        self, *, assets: Iterable[str], accounts: Iterable[str], digests: Iterable[str]
    ) -> ChainFacts:
        assets, accounts, digests = set(assets), set(accounts), set(digests)
        for asset in Asset.objects.filter(chain_id=self.chain_id, address__in=assets):
            self._assets[asset.address] = asset
        for address in assets:
            self._assets.setdefault(address, None)
        for account in EscrowAccount.objects.filter(chain_id=self.chain_id, address__in=accounts):
            self._escrow[account.address] = int(account.stake)
        for fill in OrderFill.objects.filter(chain_id=self.chain_id, digest__in=digests):
            self._fills[fill.digest] = fill
        for digest in digests:
            self._fills.setdefault(digest, None)
        return self

    @property
    def hub(self) -> Hub:
        assert self.domain is not None, "ChainFacts without a domain reads the index alone"
        if self._hub is None:
            self._hub = current_hub()
        return self._hub

    def _ask(self, question):
        try:
            return question()
        except ChainError as error:
            raise BookUnavailable(f"Could not check this order on chain: {error}") from error

    # -------------------------------------------------------------- index (then chain)

    def owner(self, kind: str, address: str) -> str | None:
        asset = self._assets.get(address)
        if asset is not None:
            return asset.owner
        if address in self._chain_owners:
            return self._chain_owners[address]
        owner = self._ask(lambda: self.hub.asset_owner(OrderKind(kind), address))
        self._chain_owners[address] = owner
        return owner

    def stake_ratio(self, workerpool: str) -> int:
        asset = self._assets.get(workerpool)
        if asset is not None and asset.worker_stake_ratio is not None:
            return asset.worker_stake_ratio
        return self._ask(lambda: self.hub.worker_stake_ratio(workerpool))

    def asset(self, address: str) -> Asset | None:
        """The indexed asset at `address` (None: not indexed)."""
        return self._assets.get(address)

    def assume_stake(self, address: str, amount: int) -> None:
        """Take `address`'s free escrow to be `amount` (what it will be after a deposit)."""
        self._escrow[address] = amount

    def indexed_stake(self, address: str) -> int:
        return self._escrow.get(address, 0)

    def stake(self, address: str, *, needed: int) -> int:
        """Free escrow of `address`: the index's, or the chain's when the index is short."""
        stake = self._escrow.get(address, 0)
        if stake >= needed:
            return stake
        return self._ask(lambda: self.hub.account(address).stake)

    def fill(self, digest: str) -> OrderFill | None:
        return self._fills.get(digest)

    def presigned_by(self, digest: str) -> str | None:
        fill = self._fills.get(digest)
        if fill is not None and fill.presigned_by:
            return fill.presigned_by
        return self._ask(lambda: self.hub.presigned(digest))

    def consumed(self, digest: str) -> tuple[int, bool]:
        """(consumed volume, closed) as indexed."""
        fill = self._fills.get(digest)
        return (fill.consumed, fill.closed) if fill is not None else (0, False)

    def contract_signature_valid(self, *, signer: str, digest: str, signature: bytes) -> bool:
        """For a contract signer (ERC-1271), the Hub's own verdict, which no recovery can give
        off chain; False at once for a plain key (one code lookup per address)."""
        if signer not in self._contracts:
            self._contracts[signer] = self._ask(lambda: self.hub.has_code(signer))
        if not self._contracts[signer]:
            return False
        return self._ask(
            lambda: self.hub.verify_signature(signer=signer, digest=digest, signature=signature)
        )


def required_escrow(kind: str, order: Order, *, remaining: int, facts: ChainFacts) -> int:
    """What the Hub locks from the order's signer to match its remaining volume (0 for app and
    dataset orders, whose owners are only paid)."""
    if isinstance(order, RequestOrder):
        return order_price(kind, order) * remaining
    if isinstance(order, WorkerpoolOrder):
        ratio = facts.stake_ratio(order.workerpool)
        return order.workerpoolprice * ratio // 100 * remaining
    return 0


def _signer_of(kind: str, order: Order, facts: ChainFacts) -> str:
    """Who must have signed: the asset's current owner, or the requester."""
    if isinstance(order, RequestOrder):
        return order.requester
    address = getattr(order, ASSET_FIELDS[kind])
    owner = facts.owner(kind, address)
    if owner is None:
        raise OrderRefused(
            f"The {ASSET_NAMES[kind]} {address} is not registered on this chain: register it "
            "from its listing page first, or check the address.",
            field=ASSET_FIELDS[kind],
        )
    return owner


def _check_signature(
    kind: str, order: Order, digest: str, signature: bytes, signer: str, facts: ChainFacts
) -> None:
    who = "the requester" if kind == OrderKind.REQUEST else f"the {ASSET_NAMES[kind]}'s owner"
    if not signature:
        presigner = facts.presigned_by(digest)
        if presigner != signer:
            raise OrderRefused(
                f"The order has no signature and {who} ({signer}) has not presigned it on chain: "
                "sign it in your wallet, or presign it with manage…Order(SIGN).",
                field="signature",
            )
        return
    try:
        recovered = recover_signer(bytes.fromhex(digest[2:]), signature)
    except ValueError as error:
        recovered, problem = None, str(error)
    else:
        problem = ""
    if recovered == signer:
        return
    if recovered is None:
        raise OrderRefused(f"{problem} The order is refused.", field="signature")
    if facts.contract_signature_valid(signer=signer, digest=digest, signature=signature):
        return  # a contract owner (ERC-1271) accepted it
    raise OrderRefused(
        f"The signature is by {recovered}, but {who} is {signer}: only they can sign this "
        f"order for chain {facts.chain_id} and Hub {facts.domain.verifying_contract}. "
        "Sign it with that wallet (and check your wallet is on this chain).",
        field="signature",
    )


def _restriction(value: str) -> str:
    return "" if value == ZERO_ADDRESS else value


def _row(
    kind: str,
    order: Order,
    *,
    digest: str,
    signer: str,
    signature: bytes,
    consumed: int,
    domain: Domain,
    user: AbstractBaseUser | None,
) -> BookOrder:
    tag_value = int.from_bytes(order.tag, "big")
    now = timezone.now()
    return BookOrder(
        chain_id=domain.chain_id,
        hub=domain.verifying_contract,
        digest=digest,
        kind=kind,
        asset=getattr(order, ASSET_FIELDS[kind]),
        signer=signer,
        price=order_price(kind, order),
        app_max_price=getattr(order, "appmaxprice", 0),
        dataset_max_price=getattr(order, "datasetmaxprice", 0),
        workerpool_max_price=getattr(order, "workerpoolmaxprice", 0),
        volume=order.volume,
        consumed=consumed,
        remaining=order.volume - consumed,
        tag="0x" + order.tag.hex(),
        tag_bits=tag_value & (2**63 - 1),
        category=getattr(order, "category", None),
        trust=getattr(order, "trust", None),
        dataset=_restriction(getattr(order, "dataset", ZERO_ADDRESS))
        if kind == OrderKind.REQUEST
        else "",
        workerpool=_restriction(getattr(order, "workerpool", ZERO_ADDRESS))
        if kind == OrderKind.REQUEST
        else "",
        app_restrict=_restriction(getattr(order, "apprestrict", ZERO_ADDRESS)),
        dataset_restrict=_restriction(getattr(order, "datasetrestrict", ZERO_ADDRESS)),
        workerpool_restrict=_restriction(getattr(order, "workerpoolrestrict", ZERO_ADDRESS)),
        requester_restrict=_restriction(getattr(order, "requesterrestrict", ZERO_ADDRESS)),
        message=typed_data(order, domain)["message"],
        signature="0x" + signature.hex() if signature else "",
        status=OrderStatus.OPEN,
        published_by=user if user is not None and user.is_authenticated else None,
        created_at=now,
        updated_at=now,
    )


def _check_input_files(params: str, *, site_url: str) -> None:
    """A request in the book names only input files its workers would fetch."""
    try:
        named = json.loads(params or "{}")
    except ValueError:
        return  # params workers cannot read name no input file
    if isinstance(named, dict) and "input_files" in named:
        input_file_urls(named["input_files"], site_url=site_url)


@dataclasses.dataclass(frozen=True)
class _Parsed:
    """A submission read once: its kind, order, digest and signature."""

    submission: Submission
    kind: str
    order: Order
    digest: str
    signature: bytes


def _parse(submission: Submission, domain: Domain, site_url: str | None) -> _Parsed:
    kind = order_kind(submission.kind)
    order = parse_order(kind, submission.order)
    signature = parse_signature(submission.signature)
    _check_domain(submission.domain, domain)
    if kind == OrderKind.REQUEST and site_url is not None:
        _check_input_files(order.params, site_url=site_url)
    digest = "0x" + order_digest(order, domain).hex()
    return _Parsed(submission, kind, order, digest, signature)


def _check(parsed: _Parsed, facts: ChainFacts, user) -> BookOrder:
    kind, order, digest, signature = parsed.kind, parsed.order, parsed.digest, parsed.signature
    signer = _signer_of(kind, order, facts)
    _check_signature(kind, order, digest, signature, signer, facts)
    consumed, closed = facts.consumed(digest)
    if closed:
        raise OrderRefused(
            f"Order {digest} was closed on chain by its owner: it can never be matched again.",
            field="order",
        )
    if consumed >= order.volume:
        raise OrderRefused(
            f"Order {digest} is fully consumed on chain ({consumed} of {order.volume}): "
            "sign a new order (a new salt) to sell more.",
            field="volume",
        )
    remaining = order.volume - consumed
    needed = required_escrow(kind, order, remaining=remaining, facts=facts)
    if needed:
        stake = facts.stake(signer, needed=needed)
        if stake < needed:
            what = (
                f"the request's {remaining} task(s) at up to {format_ect(order_price(kind, order))}"
                if kind == OrderKind.REQUEST
                else f"the pool's stake for {remaining} task(s)"
            )
            raise OrderRefused(
                f"{signer}'s escrow holds {format_ect(stake)} free, but {what} needs "
                f"{format_ect(needed)}: deposit {format_ect(needed - stake)} more, or lower "
                "the volume.",
                field="volume",
            )
    return _row(
        kind,
        order,
        digest=digest,
        signer=signer,
        signature=signature,
        consumed=consumed,
        domain=facts.domain,
        user=user,
    )


def _prefetch(parsed: Sequence[_Parsed], facts: ChainFacts) -> None:
    """Load the index rows every submission will need, a few queries for the whole batch."""
    assets = {getattr(p.order, ASSET_FIELDS[p.kind]) for p in parsed}
    accounts = {p.order.requester for p in parsed if isinstance(p.order, RequestOrder)}
    for asset in Asset.objects.filter(chain_id=facts.chain_id, address__in=assets).only("owner"):
        accounts.add(asset.owner)
    facts.load(assets=assets, accounts=accounts, digests={p.digest for p in parsed})


def _book_lock(chain_id: int) -> None:
    """Serialize with the indexer: it holds its state row while it writes a batch and
    refreshes the book, so an order checked and stored under this lock, or taken off the
    book, is never overwritten by a refresh that read the book before it (PostgreSQL; SQLite
    serializes writers anyway). Call inside a transaction."""
    IndexerState.objects.select_for_update().filter(chain_id=chain_id).first()


@transaction.atomic
def orders_publish(
    *,
    submissions: Sequence[Submission],
    user: AbstractBaseUser | None = None,
    site_url: str | None = None,
) -> list[Published]:
    """Check and store a batch of orders (at most MAX_BATCH); one outcome per submission, in
    order. Accepted orders are stored together; a refused one stores nothing of itself. An
    order its signer took off the book comes back when its signer (or staff) publishes it.
    With `site_url` (this site, where its input store is), a request naming input files its
    workers would refuse (parsing.input_file_urls) is refused."""
    if len(submissions) > MAX_BATCH:
        raise OrderError(f"Publish at most {MAX_BATCH} orders at a time, not {len(submissions)}.")
    domain = book_domain()
    readings: list[_Parsed | OrderError] = []
    for submission in submissions:
        try:
            readings.append(_parse(submission, domain, site_url))
        except OrderError as error:
            readings.append(error)
    _book_lock(domain.chain_id)
    facts = ChainFacts(chain_id=domain.chain_id, domain=domain)
    _prefetch([r for r in readings if isinstance(r, _Parsed)], facts)
    outcomes: list[Published] = []
    accepted: dict[str, BookOrder] = {}
    for reading in readings:
        try:
            if isinstance(reading, OrderError):
                raise reading
            row = _check(reading, facts, user)
            if row.digest in accepted:
                raise DuplicateOrder(
                    f"Order {row.digest} appears twice in this batch.", field="order"
                )
        except OrderError as error:
            outcomes.append(Published(error=error))
            continue
        accepted[row.digest] = row
        outcomes.append(Published(order=row))
    existing = {
        order.digest: order
        for order in BookOrder.objects.filter(chain_id=domain.chain_id, digest__in=accepted)
    }
    reopened = []
    for index, outcome in enumerate(outcomes):
        if outcome.order is None or outcome.order.digest not in existing:
            continue
        stored = existing[outcome.order.digest]
        if stored.unpublished and user is not None and may_manage(order=stored, user=user):
            reopened.append(_reopen(stored, outcome.order))
            outcomes[index] = Published(order=stored)
        else:
            outcomes[index] = Published(error=_duplicate(stored))
    BookOrder.objects.bulk_update(reopened, [*_REFRESHED, "unpublished", "published_by"])
    fresh = [o.order for o in outcomes if o.order is not None and o.order.pk is None]
    try:
        with transaction.atomic():
            _insert(fresh)
    except IntegrityError:
        # Published by someone else in between: store them one by one, telling which.
        outcomes = [_store_alone(outcome) for outcome in outcomes]
    if fresh or reopened:
        catalogue_changed()  # cards show prices from the book
    return outcomes


def _reopen(stored: BookOrder, checked: BookOrder) -> BookOrder:
    stored.unpublished = False
    stored.published_by = checked.published_by
    for name in _REFRESHED:
        setattr(stored, name, getattr(checked, name))
    return stored


_COPIED = [field for field in BookOrder._meta.concrete_fields if not field.primary_key]


def _insert(rows: list[BookOrder]) -> None:
    """Insert new orders: COPY on PostgreSQL (Django's per-field preparation of a bulk INSERT
    costs more than the whole COPY), a bulk INSERT elsewhere."""
    if connection.vendor != "postgresql":
        BookOrder.objects.bulk_create(rows, batch_size=500)
        return

    def values(row: BookOrder) -> list[Any]:
        return [
            json.dumps(getattr(row, field.attname))
            if field.get_internal_type() == "JSONField"
            else getattr(row, field.attname)
            for field in _COPIED
        ]

    copy_rows(BookOrder, [field.name for field in _COPIED], (values(row) for row in rows))
    if rows:  # COPY returns no ids: the stored rows are read back by digest
        ids = dict(
            BookOrder.objects.filter(
                chain_id=rows[0].chain_id, digest__in=[row.digest for row in rows]
            ).values_list("digest", "id")
        )
        for row in rows:
            row.pk = ids[row.digest]


def _duplicate(stored: BookOrder) -> DuplicateOrder:
    if stored.unpublished:
        return DuplicateOrder(
            f"Order {stored.digest} was taken off the book by its signer: only they (signed in "
            "with that wallet) can put it back.",
            field="order",
        )
    state = "" if stored.status == OrderStatus.OPEN else f" ({stored.get_status_display()})"
    reason = f": {stored.status_reason}" if stored.status_reason else ""
    return DuplicateOrder(
        f"Order {stored.digest} is already in the book{state}{reason}. Nothing to do; see "
        f"/api/v1/orders/{stored.digest}/.",
        field="order",
    )


def _store_alone(outcome: Published) -> Published:
    if outcome.order is None:
        return outcome
    try:
        with transaction.atomic():
            outcome.order.save()
    except IntegrityError:
        stored = BookOrder.objects.get(chain_id=outcome.order.chain_id, digest=outcome.order.digest)
        return Published(error=_duplicate(stored))
    return outcome


def order_publish(
    *,
    kind: Any,
    order: Any,
    signature: Any = "",
    domain: Any = None,
    user: AbstractBaseUser | None = None,
    site_url: str | None = None,
) -> BookOrder:
    """Check and store one order; raises the OrderError that refused it."""
    (outcome,) = orders_publish(
        submissions=[Submission(kind=kind, order=order, signature=signature, domain=domain)],
        user=user,
        site_url=site_url,
    )
    if outcome.error is not None:
        raise outcome.error
    return outcome.order


UNPUBLISHED = (
    "Taken off the book by its owner. It is still valid on chain: anyone holding its "
    "signature can match it until it is closed on chain."
)


def may_manage(*, order: BookOrder, user: AbstractBaseUser) -> bool:
    """The signer, signed in with that wallet, or staff. Not whoever published it: anyone
    holding a signed order may publish it, and must not be able to take it off the book."""
    if not user.is_authenticated:
        return False
    return user.is_staff or user.wallets.filter(address__iexact=order.signer).exists()


@transaction.atomic
def order_unpublish(*, order: BookOrder, user: AbstractBaseUser) -> BookOrder:
    """Take `order` off the book (status cancelled) for good, unless its signer publishes it
    again. It stays valid on chain: close it there (`order_close_transaction`) to make sure
    nobody can match it."""
    _book_lock(order.chain_id)
    order = BookOrder.objects.select_for_update().get(pk=order.pk)
    if not may_manage(order=order, user=user):
        raise NotYourOrder(
            f"Only the order's signer ({order.signer}) may take it off the book: sign in with "
            "that wallet.",
        )
    if order.unpublished:
        return order
    order.unpublished = True
    order.status = OrderStatus.CANCELLED
    order.status_reason = UNPUBLISHED
    order.save(update_fields=["unpublished", "status", "status_reason", "updated_at"])
    catalogue_changed()  # cards show prices from the book
    return order


def chain_order(order: BookOrder) -> Order:
    """The chain's order object of a stored order (as signed)."""

    return order_from_typed_message(ORDER_CLASSES[order.kind], order.message)


def order_close_transaction(*, order: BookOrder, sender: str) -> dict[str, str]:
    """The unsigned `manage<X>Order(CLOSE)` transaction for the order's owner's wallet;
    ChainRevert (with its reason) when the chain would refuse it, ChainError when the order is
    for another Hub than this marketplace's."""

    hub = current_hub()
    if order.hub.lower() != hub.address.lower():
        raise ChainError(
            f"This order was signed for the Hub {order.hub}, not this marketplace's Hub "
            f"{hub.address}: there is nothing to close here."
        )
    call = hub.manage_order_call(order=chain_order(order), operation=OrderOperation.CLOSE)
    return call.unsigned_transaction(sender=sender, w3=hub.w3)


# ---------------------------------------------------------------------- refresh


def _verdict(order: BookOrder, facts: ChainFacts) -> tuple[str, str, int]:
    """(status, reason, consumed) of a live order, from the index."""
    consumed, closed = facts.consumed(order.digest)
    consumed = min(consumed, order.volume)  # as indexed: a reorg may take a match back
    if closed:
        return OrderStatus.CANCELLED, "Closed on chain by its owner.", order.volume
    remaining = order.volume - consumed
    if remaining == 0:
        return OrderStatus.FILLED, "", consumed
    if order.kind != OrderKind.REQUEST:
        asset = facts.asset(order.asset)
        if asset is not None and asset.owner != order.signer:
            return (
                OrderStatus.DEAD,
                f"The {ASSET_NAMES[order.kind]} now belongs to {asset.owner}: an order signed "
                f"by its former owner {order.signer} can no longer be matched.",
                consumed,
            )
    if order.kind in (OrderKind.REQUEST, OrderKind.WORKERPOOL):
        if order.kind == OrderKind.REQUEST:
            needed = int(order.price) * remaining
        else:
            asset = facts.asset(order.asset)
            if asset is None or asset.worker_stake_ratio is None:
                return OrderStatus.OPEN, "", consumed  # not indexed yet: publish asked the chain
            needed = int(order.price) * asset.worker_stake_ratio // 100 * remaining
        stake = facts.indexed_stake(order.signer)
        if stake < needed:
            return (
                OrderStatus.DEAD,
                f"{order.signer}'s escrow holds {format_ect(stake)} free but the order needs "
                f"{format_ect(needed)}: it is back on the book once the escrow covers it.",
                consumed,
            )
    return OrderStatus.OPEN, "", consumed


def orders_refresh(
    *,
    chain_id: int,
    addresses: Iterable[str] = (),
    digests: Iterable[str] = (),
    everything: bool = False,
) -> int:
    """Recompute the status and remaining volume of the live orders that involve `addresses`
    (as asset or signer) or `digests` (all live orders of the chain with `everything`), from
    the index. Run inside the indexer's transaction, after its projections. Returns how many
    orders changed."""
    addresses, digests = set(addresses), set(digests)
    # Every status but taken off the book: a reorganization may reopen a filled order.
    live = BookOrder.objects.filter(chain_id=chain_id, unpublished=False)
    fields = _REFRESHED
    columns = ("id", "digest", "kind", "asset", "signer", "price", "volume", *fields)
    if everything:
        orders = list(live.only(*columns))
    else:
        found: dict[int, BookOrder] = {}
        keys = sorted(addresses | digests)
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            matching = live.filter(Q(asset__in=chunk) | Q(signer__in=chunk) | Q(digest__in=chunk))
            found.update((order.pk, order) for order in matching.only(*columns))
        orders = list(found.values())
    changed: list[BookOrder] = []
    offers_changed = False
    for start in range(0, len(orders), MAX_BATCH):
        chunk = orders[start : start + MAX_BATCH]
        facts = ChainFacts(chain_id=chain_id).load(
            assets={o.asset for o in chunk},
            accounts={o.signer for o in chunk},
            digests={o.digest for o in chunk},
        )
        for order in chunk:
            status, reason, consumed = _verdict(order, facts)
            remaining = order.volume - consumed
            if (status, reason, consumed, remaining) != (
                order.status,
                order.status_reason,
                order.consumed,
                order.remaining,
            ):
                offers_changed |= status != order.status and order.kind != OrderKind.REQUEST
                order.status, order.status_reason = status, reason
                order.consumed, order.remaining = consumed, remaining
                changed.append(order)
    BookOrder.objects.bulk_update(changed, fields, batch_size=500)
    if offers_changed:
        catalogue_changed()  # an offer came or went: cards show prices from the book
    return len(changed)


# ---------------------------------------------------------------------- input files

INPUTS_FOLDER = "inputs"
_TOKEN = re.compile(r"[0-9a-f]{32}")


class InputRefused(OrderError):
    """An input file the store does not take."""


class InputOverQuota(InputRefused):
    status = 413


class NoSuchInput(OrderError):
    status = 404


class InputInUse(OrderError):
    status = 409


def _size(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 // 10 else f"{size:,} bytes"


def _files(count: int) -> str:
    return f"{count:,} file" if count == 1 else f"{count:,} files"


def _how_to_free_space() -> str:
    return (
        "Delete inputs you no longer need (DELETE /api/v1/orders/inputs/<token>/; GET "
        "/api/v1/orders/inputs/ lists yours), or wait: inputs no deal uses any more are deleted "
        f"{settings.INPUT_RETENTION_DAYS:g} days after their upload."
    )


def _safe_name(name: str) -> str:
    try:
        return get_valid_filename(name)[:100] or "input"
    except SuspiciousFileOperation:  # nothing usable in it, such as ".."
        return "input"


@transaction.atomic
def input_store(
    *, owner: AbstractBaseUser, file: File, name: str, client_ip: str | None = None
) -> InputFile:
    """Store `file` as an input file of `owner`'s tasks, named `name` (made safe), within
    INPUT_MAX_BYTES, `owner`'s quota (INPUT_QUOTA_FILES files, INPUT_QUOTA_BYTES in all) and
    the quota of the network it comes from (`client_ip`: INPUT_QUOTA_BYTES_PER_IP, whatever
    the accounts: new wallets cost nothing).

    Raises InputRefused (InputOverQuota past a quota); nothing is stored then.
    """
    size = file.size
    if size > settings.INPUT_MAX_BYTES:
        raise InputRefused(
            f"{name} is {size:,} bytes: inputs are at most {_size(settings.INPUT_MAX_BYTES)}.",
            field="file",
        )
    # One upload of a user at a time, so that two cannot both fit in the same free space.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    used = selectors.input_usage(owner=owner)
    if (
        used.files + 1 > settings.INPUT_QUOTA_FILES
        or used.bytes + size > settings.INPUT_QUOTA_BYTES
    ):
        raise InputOverQuota(
            f"{name} ({_size(size)}) does not fit in your input quota of "
            f"{_files(settings.INPUT_QUOTA_FILES)} and {_size(settings.INPUT_QUOTA_BYTES)}: "
            f"you store {_files(used.files)} of {_size(used.bytes)}. {_how_to_free_space()}",
            field="file",
        )
    if client_ip:
        from_there = InputFile.objects.filter(client_ip=client_ip).aggregate(
            total=Coalesce(Sum("size"), 0)
        )["total"]
        if from_there + size > settings.INPUT_QUOTA_BYTES_PER_IP:
            raise InputOverQuota(
                f"{name} ({_size(size)}) does not fit in your network's input quota of "
                f"{_size(settings.INPUT_QUOTA_BYTES_PER_IP)}: {_size(from_there)} are stored from "
                f"it, whatever the account. {_how_to_free_space()}",
                field="file",
            )
    stored = InputFile(
        owner=owner,
        token=uuid.uuid4().hex,
        name=_safe_name(name),
        size=size,
        client_ip=client_ip or None,
    )
    default_storage.save(stored.path, file)
    try:
        stored.save()
    except BaseException:
        default_storage.delete(stored.path)
        raise
    return stored


@transaction.atomic
def input_delete(
    *, owner: AbstractBaseUser, token: str, now: datetime.datetime | None = None
) -> InputFile:
    """Delete `owner`'s input file `token`, its row now and its file once that is committed.

    Raises NoSuchInput when `owner` has no such file, InputInUse while a deal whose tasks may
    still run, or a request in the book, names it.
    """
    stored = InputFile.objects.select_for_update().filter(owner=owner, token=token).first()
    if stored is None:
        raise NoSuchInput(
            f"You have no input file {token}: GET /api/v1/orders/inputs/ lists yours.",
            field="token",
        )
    needed = selectors.inputs_in_use(now=now or timezone.now(), token=token)
    if token in needed:
        raise InputInUse(
            f"{stored.name} is an input of {needed[token]}, whose tasks may still run: delete it "
            "once they are done (or the request is off the book).",
            field="token",
        )
    stored.delete()
    transaction.on_commit(lambda: _delete_input_folder(token))
    return stored


def inputs_clean(*, now: datetime.datetime | None = None) -> int:
    """Delete the input files uploaded more than INPUT_RETENTION_DAYS ago that no deal whose
    tasks may still run and no request in the book names, rows and files; and, as old, the
    folders of the input store no row describes (files stored before rows were kept, or whose
    upload failed half-way). Returns how many input files were deleted."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.INPUT_RETENTION_DAYS)
    needed = selectors.inputs_in_use(now=now)
    stale = InputFile.objects.filter(created_at__lt=cutoff).values_list("pk", "token")
    deleted = 0
    for pk, token in list(stale):
        if token in needed:
            continue
        InputFile.objects.filter(pk=pk).delete()
        _delete_input_folder(token)
        deleted += 1
    return deleted + _orphan_inputs_clean(cutoff=cutoff, needed=needed)


def _orphan_inputs_clean(*, cutoff: datetime.datetime, needed: dict[str, str]) -> int:
    try:
        folders, _files = default_storage.listdir(INPUTS_FOLDER)
    except FileNotFoundError:
        return 0
    tokens = [folder for folder in folders if _TOKEN.fullmatch(folder) and folder not in needed]
    known: set[str] = set()
    for start in range(0, len(tokens), 500):
        chunk = tokens[start : start + 500]
        known.update(InputFile.objects.filter(token__in=chunk).values_list("token", flat=True))
    deleted = 0
    for token in tokens:
        if token in known:
            continue
        _folders, files = default_storage.listdir(f"{INPUTS_FOLDER}/{token}")
        # An empty folder may be an upload that has not written its file yet: left alone.
        if files and all(
            default_storage.get_modified_time(f"{INPUTS_FOLDER}/{token}/{name}") < cutoff
            for name in files
        ):
            _delete_input_folder(token)
            deleted += 1
    return deleted


def _delete_input_folder(token: str) -> None:
    """Delete the folder of input file `token` with what it holds; gone already is fine."""
    folder = f"{INPUTS_FOLDER}/{token}"
    try:
        _folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")
    # Only a storage on disk has folders to remove.
    with contextlib.suppress(NotImplementedError, OSError):
        os.rmdir(default_storage.path(folder))
