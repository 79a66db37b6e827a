"""The pool operator's view of demand: the pool form's live check of its Requirements against
the latest requests (pools/<slug>/edit/requirements-check/, and pools/new/... for a draft), and
the pool's Demand page (pools/<slug>/demand/): what its Requirements match, and the open
standing requests it could serve and those it refuses, why."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from marketplace import errors
from marketplace.catalogue import selectors as catalogue_selectors
from marketplace.catalogue.models import Listing, Market
from marketplace.matchmaking.classads import ExpressionRefused
from marketplace.orders import demand
from marketplace.orders.selectors import category_names
from pools import services
from pools.forms import RequirementsCheckForm

# What recent requests asked is the buyers' business: only people who run a pool see it in
# numbers (an expression can single out one buyer's requests, so this is not for anyone).


def _owned_pool(request: HttpRequest, slug: str) -> Listing:
    listing = catalogue_selectors.listing_detail(kind=Market.POOL, slug=slug)
    if listing is None:
        raise errors.NotFound("No such pool.")
    if listing.owner_id != request.user.pk:
        raise errors.Forbidden(
            "Only the pool's owner sees the demand it could serve: sign in with the account "
            "that listed it."
        )
    return listing


@require_POST
def requirements_check(request: HttpRequest, slug: str = "") -> HttpResponse:
    """The pool form's Requirements against the latest requests, as a fragment for the form
    (htmx). Its owner editing a pool, or a user who owns a pool listing drafting a new one, sees
    how many they match; any other signed-in user only whether the expression reads."""
    if not request.user.is_authenticated:
        raise errors.Forbidden("Sign in to check Requirements against recent requests.")
    listing = _owned_pool(request, slug) if slug else None
    form = RequirementsCheckForm(request.POST)
    form.is_valid()  # an attribute not valid yet is left out of the ad; the form says so on save
    context: dict = {"requirements": form.cleaned_data.get("requirements", "")}
    if "requirements" in form.errors:
        context["error"] = form.errors["requirements"][0]
    elif (
        listing is None
        and not catalogue_selectors.my_listings(user=request.user).filter(kind=Market.POOL).exists()
    ):
        context["reads_only"] = True
    else:
        context["check"] = demand.demand_check(
            chain_id=settings.CHAIN_ID,
            workerpool=listing.chain_address if listing and listing.chain_address else None,
            attributes=form.attributes(),
            requirements_text=context["requirements"],
        )
    return render(request, "pools/_demand_check.html", context)


@login_required
@require_GET
def pool_demand(request: HttpRequest, slug: str) -> HttpResponse:
    """The pool's Demand page, for its owner: what its stored Requirements match of the latest
    requests, and the open standing requests it could serve now and those it cannot, why."""
    listing = _owned_pool(request, slug)
    pool = listing.workerpool
    address = listing.chain_address
    context: dict = {"listing": listing, "requirements": pool.requirements, "rank": pool.rank}
    try:
        context["check"] = demand.demand_check(
            chain_id=settings.CHAIN_ID,
            workerpool=address or None,
            attributes={name: getattr(pool, name) for name in services.POOL_ATTRIBUTES},
            requirements_text=pool.requirements,
        )
    except ExpressionRefused as refused:
        context["error"] = str(refused)
    if address:
        lines = demand.pool_demand(chain_id=settings.CHAIN_ID, workerpool=address)
        names = category_names(chain_id=settings.CHAIN_ID)
        rows = [(line, names.get(line.order.category, line.order.category)) for line in lines]
        context["servable"] = [row for row in rows if row[0].servable]
        context["rejected"] = [row for row in rows if not row[0].servable]
    return render(request, "pools/demand.html", context)
