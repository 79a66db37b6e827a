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
from marketplace.catalogue.models import Listing, Market, TaskCategory, wallet_address_validator
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.orders.parsing import TRUST_MAX, order_with_defaults

MAX_VOLUME = 1_000_000


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
        if listing.kind == Market.POOL:
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
            self.fields["requester_restrict"] = forms.CharField(
                label="Only for this buyer",
                required=False,
                validators=[wallet_address_validator],
                help_text="Optional: a wallet address; empty sells to anyone.",
            )
            if listing.kind == Market.APP:
                self.fields["workerpool_restrict"] = forms.CharField(
                    label="Only in this pool",
                    required=False,
                    validators=[wallet_address_validator],
                    help_text="Optional: a pool's address; empty allows any pool.",
                )

    @property
    def order_kind(self) -> str:
        return {Market.APP: "app", Market.DATASET: "dataset", Market.POOL: "workerpool"}[
            self.listing.kind
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.listing.kind == Market.POOL and not any(
            data.get(f"price_{category}") is not None for category in TaskCategory.values
        ):
            raise forms.ValidationError("Fill in the price of at least one category to offer.")
        if self.listing.kind == Market.DATASET and not self._allowed_apps():
            raise forms.ValidationError(
                "No app allowed to use this dataset is registered on chain yet: choose the "
                "allowed apps (Edit), and sell once one of them is registered."
            )
        return data

    def _allowed_apps(self) -> list[str]:
        apps = self.listing.dataset.allowed_apps.exclude(listing__chain_address="")
        return sorted(apps.values_list("listing__chain_address", flat=True))

    def _units(self, value: Decimal) -> str:
        return str(to_units(value, decimals=ECT_DECIMALS, currency="ECT"))

    def typed_data(self) -> list[dict[str, Any]]:
        """The typed data of every order this form describes, for the owner to sign."""
        from marketplace.chain.orders import typed_data
        from marketplace.orders.services import book_domain

        data = self.cleaned_data
        domain = book_domain()
        asset = self.listing.chain_address
        kind = self.order_kind
        common: dict[str, Any] = {"volume": data["volume"]}
        orders: list[dict[str, Any]] = []
        if self.listing.kind == Market.POOL:
            for catid, category in enumerate(TaskCategory.values):
                price = data.get(f"price_{category}")
                if price is None:
                    continue
                orders.append(
                    {
                        **common,
                        "workerpool": asset,
                        "workerpoolprice": self._units(price),
                        "category": catid,
                        "trust": data["trust"],
                    }
                )
        else:
            price_field = "appprice" if kind == "app" else "datasetprice"
            base = {**common, kind: asset, price_field: self._units(data["price"])}
            for restriction in ("requester_restrict", "workerpool_restrict"):
                if data.get(restriction):
                    base[restriction.replace("_", "")] = data[restriction]
            if kind == "dataset":
                orders = [{**base, "apprestrict": app} for app in self._allowed_apps()]
            else:
                orders = [base]
        return [typed_data(order_with_defaults(kind, fields), domain) for fields in orders]
