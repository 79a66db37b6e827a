"""`{% load chain %}`: the development chain flag and wallets' holdings on chain.

Template tag libraries are imported when the template engine starts, in every process: the
chain calls (web3) are imported by the selectors only when a tag runs."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.conf import settings

from marketplace.chain import selectors
from marketplace.chain.amounts import format_amount
from marketplace.chain.anvil import DEV_CHAIN_ID

register = template.Library()


@register.simple_tag
def dev_chain() -> bool:
    """Whether the site runs on the development chain (where the faucet is)."""
    return settings.CHAIN_ID == DEV_CHAIN_ID


@register.simple_tag
def wallets_on_chain(wallets: Iterable) -> selectors.WalletsOnChain:
    """`{% wallets_on_chain wallets as onchain %}`: the holdings of the wallets (objects with an
    `address`), read in one batch; never fails for the chain's sake (see `onchain.problem`)."""
    return selectors.wallets_on_chain(addresses=[wallet.address for wallet in wallets])


@register.inclusion_tag("chain/_holdings_cells.html")
def holdings_cells(onchain: selectors.WalletsOnChain, address: str) -> dict:
    """The two table cells of a wallet: its ECT balance, and its Hub escrow (stake, locked)."""
    return {"holdings": onchain.of(address), "problem": onchain.problem}


@register.filter
def amount(value) -> str:
    """1000 → "1,000"; 0.250000000 → "0.25"."""
    return format_amount(value)
