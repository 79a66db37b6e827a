"""The linked-wallets page. (Sign-In with Ethereum's endpoints, which wallet.js calls, are JSON:
marketplace.accounts.api.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from marketplace.accounts import selectors, services

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@login_required
@require_GET
def wallet_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/wallets.html",
        {
            "wallets": selectors.wallet_list(user=request.user),
            "can_sign_in_without_wallet": selectors.user_can_sign_in_without_wallet(
                user=request.user
            ),
        },
    )


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
