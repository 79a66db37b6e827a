from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import Q
from django.template.defaultfilters import filesizeformat

from dappstore.models import App
from datamarket import services
from marketplace.catalogue.forms import ListingForm


class DatasetForm(ListingForm):
    data_file = forms.FileField(
        label="Data file",
        help_text=f"Encrypted on arrival (AES-256-GCM); at most "
        f"{filesizeformat(settings.DATASET_MAX_BYTES)}.",
    )
    allowed_apps = forms.ModelMultipleChoiceField(
        queryset=App.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Only these apps may read the dataset inside a task. None: no app yet.",
    )
    field_order = ["name", "summary", "data_file", "allowed_apps", "description", "tags", "icon"]

    def __init__(self, *args, listing=None, user, **kwargs):
        super().__init__(*args, listing=listing, user=user, **kwargs)
        self.fields["allowed_apps"].queryset = (
            App.objects.filter(Q(listing__is_public=True) | Q(listing__owner=user))
            .select_related("listing")
            .order_by("listing__name")
        )
        self.fields["allowed_apps"].label_from_instance = lambda app: app.listing.name
        if listing is not None:
            self.fields["data_file"].required = False
            self.fields["data_file"].help_text = "Leave empty to keep the current file."

    @classmethod
    def initial_for(cls, listing):
        return {
            **super().initial_for(listing),
            "allowed_apps": list(listing.dataset.allowed_apps.all()),
        }

    def clean_data_file(self):
        data_file = self.cleaned_data.get("data_file")
        if data_file is not None and data_file.size > settings.DATASET_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {filesizeformat(data_file.size)}; the limit is "
                f"{filesizeformat(settings.DATASET_MAX_BYTES)}."
            )
        if data_file is not None and data_file.size == 0:
            raise forms.ValidationError("The file is empty.")
        return data_file

    def save(self, *, owner):
        return services.dataset_submit(
            owner=owner,
            data_file=self.cleaned_data["data_file"],
            allowed_apps=self.cleaned_data["allowed_apps"],
            **self.listing_fields(),
        )

    def update(self, *, listing, actor):
        return services.dataset_update(
            listing=listing,
            actor=actor,
            data_file=self.cleaned_data.get("data_file"),
            allowed_apps=self.cleaned_data["allowed_apps"],
            **self.listing_fields(),
        )


class KeyPolicyForm(forms.Form):
    hand_admitted_only = forms.BooleanField(
        required=False,
        label="Only to workers their pool's operator admitted by hand",
    )
    min_score = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=2**63 - 1,
        label="Only to workers of at least this on-chain score",
        help_text="0: any member of the pool running the task.",
    )
