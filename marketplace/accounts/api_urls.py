"""Included at "api/v1/auth/": bearer tokens for scripts, by a wallet-signed challenge."""

from __future__ import annotations

from django.urls import path

from marketplace.accounts.api import ApiTokenApi, CurrentUserDetailApi, SiweChallengeCreateApi

urlpatterns = [
    path("challenge/", SiweChallengeCreateApi.as_view(), name="api_auth_challenge"),
    path("token/", ApiTokenApi.as_view(), name="api_auth_token"),
    path("me/", CurrentUserDetailApi.as_view(), name="api_auth_me"),
]
