"""Included at "accounts/" before allauth's URLs."""

from __future__ import annotations

from django.urls import path

from marketplace.accounts import api, views

urlpatterns = [
    path("siwe/message/", api.SiweMessageCreateApi.as_view(), name="siwe_message"),
    path("siwe/verify/", api.SiweSignInApi.as_view(), name="siwe_verify"),
    path("wallets/", views.wallet_list, name="wallet_list"),
    path("wallets/<str:address>/unlink/", views.wallet_unlink, name="wallet_unlink"),
    path("wallets/<str:address>/caps/", views.wallet_caps, name="wallet_caps"),
]
