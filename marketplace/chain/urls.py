"""Included at "chain/"."""

from __future__ import annotations

from django.urls import path

from marketplace.chain import views

urlpatterns = [
    path("faucet/", views.faucet, name="chain_faucet"),
]
