from __future__ import annotations

from django import forms

from marketplace.catalogue.forms import ListingFilterForm, ListingForm, QuickSelect
from pools import services
from pools.models import EnergyClass, Region, Runtime, Visibility


class WorkerpoolForm(ListingForm):
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
