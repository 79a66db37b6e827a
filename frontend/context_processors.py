from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse

from marketplace.catalogue.markets import MARKETS
from marketplace.chain.errors import ChainError
from marketplace.chain.selectors import current_deployment
from marketplace.notifications.selectors import unread_count

# Names a wallet shows for the chains this site may run on (wallet_addEthereumChain).
CHAIN_NAMES = {
    1: "Ethereum",
    10: "OP Mainnet",
    8453: "Base",
    42161: "Arbitrum One",
    84532: "Base Sepolia",
    11155111: "Sepolia",
    31337: "SuperEdge dev chain",
}
# The deployment's addresses change only when contracts are deployed: a minute of staleness
# spares a query per page. Not found is retried sooner, as deploying is what comes next.
_DEPLOYMENT_SECONDS = 60
_NO_DEPLOYMENT_SECONDS = 5


def site(request: HttpRequest) -> dict:
    return {"site_name": "SuperEdge", "nav_markets": MARKETS.values(), "chain_config": chain_config}


def notifications(request: HttpRequest) -> dict:
    """The bell's unread count for a signed-in user, as a callable: counted only by a page that
    shows it, once per request."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notification_unread": functools.cache(lambda: unread_count(user=user))}


def public_rpc_url() -> str:
    """The RPC URL a browser wallet may be told about: WEB3_PUBLIC_RPC_URL, else WEB3_RPC_URL
    unless that one may hold a secret (credentials, a path or a query: hosted nodes put their API
    key there), else "" (the user adds the network by hand)."""
    if settings.WEB3_PUBLIC_RPC_URL:
        return settings.WEB3_PUBLIC_RPC_URL
    parts = urlsplit(settings.WEB3_RPC_URL)
    if parts.username or parts.password or parts.query or parts.path.strip("/"):
        return ""
    return settings.WEB3_RPC_URL


def _deployment_addresses() -> dict[str, str | None]:
    """{"hub", "token"} of the current deployment (None: none), cached."""
    key = f"frontend:chain-deployment:{settings.CHAIN_ID}:{settings.HUB_ADDRESS.lower()}"
    addresses = cache.get(key)
    if addresses is None:
        try:
            deployment = current_deployment()
        except (ChainError, ValueError):  # HUB_ADDRESS set and the node down, or no Hub there
            deployment = None
        addresses = {
            "hub": deployment.hub if deployment else None,
            "token": deployment.token if deployment else None,
        }
        timeout = _DEPLOYMENT_SECONDS if deployment else _NO_DEPLOYMENT_SECONDS
        cache.set(key, addresses, timeout=timeout)
    return addresses


def chain_config() -> dict[str, Any]:
    """What wallet.js needs of the chain (rendered by base.html as the JSON of #chain-config).
    A callable in the context: computed only by the pages that render it, without a call to
    the node (the deployment is one cached query)."""
    chain_id = settings.CHAIN_ID
    return {
        "chainId": chain_id,
        "chainIdHex": hex(chain_id),
        "chainName": CHAIN_NAMES.get(chain_id, f"Chain {chain_id}"),
        "rpcUrl": public_rpc_url(),
        "nativeCurrency": {"name": "Ether", "symbol": "ETH", "decimals": 18},
        **_deployment_addresses(),
        "currency": {"symbol": "ECT", "decimals": 9},
        "escrowApi": reverse("api_escrow_deposit").removesuffix("deposit/"),
    }
