"""The catalogue's endpoints under /api/v1/: each market's listings, one of them, and its
reviews."""

from django.urls import path

from marketplace.catalogue import api_v1
from marketplace.catalogue.markets import MARKETS

urlpatterns = [
    pattern
    for kind, market in MARKETS.items()
    for pattern in (
        path(
            f"{market.url_prefix}/", api_v1.list_api(market).as_view(), name=f"api_v1_{kind}_list"
        ),
        path(
            f"{market.url_prefix}/<slug:slug>/",
            api_v1.detail_api(market).as_view(),
            name=f"api_v1_{kind}_detail",
        ),
        path(
            f"{market.url_prefix}/<slug:slug>/reviews/",
            api_v1.reviews_api(market).as_view(),
            name=f"api_v1_{kind}_reviews",
        ),
    )
]
