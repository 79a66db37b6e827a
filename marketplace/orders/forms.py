"""The provider's sell form: what a listing's sell orders say (price, volume, restrictions),
turned into the typed data its owner's wallet signs. And the buyer's market form: what a buyer
asks of pools and how the fitting ones are ranked (MarketForm), and the market it sees.

- An app: one order at one price per task, whatever the category.
- A dataset: one order per allowed app registered on chain (its `apprestrict`), since a
  dataset is usable only by the apps its provider chose.
- A pool: one order per category offered (a price filled in), with the trust it gives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings

from marketplace.addresses import normalize
from marketplace.catalogue.forms import PriceField
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, TaskCategory
from marketplace.chain.amounts import ECT_DECIMALS
from marketplace.chain.orders import typed_data
from marketplace.fields import wallet_address_validator
from marketplace.matchmaking.choice import (
    CRITERIA,
    DEFAULT_PRESET,
    PRESET_LABELS,
    PRESETS,
    Weights,
    WeightsRefused,
)
from marketplace.matchmaking.requirements import (
    ENERGY_CLASSES,
    Requirements,
    RequirementsRefused,
    parse_requirements,
)
from marketplace.orders import matching, selectors
from marketplace.orders.parsing import TRUST_MAX, order_with_defaults
from marketplace.orders.services import book_domain
from pools.models import Region

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


# ---------------------------------------------------------------------- the buyer's market

# The preset that means "rank by the weights I typed".
CUSTOM = "custom"
MAX_TASKS = 10_000
REQUIREMENT_FIELDS = (
    "cores",
    "memory_mb",
    "region",
    "energy_class",
    "max_price",
    "deadline_minutes",
    "expression",
)
WEIGHT_FIELDS = {f"weight_{name}": name for name in CRITERIA}


# The buy form's id: the ranking's controls sit beside the ranking, outside the form's element.
BUY_FORM = "buy-form"


def _whole_number_input(**attrs: str) -> forms.TextInput:
    # Text, not type=number: the browser would refuse to send what it cannot read, silently,
    # where the matchmaker's parser says what is wrong with it.
    return forms.TextInput(attrs={"inputmode": "numeric", "size": "6", **attrs})


def expression_field(*, attrs: dict[str, str] | None = None, **options: Any) -> forms.CharField:
    """The buyer's advanced requirement: a ClassAd expression over the pool's ad (read by
    the matchmaker's parser when the form is cleaned)."""
    return forms.CharField(
        label="Advanced: a ClassAd expression over the pool's ad",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": "2",
                "class": "mono",
                "placeholder": 'TARGET.Workers >= 3 && TARGET.Region != "us-east"',
                **(attrs or {}),
            }
        ),
        **options,
    )


class MarketForm(forms.Form):
    """A buyer's request as the buy form and its query string carry it: what to run (the app
    is the page's), what pools must offer (blank: no requirement) and how the fitting ones are
    ranked (a preset, or the buyer's weights with preset "custom"). Requirement and weight
    values are read by the matchmaker's own parsers, so the page and the API refuse the same
    values in the same words. `wallets` are the buyer's linked wallets (the requester is one)."""

    dataset = forms.CharField(required=False, validators=[wallet_address_validator])
    workerpool = forms.CharField(required=False, validators=[wallet_address_validator])
    category = forms.IntegerField(
        min_value=0, error_messages={"required": "Choose a task category."}
    )
    trust = forms.IntegerField(min_value=0, max_value=TRUST_MAX, required=False)
    volume = forms.IntegerField(min_value=1, max_value=MAX_TASKS, required=False)
    requester = forms.CharField(required=False)
    cores = forms.CharField(
        label="Cores per worker, at least", required=False, widget=_whole_number_input()
    )
    memory_mb = forms.CharField(
        label="Memory per worker (MiB), at least",
        required=False,
        widget=_whole_number_input(),
    )
    region = forms.CharField(
        label="Region",
        required=False,
        widget=forms.Select(choices=[("", "Any region"), *Region.choices]),
    )
    energy_class = forms.CharField(
        label="Energy class, this or better",
        required=False,
        widget=forms.Select(
            choices=[("", "Any"), *((grade, f"{grade} or better") for grade in ENERGY_CLASSES)]
        ),
    )
    max_price = forms.CharField(
        label="Max pool price (ECT per task)",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": "8"}),
    )
    deadline_minutes = forms.CharField(
        label="Done within (minutes, median)",
        required=False,
        widget=_whole_number_input(),
    )
    expression = expression_field(attrs={"aria-describedby": "expression-help"})
    preset = forms.ChoiceField(
        label="Rank the pools that fit by",
        required=False,
        choices=[*PRESET_LABELS.items(), (CUSTOM, "My weights (below)")],
        widget=forms.Select(attrs={"form": BUY_FORM}),
        error_messages={
            "invalid_choice": "There is no ranking “%(value)s”: choose "
            + ", ".join(PRESET_LABELS.values())
            + ", or your own weights."
        },
    )

    def __init__(self, *args: Any, wallets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wallets = wallets
        for field, criterion in WEIGHT_FIELDS.items():
            self.fields[field] = forms.CharField(
                label=criterion.capitalize(),
                required=False,
                widget=forms.TextInput(
                    attrs={"inputmode": "decimal", "size": "4", "form": BUY_FORM}
                ),
            )
        self.requirements = Requirements()
        self.weights: Weights = PRESETS[DEFAULT_PRESET]

    def clean_requester(self) -> str:
        asked = self.cleaned_data["requester"].strip()
        if not asked:
            return self.wallets[0] if self.wallets else ""
        mine = next((w for w in self.wallets if w.lower() == asked.lower()), None)
        if mine is None:
            raise forms.ValidationError(
                f"{asked[:60]} is not one of your linked wallets: choose one of yours, or link "
                "it on the Wallets page."
            )
        return mine

    def _address(self, name: str) -> str:
        # Checksummed, as the book keeps addresses (the validator made sure it is one).
        value = self.cleaned_data[name].strip()
        return normalize(value) if value else ""

    def clean_dataset(self) -> str:
        return self._address("dataset")

    def clean_workerpool(self) -> str:
        return self._address("workerpool")

    def clean_category(self) -> int:
        category = self.cleaned_data["category"]
        if refusal := selectors.category_refusal(category, chain_id=settings.CHAIN_ID):
            raise forms.ValidationError(refusal)
        return category

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            self.requirements = parse_requirements(
                {name: self.data.get(name) for name in REQUIREMENT_FIELDS},
                regions=matching.REGIONS,
            )
        except RequirementsRefused as refused:
            self.add_error(refused.field, str(refused))
        preset = data.get("preset") or DEFAULT_PRESET
        data["preset"] = preset
        if preset == CUSTOM:
            try:
                self.weights = Weights.parse(
                    {criterion: self.data.get(field) for field, criterion in WEIGHT_FIELDS.items()}
                )
            except WeightsRefused as refused:
                self.add_error(f"weight_{refused.field}" if refused.field else None, str(refused))
        else:
            self.weights = PRESETS[preset]
        return data

    @property
    def preset_name(self) -> str:
        """The preset chosen ("" for the buyer's own weights). Precondition: is_valid()."""
        preset = self.cleaned_data["preset"]
        return "" if preset == CUSTOM else preset

    def wanted(self, *, app: str) -> selectors.Wanted:
        """What the buyer asks of `app`. Precondition: is_valid()."""
        data = self.cleaned_data
        return selectors.Wanted(
            app=app,
            dataset=data["dataset"],
            workerpool=data["workerpool"],
            category=data["category"],
            trust=data["trust"] if data["trust"] is not None else selectors.DEFAULT_TRUST,
            volume=data["volume"] or 1,
            requester=data["requester"],
        )
