from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.accounts.models import SiweNonce
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.accounts.helpers import ALICE, BOB


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_wallet_admin_searches_by_address_and_username(admin_client):
    WalletFactory(address=ALICE, user=UserFactory(username="alice"))
    WalletFactory(address=BOB, user=UserFactory(username="bob"))
    url = reverse("admin:wallets_wallet_changelist")

    by_address = admin_client.get(url, {"q": ALICE[:10]}).content.decode()
    by_username = admin_client.get(url, {"q": "bob"}).content.decode()

    assert ALICE in by_address
    assert BOB not in by_address
    assert BOB in by_username
    assert ALICE not in by_username


@pytest.mark.django_db
def test_admin_cannot_add_wallets_or_nonces_by_hand(admin_client):
    assert admin_client.get(reverse("admin:wallets_wallet_add")).status_code == 403
    assert admin_client.get(reverse("admin:wallets_siwenonce_add")).status_code == 403
    assert not SiweNonce.objects.exists()
