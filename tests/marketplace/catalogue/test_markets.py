"""The market registry: one adapter per market, in the order the site shows them."""

from __future__ import annotations

from django.urls import reverse

from marketplace.catalogue.markets import MARKET_ADAPTERS, MARKETS, MarketAdapter, MarketRegistry
from marketplace.catalogue.models import Market


class ToolMarket(MarketAdapter):
    """A fourth market, as an app of its own would define it."""

    kind = "tool"
    plural = "Tools"
    noun = "tool"


def test_every_market_has_its_adapter_in_the_order_the_site_shows_them():
    assert list(MARKETS) == [Market.APP, Market.DATASET, Market.POOL]
    for kind, market in MARKETS.items():
        assert market.kind == kind
        assert reverse(f"{kind}_list") == f"/{market.url_prefix}/"


def test_a_market_is_added_by_one_line_of_the_registry():
    registry = MarketRegistry((*MARKET_ADAPTERS, f"{__name__}.ToolMarket"))

    assert list(registry) == [Market.APP, Market.DATASET, Market.POOL, "tool"]
    assert isinstance(registry["tool"], ToolMarket)
    assert registry["app"] is not MARKETS["app"]  # each registry makes its own adapters


def test_only_markets_in_the_registry_are_known():
    assert MARKETS.get("tool") is None
    assert "pool" in MARKETS
