"""The pages of standing requests: yours (requests/), one waiting for an offer, with why none
fits it now, read again every few seconds by htmx (requests/<digest>/), taking it off the book
(requests/<digest>/cancel/), and a new one (requests/new/, from the buy form's query string:
what will be signed, then the wallet signs it in frontend/static/frontend/js/standing.js and
publishes it through POST /api/v1/orders/standing/)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from marketplace.catalogue.forms import PriceField
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.chain.orders import checksummed
from marketplace.fields import AddressFormField
from marketplace.matchmaking.choice import DEFAULT_PRESET, PRESET_LABELS
from marketplace.matchmaking.requirements import ENERGY_CLASSES
from marketplace.notfound import NotFound
from marketplace.orders import matching, purchases, selectors, standing
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.parsing import TRUST_MAX, OrderError
from marketplace.orders.services import may_manage, order_unpublish

# The waiting page reads itself again this often.
POLL_SECONDS = 5
# The fields of the buy form's requirements, kept with the request.
REQUIREMENT_FIELDS = ("cores", "memory_mb", "region", "energy_class", "deadline_minutes")


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


class StandingForm(forms.Form):
    """What to wait for: the buy form's fields, the buyer's limits per task and the expiry."""

    app = AddressFormField()
    dataset = AddressFormField(required=False)
    workerpool = AddressFormField(required=False, help_text="Empty: the best offer of any pool.")
    category = forms.IntegerField(min_value=0, initial=0)
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
    cores = forms.IntegerField(required=False, min_value=1)
    memory_mb = forms.IntegerField(required=False, min_value=1, label="Memory (MiB)")
    region = forms.ChoiceField(
        required=False, choices=[("", "Any")] + [(r, r) for r in matching.REGIONS]
    )
    energy_class = forms.ChoiceField(
        required=False,
        choices=[("", "Any")] + [(c, f"{c} or better") for c in ENERGY_CLASSES],
    )
    deadline_minutes = forms.IntegerField(required=False, min_value=1, label="Deadline (minutes)")
    preset = forms.ChoiceField(
        choices=list(PRESET_LABELS.items()), initial=DEFAULT_PRESET, label="Best offer is"
    )
    expires_days = forms.IntegerField(
        min_value=1,
        max_value=standing.MAX_EXPIRY.days,
        initial=standing.DEFAULT_EXPIRY.days,
        label="Wait at most (days)",
    )

    def __init__(self, *args: Any, wallets: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requester"].choices = [(address, address) for address in wallets]

    def requirements(self) -> dict[str, Any]:
        """The requirements kept with the request (the buy form's fields that are set)."""
        values = {name: self.cleaned_data.get(name) for name in REQUIREMENT_FIELDS}
        values["max_price"] = format(self.cleaned_data["max_price"].normalize(), "f")
        return {name: value for name, value in values.items() if value not in (None, "")}

    def wanted(self) -> selectors.Wanted:
        data = self.cleaned_data
        return selectors.Wanted(
            app=checksummed(data["app"].lower()),
            dataset=checksummed(data["dataset"].lower()) if data["dataset"] else "",
            workerpool=checksummed(data["workerpool"].lower()) if data["workerpool"] else "",
            category=data["category"],
            trust=data["trust"],
            volume=data["volume"],
            requester=data["requester"],
        )


@login_required
@require_GET
def standing_new(request: HttpRequest) -> HttpResponse:
    """A new standing request from the buy form's query string: the form, and once it is
    complete, the request order to sign with its max prices, the most it can cost and its
    expiry."""
    wallets = list(request.user.wallets.values_list("address", flat=True))
    form = StandingForm(request.GET if "app" in request.GET else None, wallets=wallets)
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
            context |= {
                "draft": draft,
                "message": draft.typed_data["message"],
                "signing": {
                    "typed_data": draft.typed_data,
                    "requirements": requirements,
                    "preferences": {"preset": form.cleaned_data["preset"]},
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
        chain_id=settings.CHAIN_ID, addresses=[order.asset for order in orders]
    )
    deals = standing.standing_deals_of(orders)
    for order in orders:
        order.app_listing = names.get(order.asset)
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
            context["market"] = matching.market_summary(seen.market)
    template = "orders/standing_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#live"
    return render(request, template, context)


@login_required
@require_POST
def standing_cancel(request: HttpRequest, digest: str) -> HttpResponse:
    """Take the request off the book: the matcher no longer matches it (it stays valid on
    chain until closed there, which its page offers next)."""
    order = _mine(request, digest)
    order_unpublish(order=order, user=request.user)
    return redirect(reverse("standing_detail", args=[order.digest]) + "?cancelled=1")
