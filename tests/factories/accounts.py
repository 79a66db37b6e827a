from __future__ import annotations

import datetime
import hashlib
import secrets

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from eth_account import Account
from rest_framework.test import APIClient

from marketplace.accounts.models import ApiToken, Wallet


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class WalletFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wallet

    user = factory.SubFactory(UserFactory)
    address = factory.LazyFunction(lambda: Account.create().address)


def token_client(address: str, *, user=None) -> APIClient:
    """An API client sending a live wallet token of `address` (as /api/v1/auth/token/ issues
    them), for `user`, whose wallet it is, or for the user whose wallet it is already, or for a
    new user with that wallet."""
    if user is None:
        wallet = Wallet.objects.filter(address=address).first()
        user = (wallet or WalletFactory(address=address)).user
    secret = "se_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user,
        wallet_address=address,
        key_hash=hashlib.sha256(secret.encode()).hexdigest(),
        expires_at=timezone.now() + datetime.timedelta(hours=1),
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client
