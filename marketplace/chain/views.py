"""The development chain's faucet, for signed-in users' own wallets.

The services (hence web3, most of a second to import) are imported inside the view: this module
is loaded with the URLconf by every process, most of which never touch the chain."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from marketplace import ratelimit
from marketplace.accounts.selectors import wallet_list
from marketplace.chain.anvil import DEV_CHAIN_ID
from marketplace.chain.errors import ChainError, ChainUnavailable
from marketplace.clientip import client_ip
from marketplace.notfound import NotFound
from marketplace.orders import wallet_funds

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


def _faucet_limits(request: HttpRequest, address: str) -> tuple[ratelimit.Limit, ...]:
    """The faucet's turns: per user (new users drip at once), per wallet and per client
    address (new users and new wallets from one place share that one)."""
    return tuple(
        ratelimit.Limit(
            scope=f"faucet:{per}",
            ident=ident,
            rate=ratelimit.Rate.parse(getattr(settings, setting), setting=setting),
        )
        for per, ident, setting in (
            ("user", str(request.user.pk), "FAUCET_RATE_PER_USER"),
            ("wallet", address.lower(), "FAUCET_RATE_PER_WALLET"),
            ("ip", client_ip(request), "FAUCET_RATE_PER_IP"),
        )
    )


def _come_back(refused: ratelimit.Refused) -> str:
    rate, wait = refused.limit.rate, refused.wait_text
    if refused.limit.scope == "faucet:user":
        times = "" if rate.count == 1 else f" {rate.count} times"
        return f"You used the faucet{times} less than {rate.period} ago: try again in {wait}."
    if refused.limit.scope == "faucet:wallet":
        return f"This wallet got its share of the faucet ({rate}): come back in {wait}."
    return f"The faucet already sent its share to your network ({rate}): come back in {wait}."


@login_required
@require_POST
def faucet(request: HttpRequest) -> HttpResponse:
    """POST address=<one of the user's wallets>: 1,000 ECT and 1 ETH from the faucet.

    htmx gets the message partial of the wallets page; a plain form post gets it as a message
    on the wallets page: after a drip, by a redirect to it; a refusal, in the wallets page
    answered at once with the refusal's status (nothing sent). Drips are limited per user
    (once a minute), per wallet and per client address (FAUCET_RATE_PER_*); a failed drip
    does not count."""
    if settings.CHAIN_ID != DEV_CHAIN_ID:
        raise NotFound("The faucet exists only on the development chain.")
    # Loads web3 (half a second): paid only by the processes that talk to the node.
    from marketplace.chain import services

    address = request.POST.get("address", "").strip()
    wallet = wallet_list(user=request.user).filter(address__iexact=address).first()
    level, status = "error", 400
    if not address:
        message = "Choose a wallet: the faucet sends only to one of your linked wallets."
    elif wallet is None:
        message = (
            f"{address} is not one of your linked wallets: the faucet sends only to a wallet "
            "linked on the Wallets page."
        )
    elif refused := ratelimit.take(*_faucet_limits(request, wallet.address)):
        message, status = _come_back(refused), 429
    else:
        try:
            drip = services.faucet_drip(address=wallet.address)
        except ChainError as error:
            ratelimit.give_back(*_faucet_limits(request, wallet.address))
            message = str(error)
            status = 503 if isinstance(error, ChainUnavailable) else 400
        else:
            level, message = "success", str(drip)

    if request.htmx:
        response = render(
            request,
            "accounts/wallets.html#faucet-result",
            {"faucet_message": message, "faucet_level": level},
        )
        if level == "success":  # the wallets table and the wallet's escrow panel read again
            response["HX-Trigger"] = json.dumps({"escrow:changed": {"address": wallet.address}})
        return response
    getattr(messages, level)(request, message)
    if level == "success":
        return redirect("wallet_list")
    context = wallet_funds.wallets_page(user=request.user)
    return render(request, "accounts/wallets.html", context, status=status)
