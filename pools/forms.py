from __future__ import annotations

from decimal import Decimal

from django import forms

from marketplace.catalogue.forms import ListingFilterForm, ListingForm, PriceField, QuickSelect
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.fields import AddressFormField
from pools import services
from pools.models import Admission, EnergyClass, Region, Runtime, Visibility


class WorkerpoolForm(ListingForm):
    per_category_prices = True  # a pool's offers have a category each
    cpu_cores = forms.IntegerField(min_value=1, max_value=512, label="CPU cores per worker")
    memory_mb = forms.IntegerField(
        min_value=64, max_value=4 * 1024 * 1024, label="Memory per worker (MiB)"
    )
    runtime = forms.ChoiceField(choices=Runtime.choices, initial=Runtime.WASM)
    location = forms.ChoiceField(choices=Region.choices)
    energy_class = forms.ChoiceField(choices=EnergyClass.choices)
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PUBLIC)
    field_order = [
        "name",
        "summary",
        "description",
        "cpu_cores",
        "memory_mb",
        "runtime",
        "location",
        "energy_class",
        "visibility",
        "tags",
        "icon",
    ]

    @classmethod
    def initial_for(cls, listing):
        pool = listing.workerpool
        return {
            **super().initial_for(listing),
            **{name: getattr(pool, name) for name in services.POOL_ATTRIBUTES},
        }

    def attributes(self) -> dict:
        return {name: self.cleaned_data[name] for name in services.POOL_ATTRIBUTES}

    def save(self, *, owner):
        return services.workerpool_submit(
            owner=owner, attributes=self.attributes(), **self.listing_fields()
        )

    def update(self, *, listing, actor):
        return services.workerpool_update(
            listing=listing, actor=actor, attributes=self.attributes(), **self.listing_fields()
        )


class WorkerpoolFilterForm(ListingFilterForm):
    cores_min = forms.TypedChoiceField(
        required=False,
        widget=QuickSelect,
        coerce=int,
        empty_value=None,
        label="CPU cores",
        choices=[
            ("", "Any cores"),
            ("2", "2+ cores"),
            ("4", "4+ cores"),
            ("8", "8+ cores"),
            ("16", "16+ cores"),
            ("32", "32+ cores"),
        ],
    )
    memory_min_gib = forms.TypedChoiceField(
        required=False,
        widget=QuickSelect,
        coerce=int,
        empty_value=None,
        label="Memory",
        choices=[
            ("", "Any memory"),
            ("2", "2+ GiB"),
            ("4", "4+ GiB"),
            ("8", "8+ GiB"),
            ("16", "16+ GiB"),
            ("64", "64+ GiB"),
        ],
    )
    location = forms.ChoiceField(
        required=False, widget=QuickSelect, choices=[("", "Anywhere"), *Region.choices]
    )
    energy_class = forms.ChoiceField(
        required=False,
        widget=QuickSelect,
        label="Energy",
        choices=[("", "Any energy"), *[(c.value, f"{c.value} or better") for c in EnergyClass]],
    )
    visibility = forms.ChoiceField(
        required=False, widget=QuickSelect, choices=[("", "Public or private"), *Visibility.choices]
    )


# ---------------------------------------------------------------------- membership


class PolicyForm(forms.Form):
    admission = forms.ChoiceField(choices=Admission.choices, widget=forms.RadioSelect)
    bond_min = PriceField(
        label="Bond asked (ECT)",
        min_value=0,
        max_digits=30,
        decimal_places=9,
        required=False,
        help_text="Escrow a worker locks for this pool with the Hub's bond(); 0: none.",
    )
    score_min = forms.IntegerField(
        label="Lowest score admitted",
        min_value=0,
        max_value=2**63 - 1,
        required=False,
        help_text="The worker's on-chain score (one point per task completed with others).",
    )
    seize_bond_on_contradiction = forms.BooleanField(
        label="Seize the whole bond of a member that loses its standing (its failure reports "
        "contradicted by other workers' success)",
        required=False,
    )

    def clean(self):
        data = super().clean()
        data["bond_min"] = data.get("bond_min") or Decimal(0)
        data["score_min"] = data.get("score_min") or 0
        return data

    def bond_units(self) -> int:
        return to_units(self.cleaned_data["bond_min"], decimals=ECT_DECIMALS, currency="ECT")


class InviteForm(forms.Form):
    worker = AddressFormField(
        label="Worker's wallet",
        error_messages={"invalid": "A wallet address is 0x and 40 hex digits."},
    )
    reason = forms.CharField(max_length=300, required=False, label="Note (kept in the history)")


class DecisionForm(forms.Form):
    member = forms.IntegerField(widget=forms.HiddenInput)
    action = forms.ChoiceField(
        choices=[(a, a) for a in ("approved", "refused", "removed", "reinstated")]
    )
    reason = forms.CharField(max_length=300, required=False)


class ApplyForm(forms.Form):
    wallet = forms.ChoiceField(label="Worker wallet")
    note = forms.CharField(
        max_length=300,
        required=False,
        label="Note to the operator",
        help_text="Your machine, where it runs, how to reach you.",
    )

    def __init__(self, *args, wallets: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wallet"].choices = [(w, w) for w in wallets]
