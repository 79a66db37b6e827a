"""Forms shared by the three markets: the listing fields, the list filters, ratings, comments."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import flatatt
from django.template.defaultfilters import filesizeformat
from django.utils.safestring import SafeString, mark_safe

from marketplace.catalogue import texts
from marketplace.catalogue.filters import SORTS, ListingFilters
from marketplace.catalogue.models import Listing, TaskCategory
from marketplace.chain.amounts import plain_amount

PRICE_FIELD = "price_{}"
MAX_TAGS = 8


class PriceField(forms.DecimalField):
    """An amount of ECT, shown in its box as people write it (0.07, not 0.070000000)."""

    def prepare_value(self, value):
        return plain_amount(value) if isinstance(value, Decimal) else value


def _price_field(category: TaskCategory) -> forms.DecimalField:
    return PriceField(
        label=category.label,
        required=False,
        min_value=Decimal(0),
        max_digits=21,
        decimal_places=9,
        help_text="ECT per task; leave empty if you do not offer this category.",
    )


class CountedCharField(forms.CharField):
    """Text with a limit that is counted, never cut: its box shows a live counter
    (frontend/js/counter.js, which lifts the browser's `maxlength` so that a longer paste is kept
    whole), and a longer text is refused with the limit and the length given."""

    def __init__(self, *, limit: int, noun: str, **kwargs) -> None:
        self.limit, self.noun = limit, noun
        super().__init__(**kwargs)

    def to_python(self, value):
        return texts.normalized(super().to_python(value))

    def widget_attrs(self, widget) -> dict:
        attrs = super().widget_attrs(widget)
        if not widget.is_hidden:
            attrs.update({"maxlength": str(self.limit), "data-counter": ""})
        return attrs

    def validate(self, value) -> None:
        super().validate(value)
        if problem := texts.too_long(self.noun, value, self.limit):
            raise forms.ValidationError(problem, code="max_length")


class QuickSelect(forms.Select):
    """A single `<select>` without option groups, rendered in Python.

    List pages render up to seven of these per request; Django's template-based widget costs
    about half a millisecond each, this a few microseconds (hence `html.escape` on plain
    strings rather than `format_html`). The markup is the same."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        selected = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape(str(key))}"{" selected" if str(key) in selected else ""}>'
            f"{escape(str(label))}</option>"
            for key, label in self.choices
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs))
        return mark_safe(  # noqa: S308 -- every value above is escaped
            f'<select name="{escape(name)}"{attributes}>{options}</select>'
        )


def _preferred_wallet(wallets):
    """The wallet last used to sign in, else the one linked last."""
    return max(
        wallets,
        key=lambda w: (w.last_sign_in_at is not None, w.last_sign_in_at or w.linked_at, w.pk),
    )


class ListingForm(forms.Form):
    """Fields every listing has. Markets subclass it and implement `save` and `update`.

    Apps and datasets have one price per task (`price`), as their orders on the Hub have;
    a market whose offers have a category (worker pools) sets `per_category_prices` and gets
    one price field per category instead."""

    per_category_prices = False

    name = CountedCharField(limit=texts.NAME_MAX, noun="name", help_text="Plain text, no HTML.")
    summary = CountedCharField(
        limit=texts.SUMMARY_MAX, noun="summary", help_text="One line, shown on cards."
    )
    description = CountedCharField(
        limit=texts.DESCRIPTION_MAX,
        noun="description",
        widget=forms.Textarea(attrs={"rows": 8}),
        required=False,
        help_text="Markdown: headings, lists, links, tables, code. HTML tags are not run: "
        "they show as the text you typed.",
    )
    tags = forms.CharField(
        required=False, max_length=300, help_text="Comma-separated, for example: graphics, svg"
    )
    icon = forms.ImageField(required=False, help_text="PNG or JPEG, square, at most 2 MB.")
    owner_wallet = forms.ChoiceField(
        required=False,
        label="Payout wallet",
        help_text="Where sales are paid. Link a wallet by signing in with Ethereum.",
    )

    def __init__(self, *args, user, listing: Listing | None = None, **kwargs):
        self.user = user
        self.listing = listing
        super().__init__(*args, **kwargs)
        if self.per_category_prices:
            for category in TaskCategory:
                self.fields[PRICE_FIELD.format(category.value)] = _price_field(category)
        else:
            self.fields["price"] = PriceField(
                label="Price per task",
                min_value=Decimal(0),
                max_digits=21,
                decimal_places=9,
                help_text="ECT per task, whatever its category.",
            )
        wallets = list(user.wallets.all())
        self.fields["owner_wallet"].choices = [
            ("", "— none yet —"),
            *((w.address, w.address) for w in wallets),
        ]
        if wallets and not self.initial.get("owner_wallet"):
            # Sales are paid to a wallet the provider holds: the one they last signed in with.
            self.initial["owner_wallet"] = _preferred_wallet(wallets).address

    @classmethod
    def initial_for(cls, listing: Listing) -> dict:
        initial = {
            "name": listing.name,
            "summary": listing.summary,
            "description": listing.description,
            "tags": ", ".join(t.name for t in listing.tags.all()),
            "owner_wallet": listing.owner_wallet,
        }
        if cls.per_category_prices:
            for price in listing.prices.all():
                initial[PRICE_FIELD.format(price.category)] = price.price
        else:
            initial["price"] = listing.price
        return initial

    @property
    def price_fields(self):
        """The per-category price fields (none for one price per task)."""
        if not self.per_category_prices:
            return []
        return [self[PRICE_FIELD.format(c.value)] for c in TaskCategory]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if problem := texts.name_problem(name):
            raise forms.ValidationError(problem)
        return name

    def clean_tags(self) -> list[str]:
        names = [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]
        if len(names) > MAX_TAGS:
            raise forms.ValidationError(f"Use at most {MAX_TAGS} tags.")
        if any(len(n) > 40 for n in names):
            raise forms.ValidationError("A tag is at most 40 characters.")
        return names

    def clean_icon(self):
        icon = self.cleaned_data.get("icon")
        if icon and icon.size > settings.IMAGE_MAX_BYTES:
            raise forms.ValidationError(
                f"The icon is {filesizeformat(icon.size)}; the limit is "
                f"{filesizeformat(settings.IMAGE_MAX_BYTES)}."
            )
        return icon

    def clean(self):
        cleaned = super().clean()
        if self.per_category_prices and not any(
            cleaned.get(PRICE_FIELD.format(c.value)) is not None for c in TaskCategory
        ):
            raise forms.ValidationError("Set a price for at least one task category.")
        return cleaned

    def listing_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "summary": data["summary"],
            "description": data["description"],
            "tags": data["tags"],
            **(
                {"prices": {c.value: data.get(PRICE_FIELD.format(c.value)) for c in TaskCategory}}
                if self.per_category_prices
                else {"price": data["price"]}
            ),
            "owner_wallet": data.get("owner_wallet") or "",
            "icon": data.get("icon"),
        }


class ListingFilterForm(forms.Form):
    """The query string of a list page. Bad values are reported, never a server error."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    tag = forms.SlugField(required=False, max_length=40)
    price_min = forms.DecimalField(
        required=False, min_value=0, max_digits=21, decimal_places=9, label="Min price"
    )
    price_max = forms.DecimalField(
        required=False, min_value=0, max_digits=21, decimal_places=9, label="Max price"
    )
    rating_min = forms.TypedChoiceField(
        required=False,
        coerce=int,
        empty_value=None,
        label="Rating",
        widget=QuickSelect,
        choices=[
            ("", "Any rating"),
            ("4", "★ 4 and up"),
            ("3", "★ 3 and up"),
            ("2", "★ 2 and up"),
            ("1", "★ 1 and up"),
        ],
    )
    sort = forms.ChoiceField(
        required=False,
        widget=QuickSelect,
        choices=[
            ("reputation", "Reputation"),
            ("newest", "Newest"),
            ("price_asc", "Price: low to high"),
            ("price_desc", "Price: high to low"),
            ("rating", "Best rated"),
        ],
    )
    page = forms.IntegerField(required=False, min_value=1)

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("price_min"), cleaned.get("price_max")
        if low is not None and high is not None and low > high:
            self.add_error("price_max", "The maximum price is below the minimum price.")
        return cleaned

    def problems(self) -> list[str]:
        """What is wrong with the query, one line per error, named as the page names it."""
        return [
            message if name == NON_FIELD_ERRORS else f"{self[name].label}: {message}"
            for name, messages in self.errors.items()
            for message in messages
        ]

    def filters(self) -> ListingFilters:
        data = (
            self.cleaned_data
            if self.is_valid()
            else {
                k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors
            }
        )
        fields = {f: data.get(f) for f in ListingFilters.__dataclass_fields__ if f in data}
        fields = {k: v for k, v in fields.items() if v not in (None, "")}
        if fields.get("sort") not in SORTS:
            fields.pop("sort", None)
        return ListingFilters(**fields)


class RatingForm(forms.Form):
    """A review: stars, and optionally a title and a text."""

    stars = forms.TypedChoiceField(
        coerce=int,
        choices=[(str(i), str(i)) for i in range(1, 6)],
        error_messages={
            "invalid_choice": "A rating is a whole number of stars from 1 to 5.",
            "required": "Choose how many stars to give: a whole number from 1 to 5.",
        },
    )
    title = CountedCharField(
        limit=texts.REVIEW_TITLE_MAX, noun="review title", required=False, label="Title"
    )
    body = CountedCharField(
        limit=texts.REVIEW_MAX,
        noun="review",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Review",
    )


class CommentForm(forms.Form):
    body = CountedCharField(
        limit=texts.COMMENT_MAX,
        noun="comment",
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Comment",
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ReportForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CurationForm(forms.Form):
    action = forms.CharField(max_length=30)
    reason = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
