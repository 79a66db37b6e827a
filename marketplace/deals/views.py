"""The deal page (public, as the chain is) and a signed-in user's deals."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from marketplace.accounts.selectors import wallet_list
from marketplace.catalogue.selectors import listing_visible_to
from marketplace.deals import progress, selectors
from marketplace.indexer.selectors import index_freshness

# How often the page of a deal sent but not indexed yet asks again (the dev chain mines a
# block per transaction and the indexer follows within a second).
POLL_SECONDS = 2
DEALS_PER_PAGE = 24


def _asset_lines(request: HttpRequest, deal, assets: dict) -> list[dict]:
    """What the deal bought, in order: role, address, the indexed asset (its name, from
    `assets`) and the page of its listing when the visitor may see one."""
    lines = []
    for role, address in (
        ("App", deal.app),
        ("Dataset", deal.dataset),
        ("Worker pool", deal.workerpool),
    ):
        asset = assets.get(address)
        listing = asset.listing if asset is not None else None
        visible = listing is not None and listing_visible_to(listing=listing, user=request.user)
        lines.append(
            {
                "role": role,
                "address": address,
                "asset": asset,
                "url": listing.get_absolute_url() if visible else "",
            }
        )
    return lines


def _in_my_deals(request: HttpRequest, deal) -> bool:
    """Whether `deal` is on the visitor's My deals page (deal_list): its requester or
    beneficiary is one of their linked wallets. Anyone else reads it as a stranger."""
    if deal is None or not request.user.is_authenticated:
        return False
    wallets = {wallet.address.lower() for wallet in wallet_list(user=request.user)}
    return deal.requester.lower() in wallets or deal.beneficiary.lower() in wallets


def deal_detail(request: HttpRequest, dealid: str) -> HttpResponse:
    key = selectors.bytes32_key(dealid)
    if key is None:
        return render(
            request,
            "frontend/error.html",
            {
                "title": "Not a deal id",
                "message": f"“{dealid[:80]}” is not a deal id: a deal id is 0x followed by 64 "
                "hexadecimal digits, as your wallet's matchOrders transaction returned it.",
            },
            status=400,
        )
    deal = selectors.deal_detail(dealid=key)
    context = {
        "dealid": key,
        "deal": deal,
        "freshness": index_freshness(),
        "in_my_deals": _in_my_deals(request, deal),
    }
    if deal is None:
        # Sent a moment ago, most likely: say whether the chain has it while the index catches up.
        context["on_chain"] = selectors.deal_on_chain(dealid=key)
        context["poll_seconds"] = POLL_SECONDS
    else:
        assets = selectors.assets_by_address(addresses=[deal.app, deal.dataset, deal.workerpool])
        params = selectors.deal_params(deal.params)
        context |= {
            "assets": _asset_lines(request, deal, assets),
            "params": params,
            "arguments": selectors.deal_arguments(
                args=params.args, dataset=assets.get(deal.dataset), viewer=request.user
            ),
            "total_price": deal.task_price * deal.volume,
            "unconfirmed": context["freshness"].is_unconfirmed(deal.block_number),
            "final_deadline": selectors.deal_final_deadline(deal),
            # Progress, tasks and timeline as the websocket sends them, for pages without it.
            "live": progress.snapshot_of(deal, dealid=key, viewer=request.user),
            "live_socket": progress.socket_path(key) + "?format=html",
        }
    template = "deals/deal_detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#deal"
    return render(request, template, context)


def task_detail(request: HttpRequest, dealid: str, idx: int) -> HttpResponse:
    """One task of a deal, followed live like the deal's page (its replicates, contributions,
    deadlines, result and timeline)."""
    key = selectors.bytes32_key(dealid)
    deal = selectors.deal_detail(dealid=key) if key is not None else None
    if deal is None or not deal.bot_first <= idx < deal.bot_first + deal.volume:
        what = (
            f"Deal {dealid[:80]} has no task {idx}: its tasks are numbered "
            f"{deal.bot_first} to {deal.bot_first + deal.volume - 1}."
            if deal is not None
            else f"No indexed deal {dealid[:80]}: open the deal's page, which waits for its block."
        )
        return render(
            request, "frontend/error.html", {"title": "No such task", "message": what}, status=404
        )
    live = progress.task_snapshot(progress.snapshot_of(deal, dealid=key, viewer=request.user), idx)
    context = {
        "dealid": key,
        "deal": deal,
        "idx": idx,
        "in_my_deals": _in_my_deals(request, deal),
        "live": live,
        "live_socket": progress.socket_path(key) + f"?format=html&task={idx}",
    }
    return render(request, "deals/task_detail.html", context)


@login_required
def deal_list(request: HttpRequest) -> HttpResponse:
    wallets = [wallet.address for wallet in wallet_list(user=request.user)]
    page = Paginator(selectors.deal_list_of_wallets(addresses=wallets), DEALS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    deals = list(page.object_list)
    assets = selectors.assets_by_address(
        addresses=[address for deal in deals for address in (deal.app, deal.workerpool)]
    )
    freshness = index_freshness()
    summaries = progress.deal_summaries(deals)
    return render(
        request,
        "deals/deal_list.html",
        {
            "wallets": set(wallets),
            "page": page,
            "rows": [
                {
                    "deal": deal,
                    "app": assets.get(deal.app),
                    "workerpool": assets.get(deal.workerpool),
                    "total_price": deal.task_price * deal.volume,
                    # A failed task's price went back to the payer (the Hub's claim or the
                    # pool's give-up), as the deal's page says.
                    "refunded": deal.task_price * deal.tasks_failed,
                    "unconfirmed": freshness.is_unconfirmed(deal.block_number),
                    **summaries[deal.dealid],
                }
                for deal in deals
            ],
            "freshness": freshness,
        },
    )
