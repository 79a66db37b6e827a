from __future__ import annotations

import copy
from decimal import Decimal

from django import forms
from django.urls import reverse

from marketplace.catalogue.forms import ListingFilterForm, ListingForm, PriceField, QuickSelect
from marketplace.chain.amounts import ECT_DECIMALS, to_units
from marketplace.fields import AddressFormField
from marketplace.matchmaking import attributes as ads
from marketplace.matchmaking.classads import CONDITION, NUMBER, ExpressionRefused
from pools import services
from pools.models import Admission, EnergyClass, Region, Runtime, Visibility

POOL_FIELDS = services.POOL_ATTRIBUTES + services.POOL_EXPRESSIONS

_READS = (
    f"TARGET is the request: TARGET.{', TARGET.'.join(ads.REQUEST_ATTRIBUTES)}. "
    f"MY is this pool: MY.{', MY.'.join(ads.POOL_ATTRIBUTES)}."
)
REQUIREMENTS_HELP = (
    "A ClassAd expression every request this pool takes must meet (empty: any request). "
    f"{_READS} For example: TARGET.RequesterDeals >= 1 (buyers who have bought before), "
    'member("image", TARGET.AppTags) (only apps tagged image), TARGET.Volume >= 10, joined '
    "with &&. Changed alone, Requirements and Rank apply at once and keep a published pool "
    "public; other edits go back to review."
)
RANK_HELP = (
    "A ClassAd expression: among standing requests, the pool takes those with the highest "
    f"value first (empty: oldest first). {_READS} For example: TARGET.Volume, or "
    "TARGET.Trust * 10 + TARGET.Volume."
)


class ExpressionTextarea(forms.Textarea):
    """A box for a pool's Requirements: with `check_url`, what they match of recent demand is
    asked again as the operator types (htmx posts the whole form there and puts the answer in
    the box's check area; without JavaScript the form checks the expression when saved), and
    a list of what each side's ad holds."""

    template_name = "pools/_expression_widget.html"

    def __init__(self, *, check_url: str = "", attrs: dict | None = None) -> None:
        super().__init__(attrs={"rows": 3, "spellcheck": "false", **(attrs or {})})
        self.check_url = check_url

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        check = f"{context['widget']['attrs'].get('id') or name}-check"
        if self.check_url:
            # Refused when saved, the field says why already: the check waits for a change.
            refused = context["widget"]["attrs"].get("aria-invalid") == "true"
            context["widget"]["attrs"].update(
                {
                    "hx-post": self.check_url,
                    "hx-trigger": ("" if refused else "load, ")
                    + "keyup changed delay:500ms, change from:closest form",
                    "hx-include": "closest form",
                    "hx-target": f"#{check}",
                    "hx-swap": "innerHTML",
                    "aria-describedby": check,
                }
            )
        context["check_id"] = check
        context["check_url"] = self.check_url
        context["request_attributes"] = ads.REQUEST_ATTRIBUTES.items()
        context["pool_attributes"] = ads.POOL_ATTRIBUTES.items()
        return context


def clean_pool_expression(value: str, *, kind: str) -> str:
    """An operator's Requirements (kind CONDITION) or Rank (NUMBER) as typed (stripped), once
    the matcher reads it; empty is none. Raises ValidationError with the parser's words."""
    text = (value or "").strip()
    if text:
        try:
            ads.pool_expression(text, kind=kind)
        except ExpressionRefused as refused:
            raise forms.ValidationError(str(refused), code="expression") from None
    return text


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
    requirements = forms.CharField(
        required=False,
        label="Requirements of requests",
        widget=ExpressionTextarea(),
        help_text=REQUIREMENTS_HELP,
    )
    rank = forms.CharField(
        required=False,
        label="Rank of requests",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=RANK_HELP,
    )
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
        "requirements",
        "rank",
        "tags",
        "icon",
    ]

    def __init__(self, *args, listing=None, **kwargs):
        super().__init__(*args, listing=listing, **kwargs)
        self.fields["requirements"].widget.check_url = (
            reverse("pool_requirements_check", args=[listing.slug])
            if listing is not None
            else reverse("pool_requirements_check_new")
        )

    @classmethod
    def initial_for(cls, listing):
        pool = listing.workerpool
        return {
            **super().initial_for(listing),
            **{name: getattr(pool, name) for name in POOL_FIELDS},
        }

    def clean_requirements(self) -> str:
        return clean_pool_expression(self.cleaned_data["requirements"], kind=CONDITION)

    def clean_rank(self) -> str:
        return clean_pool_expression(self.cleaned_data["rank"], kind=NUMBER)

    def attributes(self) -> dict:
        return {name: self.cleaned_data[name] for name in POOL_FIELDS}

    def save(self, *, owner):
        return services.workerpool_submit(
            owner=owner, attributes=self.attributes(), **self.listing_fields()
        )

    def update(self, *, listing, actor):
        return services.workerpool_update(
            listing=listing, actor=actor, attributes=self.attributes(), **self.listing_fields()
        )


class RequirementsCheckForm(forms.Form):
    """What the live check of a pool's Requirements reads of the pool form: the Requirements
    and the pool's attributes, each optional (one that is not valid yet is left out of the
    pool's ad: it reads as undefined)."""

    requirements = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in services.POOL_ATTRIBUTES:
            field = copy.deepcopy(WorkerpoolForm.base_fields[name])
            field.required = False
            self.fields[name] = field

    def clean_requirements(self) -> str:
        return clean_pool_expression(self.cleaned_data["requirements"], kind=CONDITION)

    def attributes(self) -> dict:
        """The valid attributes given (precondition: is_valid() was called)."""
        return {
            name: self.cleaned_data[name]
            for name in services.POOL_ATTRIBUTES
            if self.cleaned_data.get(name) not in (None, "")
        }


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
