"""Funds runway: how long a wallet's escrow lasts at the rate it spends, and whether a pool
operator's escrow covers the stake its open offers need. Reads the index (escrow accounts,
deals) and the book (standing requests, pool offers) and asks the chain nothing, so that a page
of several wallets costs a few queries.

- spent: what the deals the wallet paid for in the last RECENT_DAYS cost (price per task times
  volume, as the Hub locked it when they were matched; a failed task's refund is not taken
  back: the rate is of what the wallet committed to);
- committed: what its live standing requests (open, or dead until the escrow covers them) may
  still spend before they expire: their max prices times their remaining volume;
- daily rate: spent / RECENT_DAYS, plus each standing request's committed amount spread over the
  days left until its expiry (one day at least: a request may match all at once);
- runway: free escrow / daily rate, said in words ("~3 days"), counted down so that it never
  promises more than there is.

A pool operator's open offers (open, or dead only for want of stake: they come back when the
escrow covers them) need the stake the Hub locks when they match (PROTOCOL.md, matchOrders):
the offer's price times its pool's worker stake ratio % times its remaining volume, as
services.required_escrow computes it. Offers of pools the index has not seen yet are left out:
their ratio is not known without asking the chain.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from marketplace.accounts.models import Wallet
from marketplace.chain.amounts import ECT_DECIMALS, format_amount, format_ect
from marketplace.indexer.models import Asset, Deal, EscrowAccount, OrderKind
from marketplace.notifications.services import notify_runway_low
from marketplace.orders.models import Order, OrderStatus

RECENT_DAYS = 7
DAY = datetime.timedelta(days=1)
_MICROSECOND = datetime.timedelta(microseconds=1)
# Orders that may still be matched: a dead one comes back once its signer's escrow covers it.
LIVE = (OrderStatus.OPEN, OrderStatus.DEAD)


def _about(units_a_day: Fraction) -> str:
    """A rate in ECT as people say it: three significant digits ("0.0699 ECT")."""
    ect = Decimal(units_a_day.numerator) / Decimal(units_a_day.denominator) / 10**ECT_DECIMALS
    return f"{format_amount(Decimal(f'{ect:.3g}'))} ECT"


def runway_words(days: Fraction | None) -> str:
    """How long an escrow lasts, `days` at its rate, in words: "no recent spending" (None),
    "less than a day", "~1 day", "~3 days" (up to 60), "~2 months", "more than a year"."""
    if days is None:
        return "no recent spending"
    whole = int(days)  # counted down: "~3 days" for 3.9 of them
    if whole < 1:
        return "less than a day"
    if whole < 60:
        return f"~{whole} day{'s' if whole != 1 else ''}"
    if whole < 365:
        return f"~{whole // 30} months"
    return "more than a year"


@dataclasses.dataclass(frozen=True)
class Runway:
    """One wallet's escrow and how fast it goes; amounts in ECT base units, the rate in base
    units a day. `offers_need` is None when the wallet has no open pool offer."""

    address: str
    free: int
    locked: int
    spent: int
    committed: int
    daily_rate: Fraction
    offers_need: int | None

    @property
    def days(self) -> Fraction | None:
        """Days the free escrow lasts at the daily rate; None when nothing is being spent."""
        return Fraction(self.free) / self.daily_rate if self.daily_rate else None

    @property
    def lasts(self) -> str:
        return runway_words(self.days)

    @property
    def sentence(self) -> str:
        """The rate and the runway, for people."""
        if not self.daily_rate:
            return (
                f"No recent spending: no deal paid in the last {RECENT_DAYS} days and no "
                "standing request waiting, so your free escrow stays as it is."
            )
        parts = f"{format_ect(self.spent)} on deals in the last {RECENT_DAYS} days"
        if self.committed:
            parts += (
                f", and your standing requests may spend {format_ect(self.committed)} more "
                "before they expire"
            )
        return (
            f"You spend about {_about(self.daily_rate)} a day ({parts}). At this rate "
            f"your escrow lasts {self.lasts}."
        )

    @property
    def offers_sentence(self) -> str:
        """What the wallet's open pool offers need of its stake, and whether it has it; empty
        for a wallet that offers nothing."""
        if self.offers_need is None:
            return ""
        said = (
            f"Your open offers need {format_ect(self.offers_need)} of stake; you have "
            f"{format_ect(self.free)} free"
        )
        if self.offers_need <= self.free:
            return f"{said}: enough for all."
        short = format_ect(self.offers_need - self.free)
        return (
            f"{said}: {short} short. Deposit {short}, or lower your offers' volumes: buyers "
            "cannot take the offers your escrow does not cover."
        )


def _spent_by(chain_id: int, addresses: list[str], since: datetime.datetime) -> dict[str, int]:
    """What each of `addresses` paid for the deals started since `since`."""
    spent: dict[str, int] = defaultdict(int)
    deals = Deal.objects.filter(chain_id=chain_id, payer__in=addresses, start_time__gte=since)
    for payer, app, dataset, pool, volume in deals.values_list(
        "payer", "app_price", "dataset_price", "workerpool_price", "volume"
    ):
        spent[payer] += (int(app) + int(dataset) + int(pool)) * volume
    return spent


def _standing(chain_id: int, addresses: list[str], now: datetime.datetime):
    """The live, unexpired standing requests of `addresses`."""
    return Order.objects.filter(
        chain_id=chain_id,
        kind=OrderKind.REQUEST,
        signer__in=addresses,
        status__in=LIVE,
        unpublished=False,
        expires_at__gt=now,
        remaining__gt=0,
    )


def _offers_need(chain_id: int, addresses: list[str]) -> dict[str, int]:
    """The stake the open pool offers of each of `addresses` (that has some) need."""
    offers = list(
        Order.objects.filter(
            chain_id=chain_id,
            kind=OrderKind.WORKERPOOL,
            signer__in=addresses,
            status__in=LIVE,
            unpublished=False,
            remaining__gt=0,
        ).only("asset", "signer", "price", "remaining")
    )
    pools = {
        asset.address: asset
        for asset in Asset.objects.filter(
            chain_id=chain_id, address__in={offer.asset for offer in offers}
        ).only("address", "owner", "worker_stake_ratio")
    }
    need: dict[str, int] = {}
    for offer in offers:
        pool = pools.get(offer.asset)
        # A pool sold since the offer was signed: the offer is dead for good, it needs nothing.
        if pool is None or pool.owner != offer.signer or pool.worker_stake_ratio is None:
            continue
        stake = int(offer.price) * pool.worker_stake_ratio // 100 * offer.remaining
        need[offer.signer] = need.get(offer.signer, 0) + stake
    return need


def wallets_runway(
    *, chain_id: int, addresses: Iterable[str], now: datetime.datetime | None = None
) -> list[Runway]:
    """The runway of each of `addresses` (checksummed, as the index and the book keep them),
    in their order, as of `now`."""
    addresses = list(addresses)
    now = now or timezone.now()
    escrow = {
        account.address: account
        for account in EscrowAccount.objects.filter(chain_id=chain_id, address__in=addresses)
    }
    spent = _spent_by(chain_id, addresses, now - RECENT_DAYS * DAY)
    committed: dict[str, int] = defaultdict(int)
    rate: dict[str, Fraction] = defaultdict(Fraction)
    for request in _standing(chain_id, addresses, now).only(
        "signer", "price", "remaining", "expires_at"
    ):
        may_spend = int(request.price) * request.remaining
        days_left = Fraction((request.expires_at - now) // _MICROSECOND, DAY // _MICROSECOND)
        committed[request.signer] += may_spend
        rate[request.signer] += may_spend / max(days_left, Fraction(1))
    needs = _offers_need(chain_id, addresses)
    runways = []
    for address in addresses:
        account = escrow.get(address)
        runways.append(
            Runway(
                address=address,
                free=int(account.stake) if account else 0,
                locked=int(account.locked) if account else 0,
                spent=spent.get(address, 0),
                committed=committed.get(address, 0),
                daily_rate=Fraction(spent.get(address, 0), RECENT_DAYS) + rate[address],
                offers_need=needs.get(address),
            )
        )
    return runways


def wallet_runway(*, chain_id: int, address: str, now: datetime.datetime | None = None) -> Runway:
    """The runway of one wallet (wallets_runway)."""
    return wallets_runway(chain_id=chain_id, addresses=[address], now=now)[0]


def recent_spending(
    *, chain_id: int, address: str, since: datetime.datetime, now: datetime.datetime
) -> int:
    """What `address` spent or committed since `since`: the deals it paid started since then,
    and what its standing requests published since then may still spend (live, unexpired; once
    matched, their deals count instead). What a spending cap's day counts."""
    spent = _spent_by(chain_id, [address], since).get(address, 0)
    published = _standing(chain_id, [address], now).filter(created_at__gte=since)
    return spent + sum(
        int(price) * remaining for price, remaining in published.values_list("price", "remaining")
    )


def runway_warnings(
    *, chain_id: int, addresses: Iterable[str], now: datetime.datetime | None = None
) -> int:
    """Warn the owners of those of `addresses` that are linked wallets and whose free escrow lasts
    fewer than settings.RUNWAY_WARNING_DAYS at their spending rate: at most once a day per wallet
    while it stays short (the day is the notification's event). How many were warned."""
    now = now or timezone.now()
    owners = dict(Wallet.objects.filter(address__in=list(addresses)).values_list("address", "user"))
    if not owners:
        return 0
    threshold = datetime.timedelta(days=float(settings.RUNWAY_WARNING_DAYS))
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    users = {user.pk: user for user in get_user_model().objects.filter(pk__in=owners.values())}
    warned = 0
    for wallet in wallets_runway(chain_id=chain_id, addresses=sorted(owners), now=now):
        days = wallet.days
        if days is None or days >= Fraction(str(settings.RUNWAY_WARNING_DAYS)):
            continue
        told = notify_runway_low(
            user=users[owners[wallet.address]],
            chain_id=chain_id,
            address=wallet.address,
            runway=datetime.timedelta(days=float(days)),
            threshold=threshold,
            since=day,
            url=reverse("wallet_list"),
        )
        warned += told is not None
    return warned
