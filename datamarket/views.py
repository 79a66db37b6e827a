"""The dataset owner's Key releases page (/datasets/<slug>/keys/): who received the dataset's
key, for which task of which pool, and when; and the owner's conditions on who may."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from datamarket import services
from datamarket.forms import KeyPolicyForm
from marketplace.catalogue import selectors as catalogue_selectors
from marketplace.catalogue.models import Listing, Market
from marketplace.catalogue.services import CatalogueError
from marketplace.indexer.models import Asset
from marketplace.notfound import NotFound

RELEASES_PAGE = 50


def _owns(user, listing: Listing) -> bool:
    """Whoever owns the dataset on chain (as indexed: a user signed in with that wallet); the
    listing's provider before it is registered."""
    asset = Asset.objects.filter(chain_id=settings.CHAIN_ID, address=listing.chain_address).first()
    if asset is None:
        return listing.owner_id == user.pk
    return user.wallets.filter(address=asset.owner).exists()


@login_required
@require_http_methods(["GET", "POST"])
def dataset_keys(request: HttpRequest, slug: str) -> HttpResponse:
    listing = catalogue_selectors.listing_detail(kind=Market.DATASET, slug=slug)
    if listing is None or not _owns(request.user, listing):
        raise NotFound(
            "Only a dataset's owner sees who received its key: sign in with the wallet that "
            "owns it on chain."
        )
    dataset = listing.dataset
    if request.method == "POST":
        form = KeyPolicyForm(request.POST)
        if form.is_valid():
            try:
                services.key_policy_set(
                    dataset=dataset,
                    hand_admitted_only=form.cleaned_data["hand_admitted_only"],
                    min_score=form.cleaned_data["min_score"] or 0,
                )
            except CatalogueError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "Your conditions apply to the next key released.")
                return redirect("dataset_keys", slug=slug)
    else:
        form = KeyPolicyForm(
            initial={
                "hand_admitted_only": dataset.key_hand_admitted_only,
                "min_score": dataset.key_min_score,
            }
        )
    releases = Paginator(dataset.key_releases.all(), RELEASES_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "datamarket/keys.html",
        {"listing": listing, "dataset": dataset, "form": form, "releases": releases},
    )
