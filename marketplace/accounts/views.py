"""Sign-In with Ethereum endpoints (JSON, called by wallet.js) and the linked-wallets page."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from marketplace import ratelimit
from marketplace.accounts import selectors, services
from marketplace.accounts.siwe import SiweError
from marketplace.clientip import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


class _InvalidBody(Exception):
    pass


_TYPE_NAMES = {str: "a string", int: "an integer"}
# A SIWE message and its signature fit in well under 4 KB; refusing larger bodies before
# parsing keeps hostile JSON (deep nesting, huge strings) away from the parser.
MAX_BODY_BYTES = 8 * 1024
NONCES_PER_MINUTE = 30


def _json_body(request: HttpRequest, fields: dict[str, type]) -> dict[str, Any]:
    """The request's JSON object, with each of `fields` present and of the given type."""
    shape = ", ".join(f'"{name}"' for name in fields)
    if len(request.body) > MAX_BODY_BYTES:
        raise _InvalidBody(f"The request body is over {MAX_BODY_BYTES} bytes: send only {shape}.")
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise _InvalidBody(f"The request body must be a JSON object with {shape}.")
    missing = [name for name in fields if body.get(name) in (None, "")]
    if missing:
        raise _InvalidBody(f"Missing field {', '.join(missing)}: send a JSON object with {shape}.")
    for name, kind in fields.items():
        if not isinstance(body[name], kind) or isinstance(body[name], bool):
            raise _InvalidBody(f"The field {name} must be {_TYPE_NAMES[kind]}.")
    return body


def _siwe_site(request: HttpRequest) -> dict[str, str]:
    return {
        "domain": settings.SIWE_DOMAIN or request.get_host(),
        "uri": request.build_absolute_uri("/"),
    }


def _too_many_nonces(request: HttpRequest) -> bool:
    """Each message stores a nonce: at most NONCES_PER_MINUTE per client address."""
    rate = ratelimit.Rate(count=NONCES_PER_MINUTE, seconds=60)
    limit = ratelimit.Limit(scope="siwe:nonce:ip", ident=client_ip(request), rate=rate)
    return ratelimit.take(limit) is not None


def _error(error: Exception) -> JsonResponse:
    return JsonResponse({"error": str(error)}, status=400)


@require_POST
def siwe_message(request: HttpRequest) -> JsonResponse:
    """{address, chainId} → {message}: the EIP-4361 text for the wallet to sign."""
    if _too_many_nonces(request):
        return JsonResponse(
            {"error": "Too many sign-in attempts from here: wait a minute and try again."},
            status=429,
        )
    try:
        body = _json_body(request, {"address": str, "chainId": int})
        message = services.siwe_message_build(
            address=body["address"], chain_id=body["chainId"], **_siwe_site(request)
        )
    except (_InvalidBody, SiweError) as error:
        return _error(error)
    return JsonResponse({"message": message})


@require_POST
def siwe_verify(request: HttpRequest) -> JsonResponse:
    """{message, signature[, next]} → {ok, address, redirect}, signed in; or 400 {error}."""
    try:
        body = _json_body(request, {"message": str, "signature": str})
        user, wallet, _created = services.siwe_sign_in(
            message=body["message"],
            signature=body["signature"],
            current_user=request.user,
            **_siwe_site(request),
        )
    except (_InvalidBody, SiweError) as error:
        return _error(error)

    linking = request.user.is_authenticated
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    next_url = body.get("next")
    if not (
        isinstance(next_url, str)
        and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        next_url = reverse("wallet_list") if linking else resolve_url(settings.LOGIN_REDIRECT_URL)
    return JsonResponse({"ok": True, "address": wallet.address, "redirect": next_url})


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
