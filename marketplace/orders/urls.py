"""Trading pages; included at the site root before the catalogue's."""

from __future__ import annotations

from django.urls import path

from marketplace.orders import views

urlpatterns = [
    path("apps/<slug:slug>/buy/", views.app_buy, name="app_buy"),
    path("inputs/<str:token>/<str:name>", views.input_file, name="input_file"),
    path("offers/<str:kind>/<slug:slug>/", views.listing_offers, name="listing_offers"),
    path(
        "offers/<str:kind>/<slug:slug>/register/", views.listing_register, name="listing_register"
    ),
    path(
        "offers/<str:kind>/<slug:slug>/registered/",
        views.listing_registered,
        name="listing_registered",
    ),
    path("offers/<str:kind>/<slug:slug>/sell/", views.listing_sell, name="listing_sell"),
]
