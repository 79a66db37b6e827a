"""The linked-wallets page, and where the accounts' URLs are."""

from __future__ import annotations

import pytest
from django.urls import reverse

from marketplace.accounts.models import Wallet
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.accounts.helpers import ALICE, BOB


def test_urls_are_under_accounts():
    assert reverse("siwe_message") == "/accounts/siwe/message/"
    assert reverse("siwe_verify") == "/accounts/siwe/verify/"
    assert reverse("wallet_list") == "/accounts/wallets/"
    assert reverse("wallet_unlink", args=[ALICE]) == f"/accounts/wallets/{ALICE}/unlink/"


# Wallet page


@pytest.mark.django_db
def test_wallet_page_requires_sign_in(client):
    response = client.get(reverse("wallet_list"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_wallet_page_lists_only_the_users_wallets_with_remove_buttons(client):
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    WalletFactory(user=user, address=BOB)
    someone_else = WalletFactory()
    client.force_login(user)

    response = client.get(reverse("wallet_list"))

    assert response.status_code == 200
    assert response.templates[0].name == "accounts/wallets.html"
    html = response.content.decode()
    assert ALICE in html
    assert BOB in html
    assert someone_else.address not in html
    assert html.count('aria-label="Remove wallet ') == 2
    assert "data-siwe-signin" in html
    assert 'data-siwe-error role="alert"' in html


@pytest.mark.django_db
def test_wallet_page_offers_no_remove_button_for_the_only_way_to_sign_in(client):
    user = UserFactory(password=None)
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    html = client.get(reverse("wallet_list")).content.decode()

    assert 'aria-label="Remove wallet ' not in html
    assert "Your only way to sign in" in html


@pytest.mark.django_db
def test_unlink_removes_the_wallet_and_says_so(client):
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    response = client.post(reverse("wallet_unlink", args=[ALICE]), follow=True)

    assert response.redirect_chain == [(reverse("wallet_list"), 302)]
    assert not Wallet.objects.exists()
    assert f"The wallet {ALICE} is no longer linked to your account." in response.content.decode()


@pytest.mark.django_db
def test_unlink_of_the_last_way_to_sign_in_is_refused_with_the_reason(client):
    user = UserFactory(password=None)
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    response = client.post(reverse("wallet_unlink", args=[ALICE]), follow=True)

    assert response.redirect_chain == [(reverse("wallet_list"), 302)]
    assert list(Wallet.objects.values_list("address", flat=True)) == [ALICE]
    assert "is your only way to sign in" in response.content.decode()


@pytest.mark.django_db
def test_unlink_of_another_users_wallet_leaves_it(client):
    owner_wallet = WalletFactory(address=ALICE)
    client.force_login(UserFactory())

    client.post(reverse("wallet_unlink", args=[ALICE]))

    assert Wallet.objects.get() == owner_wallet


@pytest.mark.django_db
def test_unlink_refuses_get(client):
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    assert client.get(reverse("wallet_unlink", args=[ALICE])).status_code == 405
    assert Wallet.objects.count() == 1
