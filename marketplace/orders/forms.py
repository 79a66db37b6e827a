"""The provider's sell form: what a listing's sell orders say (price, volume, restrictions),
turned into the typed data its owner's wallet signs.

- An app: one order at one price per task, whatever the category.
- A dataset: one order per allowed app registered on chain (its `apprestrict`), since a
  dataset is usable only by the apps its provider chose.
- A pool: one order per category offered (a price filled in), with the trust it gives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from marketplace.catalogue.forms import PriceField
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, TaskCategory
from marketplace.chain.amounts import ECT_DECIMALS
from marketplace.chain.orders import typed_data
from marketplace.fields import wallet_address_validator
from marketplace.orders.parsing import TRUST_MAX, order_with_defaults
from marketplace.orders.services import book_domain

MAX_VOLUME = 1_000_000


# The sell form's fields of the restrictions an offer may carry (MarketAdapter.sell_restrictions).
RESTRICTIONS = {
    "requester_restrict": (
        "Only for this buyer",
        "Optional: a wallet address; empty sells to anyone.",
    ),
    "workerpool_restrict": (
        "Only in this pool",
        "Optional: a pool's address; empty allows any pool.",
    ),
}


class SellForm(forms.Form):
    volume = forms.IntegerField(
        min_value=1,
        max_value=MAX_VOLUME,
        initial=1000,
        help_text="How many tasks this offer sells before you sign a new one.",
    )

    def __init__(self, *args: Any, listing: Listing, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listing = listing
        self.market = MARKETS[listing.kind]
        if self.market.prices_per_category:
            prices = {p.category: p.price for p in listing.prices.all()}
            for category in TaskCategory:
                self.fields[f"price_{category.value}"] = PriceField(
                    label=f"{category.label} price (ECT)",
                    required=False,
                    min_value=Decimal(0),
                    decimal_places=ECT_DECIMALS,
                    max_digits=30,
                    initial=prices.get(category.value),
                )
            self.fields["trust"] = forms.IntegerField(
                min_value=0,
                max_value=TRUST_MAX,
                initial=5,
                help_text="The most trust buyers may ask of this pool (more trust, more "
                "replicates of each task).",
            )
        else:
            self.fields["price"] = PriceField(
                label="Price per task (ECT)",
                min_value=Decimal(0),
                decimal_places=ECT_DECIMALS,
                max_digits=30,
                initial=listing.price,
            )
        for name in self.market.sell_restrictions:
            label, help_text = RESTRICTIONS[name]
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                validators=[wallet_address_validator],
                help_text=help_text,
            )

    @property
    def order_kind(self) -> str:
        """The EIP-712 type of the orders this form describes."""
        return self.market.order_kind

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.market.prices_per_category and not any(
            data.get(f"price_{category}") is not None for category in TaskCategory.values
        ):
            raise forms.ValidationError("Fill in the price of at least one category to offer.")
        if refusal := self.market.sell_refusal(self.listing):
            raise forms.ValidationError(refusal)
        return data

    def typed_data(self) -> list[dict[str, Any]]:
        """The typed data of every order this form describes, for the owner to sign."""

        data = self.cleaned_data
        domain = book_domain()
        orders = self.market.sell_orders(
            self.listing,
            volume=data["volume"],
            price=data.get("price"),
            prices={category: data.get(f"price_{category}") for category in TaskCategory.values},
            trust=data.get("trust", 0),
            restrictions={name: data.get(name, "") for name in self.market.sell_restrictions},
        )
        return [
            typed_data(order_with_defaults(self.order_kind, fields), domain) for fields in orders
        ]
