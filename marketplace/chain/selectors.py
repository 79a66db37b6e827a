"""Reads: which deployment of our contracts the site uses, its Hub (`current_hub`: the one way
code finds it), and what linked wallets hold.

web3 (a third of a second to import, measured) is imported inside the functions, once they know
they will talk to the node: views and template tags import this module in every process.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache

from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.chain.errors import (
    ChainError,
    ChainUnavailable,
    ContractMissing,
    ContractsNotDeployed,
)
from marketplace.chain.models import Deployment

if TYPE_CHECKING:
    from web3 import Web3

    from marketplace.chain.deploy import HubDeployment
    from marketplace.chain.hub import Hub

# What the chain says about a Hub never changes: its addresses are immutable in its code.
# Cached for a while only because a dev chain restarted without its state may lose them.
_READ_DEPLOYMENT_SECONDS = 600


def current_deployment() -> HubDeployment | None:
    """The deployment this site uses on settings.CHAIN_ID, None when there is none yet.

    settings.HUB_ADDRESS wins when set: its recorded Deployment if there is one, else the
    addresses read from the Hub itself (cached; raises ChainUnavailable when the node does not
    answer, DeploymentError when no Hub of ours is there). Otherwise the Deployment recorded
    last for the chain (one query, no call to the node)."""
    if settings.HUB_ADDRESS:
        return _configured_deployment(settings.HUB_ADDRESS)
    recorded = Deployment.objects.filter(chain_id=settings.CHAIN_ID).first()
    return recorded.as_hub_deployment() if recorded else None


def _configured_deployment(hub: str) -> HubDeployment:
    recorded = Deployment.objects.filter(chain_id=settings.CHAIN_ID, hub__iexact=hub).first()
    if recorded is not None:
        return recorded.as_hub_deployment()
    # The node's URL may hold an API key: hashed, it stays out of the cache's key space.
    node = hashlib.sha256(settings.WEB3_RPC_URL.encode()).hexdigest()[:16]
    key = f"chain:deployment:{settings.CHAIN_ID}:{node}:{hub.lower()}"
    deployment = cache.get(key)
    if deployment is None:
        # Loads web3 (half a second): paid only by the processes that talk to the node.
        from marketplace.chain import client, deploy

        deployment = deploy.read_deployment(client.web3(), hub)
        cache.set(key, deployment, timeout=_READ_DEPLOYMENT_SECONDS)
    return deployment


def current_hub() -> Hub:
    """The Hub of the deployment this site uses (`current_deployment`), through the configured
    node: the one way code finds the Hub.

    One Hub object per node and deployment, reused (it reads its token and registries once):
    the deployment is looked up on every call (one query), so a newly recorded or configured
    deployment gets its own Hub at once. `current_hub_clear()` forgets them all.

    Raises ContractsNotDeployed when the site has no deployment on settings.CHAIN_ID,
    ContractMissing when HUB_ADDRESS names no Hub of ours, ChainUnavailable when the node does
    not answer."""
    try:
        deployment = current_deployment()
    except ChainUnavailable:
        raise
    except (ChainError, ValueError) as error:  # HUB_ADDRESS names no Hub of ours
        raise ContractMissing(
            f"HUB_ADDRESS is {settings.HUB_ADDRESS!r}, which is not a Hub of ours on chain "
            f"{settings.CHAIN_ID} ({error}): set it to our Hub's address, or unset it."
        ) from error
    if deployment is None:
        raise ContractsNotDeployed(
            f"SuperEdge's contracts are not deployed on chain {settings.CHAIN_ID} yet: an "
            "operator deploys them with `manage.py deploy_contracts` (`make run` does)."
        )
    # Imported here: the client loads web3, which a process pays for only once it uses a Hub.
    from marketplace.chain import client

    return _hub(client.web3(), deployment)


def current_hub_clear() -> None:
    """Forget the Hubs `current_hub` made: the next call makes a new one (cheap)."""
    _hub.cache_clear()


@functools.lru_cache(maxsize=8)
def _hub(w3: Web3, deployment: HubDeployment) -> Hub:
    from marketplace.chain.hub import Hub  # loads web3: see current_hub

    return Hub(address=deployment.hub, w3=w3)


@dataclasses.dataclass(frozen=True)
class WalletHoldings:
    """What an address holds, in ECT: in its wallet, and in Hub escrow (free stake, locked)."""

    address: str
    ect: Decimal
    stake: Decimal
    locked: Decimal


@dataclasses.dataclass(frozen=True)
class WalletsOnChain:
    """Holdings by checksummed address, or, when they could not be read, `problem`: a few
    words for the page ("chain unreachable", ...)."""

    holdings: dict[str, WalletHoldings] = dataclasses.field(default_factory=dict)
    problem: str = ""

    def of(self, address: str) -> WalletHoldings | None:
        return self.holdings.get(address)


CHAIN_UNREACHABLE = "chain unreachable"
NOT_DEPLOYED = "contracts not deployed"


def wallets_on_chain(*, addresses: Iterable[str]) -> WalletsOnChain:
    """The ECT balance and Hub escrow account of each address, in one batch of calls.

    Never raises for the chain's sake: a node that does not answer, or contracts missing from
    it, come back as `problem` so that a page can still render."""
    addresses = list(addresses)
    try:
        hub = current_hub()
    except ChainUnavailable:
        return WalletsOnChain(problem=CHAIN_UNREACHABLE)
    except ChainError:  # no deployment, or HUB_ADDRESS names no Hub of ours
        return WalletsOnChain(problem=NOT_DEPLOYED)
    if not addresses:
        return WalletsOnChain()

    from web3.exceptions import Web3Exception  # loads web3: see the module's docstring

    try:
        token = hub.token
        with hub.w3.batch_requests() as batch:
            for address in addresses:
                batch.add(token.functions.balanceOf(address))
                batch.add(hub.contract.functions.viewAccount(address))
            answers = batch.execute()
    except ChainUnavailable:
        return WalletsOnChain(problem=CHAIN_UNREACHABLE)
    except (ChainError, Web3Exception):
        # No code at the recorded addresses (a dev chain restarted without its state), or
        # answers that do not decode: the recorded contracts are not there.
        return WalletsOnChain(problem=NOT_DEPLOYED)
    holdings = {}
    for index, address in enumerate(addresses):
        balance, (stake, locked) = answers[2 * index], answers[2 * index + 1]
        holdings[address] = WalletHoldings(
            address=address,
            ect=from_units(balance, decimals=ECT_DECIMALS),
            stake=from_units(stake, decimals=ECT_DECIMALS),
            locked=from_units(locked, decimals=ECT_DECIMALS),
        )
    return WalletsOnChain(holdings=holdings)
