"""Trading pages; included at the site root before the catalogue's."""

from __future__ import annotations

from django.urls import path

from marketplace.orders import views

urlpatterns = [
    path("apps/<slug:slug>/buy/", views.app_buy, name="app_buy"),
    path("apps/<slug:slug>/market/", views.app_market, name="app_market"),
    path("pools/<slug:slug>/buy/", views.pool_buy, name="pool_buy"),
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
