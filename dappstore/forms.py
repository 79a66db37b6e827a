from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from dappstore import services
from marketplace.catalogue.forms import ListingForm
from marketplace.matchmaking import attributes as ads
from marketplace.matchmaking.classads import ExpressionRefused
from worker.inspection import InvalidWasm, inspect_wasm

REQUIREMENTS_HELP = (
    "A ClassAd expression every run of this app needs of the pool that runs it, carried into "
    "every request for it (empty: any pool). TARGET is the pool: "
    f"TARGET.{', TARGET.'.join(ads.POOL_ATTRIBUTES)}; MY is the request: "
    f"MY.{', MY.'.join(ads.REQUEST_ATTRIBUTES)}. For example: TARGET.Memory >= 512, or "
    'TARGET.Memory >= 2048 && TARGET.Runtime == "wasm".'
)


class AppForm(ListingForm):
    wasm = forms.FileField(
        label="WebAssembly program (.wasm)",
        help_text=f"A WASI command module exporting _start, at most "
        f"{filesizeformat(settings.APP_WASM_MAX_BYTES)}.",
    )
    default_args = forms.CharField(
        required=False,
        max_length=500,
        label="Default arguments",
        help_text="Command-line arguments a task starts with, e.g. --width 512 {dataset} "
        "/output/out.png. Write {dataset} where the program reads its dataset (a worker puts "
        "the dataset's path there): buyers must then choose a dataset. Results go in /output.",
    )
    requirements = forms.CharField(
        required=False,
        label="Requirements of pools",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text=REQUIREMENTS_HELP,
    )
    field_order = [
        "name",
        "summary",
        "wasm",
        "description",
        "tags",
        "icon",
        "default_args",
        "requirements",
    ]

    def __init__(self, *args, listing=None, **kwargs):
        super().__init__(*args, listing=listing, **kwargs)
        if listing is not None:
            self.fields["wasm"].required = False
            self.fields["wasm"].help_text = "Leave empty to keep the current program."

    @classmethod
    def initial_for(cls, listing):
        return {
            **super().initial_for(listing),
            "default_args": listing.app.default_args,
            "requirements": listing.app.requirements,
        }

    def clean_requirements(self) -> str:
        """The text as typed (stripped) once the matcher reads it as a request's condition."""
        text = self.cleaned_data["requirements"].strip()
        if text:
            try:
                ads.request_expression(text)
            except ExpressionRefused as refused:
                raise forms.ValidationError(str(refused), code="expression") from None
        return text

    def clean_wasm(self):
        wasm = self.cleaned_data.get("wasm")
        if wasm and wasm.size > settings.APP_WASM_MAX_BYTES:
            raise forms.ValidationError(
                f"The program is {filesizeformat(wasm.size)}; the limit is "
                f"{filesizeformat(settings.APP_WASM_MAX_BYTES)}."
            )
        if wasm:
            # Checked here too so that the user sees every problem of the form at once; the
            # service checks again, as it is the authority (uploads can come from elsewhere).
            try:
                inspect_wasm(wasm, max_bytes=settings.APP_WASM_MAX_BYTES)
            except InvalidWasm as error:
                raise forms.ValidationError(str(error)) from error
        return wasm

    def save(self, *, owner):
        return services.app_submit(
            owner=owner,
            wasm_file=self.cleaned_data["wasm"],
            default_args=self.cleaned_data["default_args"],
            requirements=self.cleaned_data["requirements"],
            **self.listing_fields(),
        )

    def update(self, *, listing, actor):
        return services.app_update(
            listing=listing,
            actor=actor,
            wasm_file=self.cleaned_data.get("wasm"),
            default_args=self.cleaned_data["default_args"],
            requirements=self.cleaned_data["requirements"],
            **self.listing_fields(),
        )
