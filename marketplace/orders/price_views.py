"""The market overview page (/market/): the pools' prices of every category, and the price
history and depth of one of them, drawn on the server."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from marketplace.indexer.selectors import index_freshness
from marketplace.orders.price_charts import market_overview


def market_prices(request: HttpRequest) -> HttpResponse:
    overview = market_overview(
        query=request.GET, path=request.path, chain_id=settings.CHAIN_ID, now=timezone.now()
    )
    context = {"overview": overview, "charts": overview.charts, "freshness": index_freshness()}
    return render(request, "orders/market_prices.html", context)
