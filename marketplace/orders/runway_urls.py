"""Included at "api/v1/wallets/": your wallets' funds and spending caps."""

from django.urls import path

from marketplace.orders.runway_api import SpendingCapUpdateApi, WalletRunwayListApi

urlpatterns = [
    path("", WalletRunwayListApi.as_view(), name="api_wallet_runway_list"),
    path("<str:address>/caps/", SpendingCapUpdateApi.as_view(), name="api_wallet_caps"),
]
