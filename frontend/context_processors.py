from __future__ import annotations

from django.http import HttpRequest

from marketplace.catalogue.markets import MARKETS


def site(request: HttpRequest) -> dict:
    return {"site_name": "SuperEdge", "nav_markets": MARKETS.values()}
