"""The pages of standing requests: yours (requests/), one waiting for an offer, with why none
fits it now, read again every few seconds by htmx (requests/<digest>/), taking it off the book
(requests/<digest>/cancel/), and a new one (requests/new/: the app, dataset, pool and category
chosen by name, or from the buy form's query string; what will be signed, then the wallet
signs it in frontend/static/frontend/js/standing.js and publishes it through
POST /api/v1/orders/standing/)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from marketplace.addresses import is_address, normalize
from marketplace.catalogue.forms import PriceField
from marketplace.catalogue.models import Listing, Market, TaskCategory
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.matchmaking.choice import DEFAULT_PRESET, PRESET_LABELS, Weights, WeightsRefused
from marketplace.matchmaking.requirements import ENERGY_CLASSES
from marketplace.notfound import NotFound
from marketplace.orders import matching, purchases, selectors, standing
from marketplace.orders.forms import CUSTOM, WEIGHT_FIELDS, expression_field
from marketplace.orders.forms import REQUIREMENT_FIELDS as BUY_REQUIREMENTS
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.parsing import TRUST_MAX, OrderError
from marketplace.orders.services import may_manage, order_unpublish
from pools.models import Region
from worker.command_line import task_command_line

# The waiting page reads itself again this often.
POLL_SECONDS = 5
# The fields of the buy form's requirements, kept with the request (its max price apart: the
# pool max price it is signed for, a field of its own here).
REQUIREMENT_FIELDS = tuple(name for name in BUY_REQUIREMENTS if name != "max_price")
# In the query string: the form was sent (validate it). Without it the page shows the form
# filled in from the query string (a link's), and no error until the buyer sends it.
SHOW = "show"


def _ect(units: int) -> str:
    """ECT as the wallet module takes amounts: a plain decimal string ("0" for nothing)."""
    return format(from_units(units, decimals=ECT_DECIMALS).normalize(), "f")


def _units(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount.scaleb(ECT_DECIMALS))


def _price(label: str, help_text: str, *, required: bool = False) -> PriceField:
    return PriceField(
        label=label,
        required=required,
        min_value=Decimal(0),
        max_digits=21,
        decimal_places=9,
        help_text=help_text,
    )


# The form's fields that name a listing (its value: the listing's checksummed address), with
# the kind of listing, how the form calls it, and what choosing none means ("": required).
LISTED = {
    "app": (Market.APP, "app", ""),
    "dataset": (Market.DATASET, "dataset", "None"),
    "workerpool": (Market.POOL, "pool", "The best offer of any pool"),
}


def _listed() -> dict[str, list[Listing]]:
    """The public listings registered on chain that a request may name, by the form's field,
    by name."""
    listings = selectors.registered_listings(kinds=[kind for kind, _, _ in LISTED.values()])
    found: dict[str, list[Listing]] = {name: [] for name in LISTED}
    kinds = {kind: name for name, (kind, _, _) in LISTED.items()}
    for listing in listings:
        found[kinds[listing.kind]].append(listing)
    return found


def _category_label(name: str) -> str:
    """A category as the catalogue names it ("S · up to 20 min"), else as the Hub does."""
    return TaskCategory(name).label if name in TaskCategory.values else name


def _asked(query: QueryDict, listed: dict[str, list[Listing]]) -> QueryDict:
    """The query string with the app, dataset and pool as the form's choices give them: an
    address (in any letter case) checksummed, a listing's slug its address. Anything else is
    left for the form to refuse."""
    asked = query.copy()
    for name, listings in listed.items():
        value = asked.get(name, "").strip()
        if is_address(value):
            asked[name] = normalize(value)
        elif value:
            slugs = {listing.slug: normalize(listing.chain_address) for listing in listings}
            asked[name] = slugs.get(value, value)
    return asked


class StandingForm(forms.Form):
    """What to wait for: the buy form's fields, the buyer's limits per task and the expiry.
    The app, dataset and pool are chosen by name among the public listings registered on chain
    (`listed`, as _listed gives them), the category among the Hub's. The best offer is chosen
    as on the buy form: by a preset, or by the buyer's weights (preset "custom", the weight_*
    fields, read by the matchmaker's own parser)."""

    app = forms.CharField(
        label="App",
        widget=forms.Select,
        error_messages={"required": "Choose the app to run."},
    )
    dataset = forms.CharField(label="Dataset", required=False, widget=forms.Select)
    workerpool = forms.CharField(label="Pool", required=False, widget=forms.Select)
    category = forms.IntegerField(
        label="Task category",
        initial=0,
        widget=forms.Select,
        help_text="How long a task may run: the pool's price is per task of that category.",
    )
    trust = forms.IntegerField(min_value=0, max_value=TRUST_MAX, initial=selectors.DEFAULT_TRUST)
    volume = forms.IntegerField(min_value=1, max_value=10_000, initial=1, label="Tasks")
    args = forms.CharField(required=False, max_length=4000, label="Arguments")
    requester = forms.ChoiceField(label="Pay from")
    max_price = _price(
        "Pool max price (ECT)",
        "The most a pool may charge per task: the request waits for an offer at this or less.",
        required=True,
    )
    app_max = _price(
        "App max price (ECT)", "Empty: what the app's cheapest offer asks now.", required=False
    )
    dataset_max = _price(
        "Dataset max price (ECT)",
        "Empty: what the dataset's cheapest offer asks now.",
        required=False,
    )
    expires_days = forms.IntegerField(
        min_value=1,
        max_value=standing.MAX_EXPIRY.days,
        initial=standing.DEFAULT_EXPIRY.days,
        label="Wait at most (days)",
    )
    cores = forms.IntegerField(required=False, min_value=1)
    memory_mb = forms.IntegerField(required=False, min_value=1, label="Memory (MiB)")
    region = forms.ChoiceField(required=False, choices=[("", "Any region"), *Region.choices])
    energy_class = forms.ChoiceField(
        required=False,
        choices=[("", "Any")] + [(c, f"{c} or better") for c in ENERGY_CLASSES],
    )
    deadline_minutes = forms.IntegerField(required=False, min_value=1, label="Deadline (minutes)")
    expression = expression_field(
        help_text="TARGET is the pool's ad: Name, Region, EnergyClass, Cores, Memory, Workers, "
        "Price, Trust, Reliability, MedianSeconds…; MY is your request's."
    )
    preset = forms.ChoiceField(
        choices=[*PRESET_LABELS.items(), (CUSTOM, "My weights (below)")],
        initial=DEFAULT_PRESET,
        label="Best offer is",
    )

    def __init__(
        self,
        *args: Any,
        wallets: list[str],
        listed: dict[str, list[Listing]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        for field, criterion in WEIGHT_FIELDS.items():
            self.fields[field] = forms.CharField(
                label=criterion.capitalize(),
                required=False,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "size": "4"}),
            )
        self.fields["requester"].choices = [(address, address) for address in wallets]
        # The listings chosen from, by address (for their names once chosen).
        self.listings: dict[str, Listing] = {}
        for name, (_, noun, none) in LISTED.items():
            choices = [("", none or f"Choose the {noun}")]
            for listing in listed[name]:
                address = normalize(listing.chain_address)
                self.listings[address] = listing
                choices.append((address, listing.name))
            self.fields[name].widget.choices = choices
        self.category_names = selectors.category_names(chain_id=settings.CHAIN_ID)
        self.fields["category"].widget.choices = [
            (catid, _category_label(name)) for catid, name in sorted(self.category_names.items())
        ]

    def _chosen(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        if not value:
            return ""
        kind, noun, _ = LISTED[name]
        listing = self.listings.get(value)
        if listing is None or listing.kind != kind:
            if is_address(value):
                raise forms.ValidationError(
                    f"No public {noun} with this address: choose one from the list."
                )
            raise forms.ValidationError(
                f"{value[:60]!r} is no public {noun} of this site: choose one from the list."
            )
        return value

    def clean_app(self) -> str:
        return self._chosen("app")

    def clean_dataset(self) -> str:
        return self._chosen("dataset")

    def clean_workerpool(self) -> str:
        return self._chosen("workerpool")

    def clean_category(self) -> int:
        category = self.cleaned_data["category"]
        try:
            standing.standing_category(category, chain_id=settings.CHAIN_ID)
        except OrderError as refused:
            raise forms.ValidationError(str(refused)) from None
        return category

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("preset") == CUSTOM:
            try:
                data["weights"] = Weights.parse(
                    {criterion: data.get(field) for field, criterion in WEIGHT_FIELDS.items()}
                )
            except WeightsRefused as refused:
                self.add_error(f"weight_{refused.field}" if refused.field else None, str(refused))
        return data

    @property
    def main_fields(self) -> list[BoundField]:
        """The fields but the weights, in order."""
        return [field for field in self if field.name not in WEIGHT_FIELDS]

    @property
    def weight_fields(self) -> list[BoundField]:
        return [self[name] for name in WEIGHT_FIELDS]

    def preferences(self) -> dict[str, Any]:
        """How the best offer is chosen, as the request is published with it
        (standing.standing_preferences): {"preset": name}, or {"weights": {criterion: weight}}
        for the buyer's own. Precondition: is_valid()."""
        if self.cleaned_data["preset"] == CUSTOM:
            return {"weights": self.cleaned_data["weights"].as_dict()}
        return {"preset": self.cleaned_data["preset"]}

    def requirements(self) -> dict[str, Any]:
        """The requirements kept with the request (the buy form's fields that are set)."""
        values = {name: self.cleaned_data.get(name) for name in REQUIREMENT_FIELDS}
        values["max_price"] = format(self.cleaned_data["max_price"].normalize(), "f")
        return {name: value for name, value in values.items() if value not in (None, "")}

    def wanted(self) -> selectors.Wanted:
        data = self.cleaned_data
        return selectors.Wanted(
            app=data["app"],
            dataset=data["dataset"],
            workerpool=data["workerpool"],
            category=data["category"],
            trust=data["trust"],
            volume=data["volume"],
            requester=data["requester"],
        )


def _plain(value: Any) -> str:
    """A number as people write it: 3.0 → 3, 0.075 → 0.075."""
    return format(Decimal(str(value)).normalize(), "f")


# How the request page words each requirement kept with a request (Requirements.as_dict's keys).
REQUIREMENT_WORDS = {
    "cores": lambda v: f"Cores at least {v}",
    "memory_mb": lambda v: f"Memory at least {v} MiB",
    "region": lambda v: f"Region {Region(v).label if v in Region.values else v}",
    "energy_class": lambda v: f"Energy class {v} or better",
    "max_price": lambda v: f"Max pool price {_plain(v)} ECT",
    "trust": lambda v: f"Trust at least {v}",
    "deadline_minutes": lambda v: f"Done within {v} minutes (median)",
    "expression": lambda v: f"Your expression: {v}",
}


def requirement_words(requirements: dict[str, Any]) -> list[str]:
    """The requirements kept with a request, each in words ("Cores at least 4"), in
    REQUIREMENT_WORDS' order; a key it does not know as "key value"."""
    known = [
        REQUIREMENT_WORDS[key](requirements[key])
        for key in REQUIREMENT_WORDS
        if key in requirements
    ]
    return known + [
        f"{key} {value}" for key, value in requirements.items() if key not in REQUIREMENT_WORDS
    ]


def preference_words(preferences: dict[str, Any]) -> str:
    """How the best offer is chosen: the preset's label ("Cheapest"), or the buyer's weights
    ("your weights: price 3, speed 1"), those above 0."""
    preset = preferences.get("preset")
    if preset in PRESET_LABELS:
        return PRESET_LABELS[preset]
    weights = preferences.get("weights") or {}
    given = [f"{name} {_plain(value)}" for name, value in weights.items() if value]
    if not given:
        return PRESET_LABELS[DEFAULT_PRESET]
    return "your weights: " + ", ".join(given)


def _filled(asked: QueryDict, *, listed: dict[str, list[Listing]], wallets: list[str]) -> QueryDict:
    """The query string with what a link leaves out filled in: the form's defaults (the
    expiry, the category, trust, tasks, the preset), the first wallet to pay from and the
    app's default arguments (as its buy page fills them in)."""
    filled = asked.copy()
    for name, field in StandingForm.base_fields.items():
        if field.initial is not None:
            filled.setdefault(name, str(field.initial))
    if wallets:
        filled.setdefault("requester", wallets[0])
    if "args" not in filled:
        app = next(
            (
                listing
                for listing in listed["app"]
                if normalize(listing.chain_address) == filled.get("app")
            ),
            None,
        )
        if app is not None:
            filled["args"] = app.app.default_args
    return filled


@login_required
@require_GET
def standing_new(request: HttpRequest) -> HttpResponse:
    """A new standing request: the form, filled in from the query string (the buy form's
    link), and once it is sent (SHOW) and complete, the request order to sign with its max
    prices, the most it can cost and its expiry. Opened from a link or bare, the form says
    nothing is missing until the buyer sends it."""
    wallets = list(request.user.wallets.values_list("address", flat=True))
    listed = _listed()
    asked = _filled(_asked(request.GET, listed), listed=listed, wallets=wallets)
    if SHOW in asked:
        form = StandingForm(asked, wallets=wallets, listed=listed)
    else:
        form = StandingForm(initial=asked.dict(), wallets=wallets, listed=listed)
    context: dict[str, Any] = {"form": form, "wallets": wallets}
    if form.is_valid():
        try:
            requirements = form.requirements()
            standing.standing_requirements(requirements)  # as publishing will check them
            draft = standing.standing_draft(
                wanted=form.wanted(),
                params=purchases.default_params(args=form.cleaned_data["args"], input_files=[]),
                workerpool_max=_units(form.cleaned_data["max_price"]),
                app_max=_units(form.cleaned_data["app_max"]),
                dataset_max=_units(form.cleaned_data["dataset_max"]),
            )
        except OrderError as refused:
            name = refused.field.removeprefix("requirements.")
            form.add_error(name if name in form.fields else None, str(refused))
        else:
            expires_at = timezone.now() + datetime.timedelta(days=form.cleaned_data["expires_days"])
            data = form.cleaned_data
            dataset = form.listings.get(data["dataset"])
            preferences = form.preferences()
            context |= {
                "draft": draft,
                "message": draft.typed_data["message"],
                "app": form.listings[data["app"]],
                "dataset": dataset,
                "workerpool": form.listings.get(data["workerpool"]),
                "category": _category_label(form.category_names[data["category"]]),
                "preference": preference_words(preferences),
                "requirement_words": requirement_words(requirements),
                "command_line": task_command_line(
                    data["args"],
                    dataset_file=dataset.dataset.task_file_name if dataset else None,
                ),
                "signing": {
                    "typed_data": draft.typed_data,
                    "requirements": requirements,
                    "preferences": preferences,
                    "expires_at": expires_at.isoformat(),
                    "deposit_needed": _ect(draft.deposit_needed),
                },
                "expires_at": expires_at,
                "publish_url": reverse("api_standing_list"),
            }
    return render(request, "orders/standing_new.html", context)


@login_required
@require_GET
def standing_list(request: HttpRequest) -> HttpResponse:
    """Your standing requests: status, expiry, what is left, and their deals."""
    orders = list(standing.standing_list(user=request.user, chain_id=settings.CHAIN_ID)[:200])
    names = selectors.listings_by_address(
        chain_id=settings.CHAIN_ID,
        addresses=[address for order in orders for address in (order.asset, order.workerpool)],
    )
    deals = standing.standing_deals_of(orders)
    for order in orders:
        order.app_listing = names.get(order.asset)
        order.pool_listing = names.get(order.workerpool)
        order.deals = deals[order.digest]
        order.tasks_left = standing.standing_remaining(order)
    return render(request, "orders/standing_list.html", {"orders": orders})


def _mine(request: HttpRequest, digest: str) -> Order:
    order = standing.standing_detail(chain_id=settings.CHAIN_ID, digest=digest)
    # Someone else's request is not found: its page says what a buyer asked for.
    if order is None or not may_manage(order=order, user=request.user):
        raise NotFound("No such standing request of yours.")
    return order


@login_required
@require_GET
def standing_detail(request: HttpRequest, digest: str) -> HttpResponse:
    """A standing request: waiting for an offer (why none fits now, read again every
    POLL_SECONDS), or matched (its deals), or off the book (why)."""
    order = _mine(request, digest)
    remaining = standing.standing_remaining(order)
    if order.status == OrderStatus.OPEN and remaining:
        state = "waiting"
    elif order.status in (OrderStatus.OPEN, OrderStatus.FILLED) and not remaining:
        state = "matched"
    else:
        state = "off"  # off the book (cancelled, expired, closed) or dead
    context: dict[str, Any] = {
        "order": order,
        "remaining": remaining,
        "state": state,
        "max_prices": order.message,
        "deals": standing.standing_deals(order),
        "matches": list(order.standing_matches.all()),
        "poll_seconds": POLL_SECONDS,
        "cancellable": not order.unpublished
        and order.status in (OrderStatus.OPEN, OrderStatus.DEAD)
        and remaining > 0,
        # Off the book but still matchable on chain by anyone holding its signature.
        "closable": order.unpublished and order.remaining > 0,
    }
    if state == "waiting":
        try:
            seen = standing.standing_market(order, consumed=order.volume - remaining)
        except OrderError as refused:
            context["problem"] = str(refused)
        else:
            context["waiting_for"] = standing.standing_waiting_for(seen)
            context["market"] = market = matching.market_summary(seen.market)
            context["ruled_out"] = [_ruled_out_words(item) for item in market["ruled_out"]]
    template = "orders/standing_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#live"
    else:
        context |= _asks(order)
    return render(request, template, context)


def _ruled_out_words(item: dict[str, Any]) -> str:
    """A condition that rules pools out (market_summary's), in words with how many pools it
    rules out: said once ("1 is outside eu-west"), added when its words do not start with it."""
    words, count = item["words"], item["count"]
    if words.startswith(f"{count} "):
        return words
    return f"{words} ({count} pool{'' if count == 1 else 's'})"


def _asks(order: Order) -> dict[str, Any]:
    """What the request page shows of what a request asks, in words: the listings of its app,
    dataset and pool (None: not listed here), its category's name, its requirements and how
    the best offer is chosen."""
    listings = selectors.listings_by_address(
        chain_id=order.chain_id, addresses=[order.asset, order.dataset, order.workerpool]
    )
    names = selectors.category_names(chain_id=order.chain_id)
    return {
        "app": listings.get(order.asset),
        "dataset": listings.get(order.dataset),
        "workerpool": listings.get(order.workerpool),
        "category": (
            _category_label(names[order.category])
            if order.category in names
            else f"category {order.category}"
        ),
        "requirement_words": requirement_words(order.requirements or {}),
        "preference": preference_words(order.preferences or {}),
    }


@login_required
@require_POST
def standing_cancel(request: HttpRequest, digest: str) -> HttpResponse:
    """Take the request off the book: the matcher no longer matches it (it stays valid on
    chain until closed there, which its page offers next)."""
    order = _mine(request, digest)
    order_unpublish(order=order, user=request.user)
    return redirect(reverse("standing_detail", args=[order.digest]) + "?cancelled=1")
