"""Spending caps: what a linked wallet's owner lets the site spend from it, per deal and per day,
set on the wallets page or by the API, and checked before the site builds any request that
wallet would pay for (a purchase's quote and match, a standing request's draft and
publication), so that nothing is signed or stored over a cap.

- per deal: a purchase's cost (price per task times volume), or what a standing request may cost at
  most (its max prices times its volume);
- daily: that cost, plus what the wallet spent or committed in the last 24 hours: the deals it
  paid (indexed), and what its standing requests published in those hours may still spend
  (runway.recent_spending). A standing request commits its whole cost the day it is published;
  once matched, its deals count instead of it.

The matcher sends what standing requests were signed for without asking again: their cost was
checked against the caps when they were published.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from marketplace.accounts.models import Wallet
from marketplace.chain.amounts import format_ect
from marketplace.orders import runway
from marketplace.orders.models import SpendingCap
from marketplace.orders.services import NotYourOrder, OrderRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# A cap above this caps nothing (a billion ECT, in base units); the database keeps it exactly.
CAP_MAX = 10**18
DAY = datetime.timedelta(days=1)


class SpendingCapExceeded(OrderRefused):
    """A request over a spending cap of the wallet that would pay: refused before it is built,
    in the same words wherever it was asked (form, API)."""

    code = "spending_cap"


class SpendingCapRefused(OrderRefused):
    """A cap that cannot be set as given: `field` names it."""


def spending_caps(*, addresses: list[str]) -> dict[str, SpendingCap]:
    """The caps set on `addresses`, by address."""
    caps = SpendingCap.objects.filter(wallet__address__in=addresses).select_related("wallet")
    return {cap.wallet.address: cap for cap in caps}


def spending_cap_of(address: str) -> SpendingCap | None:
    """The caps of the linked wallet at `address` (any case), if any are set."""
    return (
        SpendingCap.objects.filter(wallet__address__iexact=address).select_related("wallet").first()
    )


def not_linked(address: str) -> NotYourOrder:
    """The refusal of caps for a wallet its user has not linked."""
    return NotYourOrder(
        f"The wallet {address} is not one of your linked wallets: link it on the wallets page "
        "(sign in with it), then set its caps.",
        field="address",
    )


@transaction.atomic
def spending_cap_set(
    *, user: AbstractBaseUser, address: str, daily: int | None, per_deal: int | None
) -> SpendingCap | None:
    """Set the caps of `user`'s linked wallet at `address` (base units; None: no such cap);
    with neither, the wallet has no cap any more (None is returned). Raises NotYourOrder for a
    wallet `user` has not linked, SpendingCapRefused for a cap out of range."""
    wallet = Wallet.objects.select_for_update().filter(user=user, address__iexact=address).first()
    if wallet is None:
        raise not_linked(address)
    for field, value in (("daily", daily), ("per_deal", per_deal)):
        if value is not None and not 0 <= value <= CAP_MAX:
            raise SpendingCapRefused(
                f"A cap is from 0 to {format_ect(CAP_MAX)}, not {format_ect(value)}: leave it "
                "empty for no cap.",
                field=field,
            )
    if daily is None and per_deal is None:
        SpendingCap.objects.filter(wallet=wallet).delete()
        return None
    cap, _ = SpendingCap.objects.update_or_create(
        wallet=wallet, defaults={"daily": daily, "per_deal": per_deal}
    )
    return cap


def spending_cap_check(
    *,
    chain_id: int,
    requester: str,
    cost: int,
    standing: bool = False,
    now: datetime.datetime | None = None,
) -> None:
    """Raise SpendingCapExceeded when `cost` (base units: a purchase's, or at most a standing
    request's with `standing`) is over a cap of the wallet `requester`, which would pay: its
    per-deal cap, or its daily cap with what it spent or committed in the last 24 hours. Call
    it before building the request; a wallet without caps (or not linked) passes."""
    cap = spending_cap_of(requester)
    if cap is None:
        return
    wallet = cap.wallet.address
    what = (
        f"This standing request may cost up to {format_ect(cost)}"
        if standing
        else f"This run costs {format_ect(cost)}"
    )
    fewer = "ask for fewer tasks or lower max prices" if standing else "buy fewer tasks"
    if cap.per_deal is not None and cost > int(cap.per_deal):
        raise SpendingCapExceeded(
            f"{what}, over the {format_ect(int(cap.per_deal))} per-deal cap of wallet {wallet}; "
            f"raise the cap on the wallets page or {fewer}."
        )
    if cap.daily is None:
        return
    now = now or timezone.now()
    spent = runway.recent_spending(chain_id=chain_id, address=wallet, since=now - DAY, now=now)
    if spent + cost > int(cap.daily):
        raise SpendingCapExceeded(
            f"{what}, and wallet {wallet} spent or committed {format_ect(spent)} in the last 24 "
            f"hours: {format_ect(spent + cost)}, over its {format_ect(int(cap.daily))} daily "
            f"cap; raise the cap on the wallets page, {fewer}, or wait until older spending is "
            "a day old."
        )
