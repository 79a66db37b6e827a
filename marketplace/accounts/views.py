"""The linked-wallets page: each wallet's holdings, funds runway and spending caps. (Sign-In
with Ethereum's endpoints, which wallet.js calls, are JSON: marketplace.accounts.api.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from marketplace.accounts import services
from marketplace.orders import caps, wallet_funds

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@login_required
@require_GET
def wallet_list(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/wallets.html", wallet_funds.wallets_page(user=request.user))


@login_required
@require_POST
def wallet_unlink(request: HttpRequest, address: str) -> HttpResponse:
    try:
        services.wallet_unlink(user=request.user, address=address)
    except services.AccountError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"The wallet {address} is no longer linked to your account.")
    return redirect("wallet_list")


@login_required
@require_POST
def wallet_caps(request: HttpRequest, address: str) -> HttpResponse:
    """Set a linked wallet's spending caps from its form on the wallets page; htmx gets the
    wallet's funds panel back, a plain form the page."""
    wallet = request.user.wallets.filter(address__iexact=address).first()
    if wallet is None:
        raise caps.not_linked(address)
    address = wallet.address
    form = wallet_funds.SpendingCapForm(request.POST, prefix=address)
    status, saved = 400, ""
    if form.is_valid():
        try:
            cap = caps.spending_cap_set(user=request.user, address=address, **form.units())
        except caps.SpendingCapRefused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, str(refused))
            status = refused.status
        else:
            saved = (
                f"The spending caps of {address} are saved."
                if cap
                else f"{address} has no spending cap any more."
            )
    if saved and not request.htmx:
        messages.success(request, saved)
        return redirect("wallet_list")
    context = wallet_funds.wallets_page(
        user=request.user, bound=None if saved else (address, form), caps_saved=saved
    )
    if request.htmx:
        funds = next(f for f in context["funds"] if f.address == address)
        # Its errors are shown in the panel: htmx swaps only a success's answer.
        return render(request, "accounts/wallets.html#funds", {"item": funds, "caps_saved": saved})
    return render(request, "accounts/wallets.html", context, status=status)
