"""The versioned JSON API, included at "api/v1/". Each part of the site keeps its endpoints in
its own `api_urls` module; the schema (/api/schema/) and the docs (/api/docs/) cover them all."""

from django.urls import include, path

from marketplace.orders.api import MarketExplainApi

urlpatterns = [
    # Why a request finds no pool, and the ranking of those it finds (the orders' market).
    path("market/explain/", MarketExplainApi.as_view(), name="api_market_explain"),
    # Price history (indexed deals) and depth (the order book) of an asset or a category.
    path("", include("marketplace.orders.price_api_urls")),
    path("auth/", include("marketplace.accounts.api_urls")),
    path("escrow/", include("marketplace.chain.api_urls")),
    path("orders/", include("marketplace.orders.api_urls")),
    path("wallets/", include("marketplace.orders.runway_urls")),
    path("workers/", include("pools.api_urls")),
    path("", include("marketplace.catalogue.api_v1_urls")),
    path("", include("marketplace.deals.api_urls")),
]
