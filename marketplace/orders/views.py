"""Trading pages: a listing's offers (and its owner's register and sell tools), and the buy
page of an app. The wallet does the signing and sending (frontend/static/frontend/js/wallet.js);
these views build what it signs and sends, and say in words what is wrong.

web3 is imported inside the functions that talk to the node: this module loads with the
URLconf in every process."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_GET, require_POST

from marketplace.catalogue import selectors as catalogue_selectors
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.registration import (
    RegistrationRefused,
    listing_mark_registered,
    listing_register_transaction,
)
from marketplace.chain.errors import ChainError
from marketplace.deals.models import Category
from marketplace.downloads import download
from marketplace.notfound import NotFound
from marketplace.orders import selectors
from marketplace.orders.forms import SellForm
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.parsing import TRUST_MAX, OrderError
from worker.command_line import task_command_line


def _listing(request: HttpRequest, kind: str, slug: str) -> Listing:
    listing = catalogue_selectors.listing_detail(kind=kind, slug=slug)
    if listing is None or not catalogue_selectors.listing_visible_to(
        listing=listing, user=request.user
    ):
        raise NotFound("No such listing, or it is not published.")
    return listing


def _owns(request: HttpRequest, listing: Listing) -> bool:
    return request.user.is_authenticated and request.user.pk == listing.owner_id


def _hub():
    from marketplace.chain.hub import Hub
    from marketplace.orders.services import book_domain

    return Hub(address=book_domain().verifying_contract)


def _error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _json(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _linked(request: HttpRequest, address: Any) -> str | None:
    wallet = request.user.wallets.filter(address__iexact=str(address)).first()
    return wallet.address if wallet else None


@require_GET
def listing_offers(request: HttpRequest, kind: str, slug: str) -> HttpResponse:
    """The offers panel of a listing page (loaded by htmx: the page itself is cached)."""
    listing = _listing(request, kind, slug)
    orders = Order.objects.none()
    mine = Order.objects.none()
    if listing.chain_address:
        orders = Order.objects.filter(
            chain_id=settings.CHAIN_ID, asset=listing.chain_address, status=OrderStatus.OPEN
        ).exclude(kind="request")[:20]
    owner = _owns(request, listing)
    if owner and listing.chain_address:
        mine = Order.objects.filter(
            chain_id=settings.CHAIN_ID, asset=listing.chain_address, signer=listing.owner_wallet
        ).exclude(status=OrderStatus.OPEN)[:20]
    names = {c.catid: c.name for c in Category.objects.filter(chain_id=settings.CHAIN_ID)}
    orders = list(orders)
    # An offer kept for one app names it (its listing, when public here).
    restricted_to = {
        app.chain_address: app
        for app in Listing.objects.filter(
            kind=Market.APP,
            is_public=True,
            chain_address__in={order.app_restrict for order in orders if order.app_restrict},
        )
    }
    for order in orders:
        order.category_name = names.get(order.category, order.category)
        order.app_listing = restricted_to.get(order.app_restrict)
    # A dataset is bought with an app it allows: the buy page of each, starting with it.
    buy_with = []
    if listing.kind == Market.DATASET and listing.chain_address:
        buy_with = list(
            Listing.objects.filter(
                kind=Market.APP, is_public=True, app__in=listing.dataset.allowed_apps.all()
            )
            .exclude(chain_address="")
            .order_by("name")
        )
    context = {
        "listing": listing,
        "buy_with": buy_with,
        "orders": orders,
        "mine": mine,
        "is_owner": owner,
        "sell_form": SellForm(listing=listing) if owner and listing.chain_address else None,
        "can_register": owner and listing.is_public and not listing.chain_address,
    }
    return render(request, "orders/offers.html", context)


@login_required
@require_POST
def listing_register(request: HttpRequest, kind: str, slug: str) -> JsonResponse:
    """{"sender"} → the registry transaction for the owner's wallet, and the asset's address."""
    listing = _listing(request, kind, slug)
    if not _owns(request, listing):
        return _error("Only the listing's provider registers it on chain.", 403)
    sender = _linked(request, _json(request).get("sender"))
    if sender is None:
        return _error("Send it from one of your linked wallets: connect that wallet first.", 403)
    try:
        return JsonResponse(
            listing_register_transaction(listing=listing, sender=sender, hub=_hub())
        )
    except (ChainError, OrderError) as error:
        return _error(str(error))


@login_required
@require_POST
def listing_registered(request: HttpRequest, kind: str, slug: str) -> JsonResponse:
    """Link the listing to its asset once the registration is mined."""
    listing = _listing(request, kind, slug)
    if not _owns(request, listing):
        return _error("Only the listing's provider registers it on chain.", 403)
    try:
        address = listing_mark_registered(listing=listing, hub=_hub())
    except (RegistrationRefused, ChainError, OrderError) as error:
        return _error(str(error))
    return JsonResponse({"address": address})


@login_required
@require_POST
def listing_sell(request: HttpRequest, kind: str, slug: str) -> JsonResponse:
    """The sell form → the typed data of each order to sign (the wallet signs them, then they
    are published through /api/v1/orders/publish/)."""
    listing = _listing(request, kind, slug)
    if not _owns(request, listing):
        return _error("Only the listing's provider sells it.", 403)
    form = SellForm(request.POST, listing=listing)
    if not form.is_valid():
        field, problems = next(iter(form.errors.items()))
        label = form.fields[field].label if field in form.fields else ""
        return JsonResponse(
            {"error": f"{label}: {problems[0]}" if label else problems[0], "field": field},
            status=400,
        )
    try:
        return JsonResponse({"kind": form.order_kind, "orders": form.typed_data()})
    except OrderError as error:
        return _error(str(error), error.status)


@require_GET
def input_file(request: HttpRequest, token: str, name: str) -> FileResponse:
    """A task's input file, as a download: never rendered on the site's origin (an uploaded
    .html or .svg would otherwise run as the site's own page)."""
    path = f"inputs/{token}/{name}"
    if not token.isalnum() or name != get_valid_filename(name) or not default_storage.exists(path):
        raise NotFound("No such input file.")
    response = download(
        request, default_storage.open(path), filename=name, content_type="application/octet-stream"
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_GET
def app_buy(request: HttpRequest, slug: str) -> HttpResponse:
    """The buy page of an app: the wallet flow runs in wallet.js against the orders API.
    Nothing is preselected that cannot work: an app that needs a dataset is offered its
    datasets only (the one of its cheapest run chosen, as its card shows), never "No dataset"."""
    listing = _listing(request, Market.APP, slug)
    app = listing.app
    datasets = list(
        Listing.objects.filter(dataset__allowed_apps=app, is_public=True)
        .exclude(chain_address="")
        .select_related("dataset")
        .order_by("name")
    )
    chosen = None
    if datasets and app.needs_dataset:
        # The dataset of the cheapest run the app's card shows, else the first by name.
        run = selectors.cheapest_runs(chain_id=settings.CHAIN_ID, listings=[listing])[listing.pk]
        cheapest = run.dataset.pk if run is not None and run.dataset is not None else None
        chosen = next((d for d in datasets if d.pk == cheapest), datasets[0])
    # A dataset's page sends its buyers here with it (?dataset=its address): it is chosen.
    asked = request.GET.get("dataset", "")
    chosen = next((d for d in datasets if asked and d.chain_address == asked), chosen)
    pools = list(
        Listing.objects.filter(kind=Market.POOL, is_public=True)
        .exclude(chain_address="")
        .order_by("name")
    )
    wallets = list(request.user.wallets.all())
    # Only categories a pool sells (to anyone, or to one of the buyer's wallets) are offered;
    # with a pool chosen, only that pool's.
    on_offer = selectors.categories_on_offer(
        chain_id=settings.CHAIN_ID,
        workerpools=[pool.chain_address for pool in pools],
        requesters=[wallet.address for wallet in wallets],
    )
    for pool in pools:
        pool.categories_on_offer = " ".join(map(str, on_offer.get(pool.chain_address, [])))
    sold = {category for categories in on_offer.values() for category in categories}
    categories = [
        category
        for category in Category.objects.filter(chain_id=settings.CHAIN_ID).order_by("catid")
        if category.catid in sold
    ]
    context = {
        "listing": listing,
        "datasets": datasets,
        "chosen_dataset": chosen,
        "pools": pools,
        "categories": categories,
        "wallets": wallets,
        "default_trust": selectors.DEFAULT_TRUST,
        "trust_max": TRUST_MAX,
        "default_args": app.default_args,
        "needs_dataset": app.needs_dataset,
        "command_line": task_command_line(
            app.default_args, dataset_file=chosen.dataset.task_file_name if chosen else None
        ),
    }
    return render(request, "orders/buy.html", context)
