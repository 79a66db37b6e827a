"""The development chain's faucet, for signed-in users' own wallets.

The services (hence web3, most of a second to import) are imported inside the view: this module
is loaded with the URLconf by every process, most of which never touch the chain."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from marketplace.accounts.selectors import wallet_list
from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.errors import ChainError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest, HttpResponse

FAUCET_INTERVAL_SECONDS = 60


def _faucet_turn(user: AbstractBaseUser) -> int:
    """Take the user's faucet turn: 0 when taken, else the seconds until the next one."""
    key = f"chain:faucet:{user.pk}"
    next_turn = time.time() + FAUCET_INTERVAL_SECONDS
    if cache.add(key, next_turn, timeout=FAUCET_INTERVAL_SECONDS):
        return 0
    return max(1, round((cache.get(key) or next_turn) - time.time()))


def _give_back_faucet_turn(user: AbstractBaseUser) -> None:
    cache.delete(f"chain:faucet:{user.pk}")


@login_required
@require_POST
def faucet(request: HttpRequest) -> HttpResponse:
    """POST address=<one of the user's wallets>: 1,000 ECT and 1 ETH from the faucet.

    htmx gets the message partial of the wallets page; a plain form post gets it as a message
    on the wallets page. A user may drip once a minute; a failed drip does not count."""
    if settings.CHAIN_ID != DEV_CHAIN_ID:
        raise Http404("The faucet exists only on the development chain.")
    from marketplace.chain import services

    address = request.POST.get("address", "").strip()
    wallet = wallet_list(user=request.user).filter(address__iexact=address).first()
    level = "error"
    if not address:
        message = "Choose a wallet: the faucet sends only to one of your linked wallets."
    elif wallet is None:
        message = (
            f"{address} is not one of your linked wallets: the faucet sends only to a wallet "
            "linked on the Wallets page."
        )
    elif wait := _faucet_turn(request.user):
        message = f"You used the faucet less than a minute ago: try again in {wait} s."
    else:
        try:
            drip = services.faucet_drip(address=wallet.address)
        except ChainError as error:
            _give_back_faucet_turn(request.user)
            message = str(error)
        else:
            level, message = "success", str(drip)

    if request.htmx:
        response = render(
            request,
            "accounts/wallets.html#faucet-result",
            {"faucet_message": message, "faucet_level": level},
        )
        if level == "success":  # the wallets table reads the balances again
            response["HX-Trigger"] = "escrow:changed"
        return response
    getattr(messages, level)(request, message)
    return redirect("wallet_list")
