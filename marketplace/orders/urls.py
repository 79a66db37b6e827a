"""Trading pages; included at the site root before the catalogue's."""

from __future__ import annotations

from django.urls import path

from marketplace.orders import demand_views, price_views, views
from marketplace.orders.standing_views import (
    standing_cancel,
    standing_detail,
    standing_list,
    standing_new,
)

urlpatterns = [
    path("apps/<slug:slug>/buy/", views.app_buy, name="app_buy"),
    path("apps/<slug:slug>/market/", views.app_market, name="app_market"),
    path("pools/<slug:slug>/buy/", views.pool_buy, name="pool_buy"),
    path("pools/<slug:slug>/demand/", demand_views.pool_demand, name="pool_demand"),
    # The pool form's live check, new pool and edit (beside the form's own address).
    path(
        "pools/new/requirements-check/",
        demand_views.requirements_check,
        name="pool_requirements_check_new",
    ),
    path(
        "pools/<slug:slug>/edit/requirements-check/",
        demand_views.requirements_check,
        name="pool_requirements_check",
    ),
    path("market/", price_views.market_prices, name="market_prices"),
    path("requests/", standing_list, name="standing_list"),
    path("requests/new/", standing_new, name="standing_new"),
    path("requests/<str:digest>/", standing_detail, name="standing_detail"),
    path("requests/<str:digest>/cancel/", standing_cancel, name="standing_cancel"),
    path("inputs/<str:token>/<str:name>", views.input_file, name="input_file"),
    path("offers/<str:kind>/<slug:slug>/", views.listing_offers, name="listing_offers"),
    path(
        "offers/<str:kind>/<slug:slug>/register/",
        views.ListingRegisterApi.as_view(),
        name="listing_register",
    ),
    path(
        "offers/<str:kind>/<slug:slug>/registered/",
        views.ListingRegisteredApi.as_view(),
        name="listing_registered",
    ),
    path(
        "offers/<str:kind>/<slug:slug>/sell/", views.ListingSellApi.as_view(), name="listing_sell"
    ),
]
