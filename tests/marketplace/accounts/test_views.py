"""The linked-wallets page, and where the accounts' URLs are."""

from __future__ import annotations

import datetime
import html

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.accounts.models import Wallet
from marketplace.orders.models import SpendingCap
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.deals import DealFactory
from tests.factories.funds import EscrowAccountFactory, SpendingCapFactory
from tests.marketplace.accounts.helpers import ALICE, BOB


def test_urls_are_under_accounts():
    assert reverse("siwe_message") == "/accounts/siwe/message/"
    assert reverse("siwe_verify") == "/accounts/siwe/verify/"
    assert reverse("wallet_list") == "/accounts/wallets/"
    assert reverse("wallet_unlink", args=[ALICE]) == f"/accounts/wallets/{ALICE}/unlink/"
    assert reverse("wallet_caps", args=[ALICE]) == f"/accounts/wallets/{ALICE}/caps/"


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


# Runway and spending caps

ECT = 10**9


@pytest.mark.django_db
def test_wallet_page_shows_each_wallets_runway_and_caps(client):
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    bob = WalletFactory(user=user, address=BOB)
    EscrowAccountFactory(address=ALICE, stake=3 * ECT // 2, locked=2 * ECT)
    DealFactory(
        payer=ALICE,
        start_time=timezone.now() - datetime.timedelta(days=2),
        app_price=7 * ECT // 10,
        workerpool_price=0,
        volume=5,
    )
    SpendingCapFactory(wallet=bob, daily=10 * ECT, per_deal=3 * ECT // 2)
    client.force_login(user)

    page = html.unescape(client.get(reverse("wallet_list")).content.decode())

    alice = page[page.index(f'id="funds-{ALICE}"') : page.index(f'id="funds-{BOB}"')]
    assert '<dt>Escrow, free</dt><dd class="num">1.5 ECT</dd>' in alice
    assert '<dt>Escrow, locked</dt><dd class="num">2 ECT</dd>' in alice
    assert "<dt>Lasts</dt><dd>~3 days</dd>" in alice
    assert (
        "<p data-runway>You spend about 0.5 ECT a day (3.5 ECT on deals in the last 7 days). At "
        "this rate your escrow lasts ~3 days.</p>" in alice
    )
    assert "<p data-caps>No spending cap.</p>" in alice
    caps_url = f"/accounts/wallets/{ALICE}/caps/"
    assert f'action="{caps_url}" hx-post="{caps_url}" hx-target="#funds-{ALICE}"' in alice
    bob_part = page[page.index(f'id="funds-{BOB}"') :]
    assert "<p data-caps>Capped at 1.5 ECT per deal and 10 ECT a day.</p>" in bob_part
    assert f'name="{BOB}-daily" value="10"' in bob_part
    assert f'name="{BOB}-per_deal" value="1.5"' in bob_part


@pytest.mark.django_db
def test_caps_sent_from_the_page_are_saved_and_said(client):
    user = UserFactory()
    wallet = WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    response = client.post(
        reverse("wallet_caps", args=[ALICE.lower()]),
        {f"{ALICE}-daily": "10", f"{ALICE}-per_deal": "1.5"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("wallet_list")
    cap = SpendingCap.objects.get(wallet=wallet)
    assert (int(cap.daily), int(cap.per_deal)) == (10 * ECT, 3 * ECT // 2)
    page = client.get(reverse("wallet_list")).content.decode()
    assert f"The spending caps of {ALICE} are saved." in page


@pytest.mark.django_db
def test_caps_sent_by_htmx_get_the_wallets_panel_back(client):
    user = UserFactory()
    wallet = WalletFactory(user=user, address=ALICE)
    SpendingCapFactory(wallet=wallet, per_deal=ECT)
    client.force_login(user)

    response = client.post(
        reverse("wallet_caps", args=[ALICE]),
        {f"{ALICE}-daily": "", f"{ALICE}-per_deal": ""},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    part = response.content.decode()
    assert part.startswith(f'<div class="escrow-wallet" id="funds-{ALICE}"')
    assert "<p data-caps>No spending cap.</p>" in part
    assert f"{ALICE} has no spending cap any more." in part
    assert not SpendingCap.objects.exists()


@pytest.mark.django_db
def test_a_cap_that_is_no_amount_is_refused_in_its_field(client):
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    response = client.post(
        reverse("wallet_caps", args=[ALICE]), {f"{ALICE}-daily": "-1", f"{ALICE}-per_deal": ""}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in page
    assert not SpendingCap.objects.exists()


@pytest.mark.django_db
def test_caps_of_another_users_wallet_are_refused(client):
    WalletFactory(address=BOB)
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    response = client.post(
        reverse("wallet_caps", args=[BOB]), {f"{BOB}-daily": "1", f"{BOB}-per_deal": "1"}
    )

    assert response.status_code == 403
    assert f"The wallet {BOB} is not one of your linked wallets" in response.content.decode()
    assert not SpendingCap.objects.exists()
