"""Included at "api/v1/": the price history and the depth of each market's assets
(prices/apps/<address>/, ...) and of each category market-wide (prices/market/?category=)."""

from __future__ import annotations

from django.urls import path

from marketplace.catalogue.markets import MARKETS
from marketplace.orders.price_api import MARKET, market_depth_api, price_history_api

_PATHS = {kind: f"{market.url_prefix}/<str:address>/" for kind, market in MARKETS.items()}
_PATHS[MARKET] = "market/"

urlpatterns = [
    pattern
    for kind, tail in _PATHS.items()
    for pattern in (
        path(f"prices/{tail}", price_history_api(kind).as_view(), name=f"api_{kind}_prices"),
        path(f"depth/{tail}", market_depth_api(kind).as_view(), name=f"api_{kind}_depth"),
    )
]
