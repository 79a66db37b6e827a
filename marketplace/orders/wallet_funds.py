"""What the linked-wallets page shows of each wallet's funds: its runway, its spending caps and
their form. The page is the accounts app's, but runway and caps are the order book's: their page
context is built here, for the wallets page and the faucet's answer alike."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings

from marketplace.accounts import selectors
from marketplace.catalogue.forms import PriceField
from marketplace.chain.amounts import ECT_DECIMALS, format_ect, from_units
from marketplace.orders import caps, runway

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from marketplace.orders.models import SpendingCap


def _cap_field(label: str, help_text: str) -> PriceField:
    return PriceField(
        label=label,
        required=False,
        min_value=Decimal(0),
        max_digits=28,
        decimal_places=ECT_DECIMALS,
        help_text=help_text,
    )


class SpendingCapForm(forms.Form):
    """A wallet's spending caps in ECT; empty: no cap."""

    daily = _cap_field(
        "Daily cap (ECT)",
        "The most this wallet may spend within any 24 hours, standing requests included.",
    )
    per_deal = _cap_field(
        "Per-deal cap (ECT)", "The most one purchase, or one standing request, may cost."
    )

    def units(self) -> dict[str, int | None]:
        """The caps in base units (None: no cap). Precondition: the form is valid."""
        return {
            name: None if value is None else int(value.scaleb(ECT_DECIMALS))
            for name, value in self.cleaned_data.items()
        }


@dataclasses.dataclass(frozen=True)
class WalletFunds:
    """What the page shows of one wallet's funds: its runway, its caps, and their form."""

    runway: runway.Runway
    cap: SpendingCap | None
    form: SpendingCapForm

    @property
    def address(self) -> str:
        return self.runway.address

    @property
    def free(self) -> str:
        return format_ect(self.runway.free)

    @property
    def locked(self) -> str:
        return format_ect(self.runway.locked)

    @property
    def caps_words(self) -> str:
        """The caps set, in words."""
        cap = self.cap
        said = []
        if cap is not None and cap.per_deal is not None:
            said.append(f"{format_ect(int(cap.per_deal))} per deal")
        if cap is not None and cap.daily is not None:
            said.append(f"{format_ect(int(cap.daily))} a day")
        return "Capped at " + " and ".join(said) + "." if said else "No spending cap."


def _initial(cap: SpendingCap | None) -> dict[str, Decimal]:
    if cap is None:
        return {}
    return {
        name: from_units(int(value), decimals=ECT_DECIMALS)
        for name, value in (("daily", cap.daily), ("per_deal", cap.per_deal))
        if value is not None
    }


def _funds(
    addresses: list[str], *, bound: tuple[str, SpendingCapForm] | None = None
) -> list[WalletFunds]:
    """The funds of each wallet; `bound`: the wallet whose caps form was sent, and that form."""
    found = caps.spending_caps(addresses=addresses)
    return [
        WalletFunds(
            runway=wallet,
            cap=found.get(wallet.address),
            form=(
                bound[1]
                if bound and bound[0] == wallet.address
                else SpendingCapForm(
                    initial=_initial(found.get(wallet.address)), prefix=wallet.address
                )
            ),
        )
        for wallet in runway.wallets_runway(chain_id=settings.CHAIN_ID, addresses=addresses)
    ]


def wallets_page(*, user: AbstractBaseUser, **context: Any) -> dict[str, Any]:
    """The wallets page's context for `user` (its views and the faucet's render it); `bound`:
    the wallet whose caps form was sent, and that form."""
    wallets = selectors.wallet_list(user=user)
    return {
        "wallets": wallets,
        "can_sign_in_without_wallet": selectors.user_can_sign_in_without_wallet(user=user),
        "funds": _funds([wallet.address for wallet in wallets], bound=context.pop("bound", None)),
        "recent_days": runway.RECENT_DAYS,
        **context,
    }
