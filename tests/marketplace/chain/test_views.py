"""The faucet action of the wallets page: POST /chain/faucet/ with one of the user's wallets."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from eth_account import Account

from marketplace.chain import keys, services
from tests.chain_scaffold import ECT, ETH, ect_balance
from tests.factories.accounts import WalletFactory

FAUCET = keys.DEV_ADDRESSES[keys.ROLE_DEV_INDEX["faucet"]]
HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(chain):
    deployment, _ = services.contracts_deploy()
    return deployment


@pytest.fixture
def wallet():
    return WalletFactory()


def _drip(client, address: str, **headers):
    return client.post(reverse("chain_faucet"), {"address": address}, **headers)


def test_url():
    assert reverse("chain_faucet") == "/chain/faucet/"


def test_faucet_sends_to_the_users_wallet_and_answers_htmx_with_a_partial(
    client, chain, deployed, wallet
):
    client.force_login(wallet.user)

    response = _drip(client, wallet.address.lower(), **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith('<div id="faucet-result"')
    assert "<html" not in html
    short = f"{wallet.address[:6]}…{wallet.address[-4:]}"
    assert f"Sent 1,000 ECT and 1 ETH to {short}." in html
    assert "msg-success" in html
    # The wallets table and the wallet's escrow panel read the balances again
    assert json.loads(response["HX-Trigger"]) == {"escrow:changed": {"address": wallet.address}}
    assert ect_balance(chain, deployed, wallet.address) == 1000 * ECT
    assert chain.eth.get_balance(wallet.address) == 1 * ETH


def test_faucet_without_htmx_redirects_to_the_wallets_page_with_a_message(
    client, chain, deployed, wallet
):
    client.force_login(wallet.user)

    response = _drip(client, wallet.address, follow=True)

    assert response.redirect_chain == [(reverse("wallet_list"), 302)]
    assert "Sent 1,000 ECT and 1 ETH to" in response.content.decode()
    assert ect_balance(chain, deployed, wallet.address) == 1000 * ECT


def test_anonymous_users_are_sent_to_sign_in_and_nothing_is_sent(client, chain, deployed, wallet):
    nonce = chain.eth.get_transaction_count(FAUCET)

    response = _drip(client, wallet.address)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert chain.eth.get_transaction_count(FAUCET) == nonce


def test_faucet_refuses_get(client, wallet):
    client.force_login(wallet.user)

    assert client.get(reverse("chain_faucet")).status_code == 405


@pytest.mark.parametrize("whose", ["someone else's", "nobody's", "missing"])
def test_faucet_sends_only_to_a_wallet_of_the_user(client, chain, deployed, wallet, whose):
    address = {
        "someone else's": WalletFactory().address,
        "nobody's": Account.create().address,
        "missing": "",
    }[whose]
    client.force_login(wallet.user)
    nonce = chain.eth.get_transaction_count(FAUCET)

    response = _drip(client, address, **HTMX)

    html = response.content.decode()
    if address:
        assert f"{address} is not one of your linked wallets" in html
    else:
        assert "Choose a wallet: the faucet sends only to one of your linked wallets." in html
    assert "msg-error" in html
    assert chain.eth.get_transaction_count(FAUCET) == nonce
    # A refused request does not use the user's turn.
    assert "Sent 1,000 ECT" in _drip(client, wallet.address, **HTMX).content.decode()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("0xnope", "0xnope is not one of your linked wallets: the faucet sends only to a wallet "),
        ("", "Choose a wallet: the faucet sends only to one of your linked wallets."),
    ],
)
def test_a_refused_drip_without_htmx_is_the_wallets_page_with_the_reason(
    client, chain, deployed, wallet, address, reason
):
    client.force_login(wallet.user)
    nonce = chain.eth.get_transaction_count(FAUCET)

    response = _drip(client, address)

    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>Wallets</h1>" in html
    assert f'<p class="msg msg-error">{reason}' in html
    # The whole page, the wallet's runway and caps included.
    assert "Runway and spending caps" in html
    assert "data-runway" in html
    assert chain.eth.get_transaction_count(FAUCET) == nonce


def test_faucet_gives_a_user_one_drip_a_minute(client, chain, deployed, wallet):
    second_wallet = WalletFactory(user=wallet.user)
    client.force_login(wallet.user)
    assert "Sent" in _drip(client, wallet.address, **HTMX).content.decode()
    nonce = chain.eth.get_transaction_count(FAUCET)

    response = _drip(client, second_wallet.address, **HTMX)

    assert "You used the faucet less than a minute ago: try again in" in response.content.decode()
    assert chain.eth.get_transaction_count(FAUCET) == nonce
    assert ect_balance(chain, deployed, second_wallet.address) == 0


def test_the_minute_is_per_user(client, chain, deployed, wallet):
    other = WalletFactory()
    client.force_login(wallet.user)
    _drip(client, wallet.address, **HTMX)
    client.force_login(other.user)

    assert "Sent" in _drip(client, other.address, **HTMX).content.decode()


def test_a_failed_drip_shows_the_error_and_does_not_use_the_turn(client, chain, wallet, settings):
    settings.FAUCET_RATE_PER_WALLET = settings.FAUCET_RATE_PER_IP = "1/hour"
    client.force_login(wallet.user)

    refused = _drip(client, wallet.address, **HTMX).content.decode()
    services.contracts_deploy()
    sent = _drip(client, wallet.address, **HTMX).content.decode()

    assert "The contracts are not deployed on chain 31337" in refused
    assert "msg-error" in refused
    assert "Sent 1,000 ECT" in sent


def test_new_users_with_new_wallets_share_the_faucet_of_their_address(
    client, chain, deployed, settings
):
    settings.FAUCET_RATE_PER_IP = "2/hour"
    settings.TRUSTED_PROXIES = []

    def drip_as_new_user(n: int, **extra) -> tuple[str, str]:
        wallet = WalletFactory()
        client.force_login(wallet.user)
        return wallet.address, _drip(client, wallet.address, **HTMX, **extra).content.decode()

    for n in range(2):
        assert "Sent" in drip_as_new_user(n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")[1]
    nonce = chain.eth.get_transaction_count(FAUCET)
    refused_wallet, refused = drip_as_new_user(2, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert chain.eth.get_transaction_count(FAUCET) == nonce
    _, elsewhere = drip_as_new_user(3, REMOTE_ADDR="203.0.113.7")

    assert (
        "The faucet already sent its share to your network (2 an hour): come back in 1 h."
        in refused
    )
    assert "msg-error" in refused
    assert ect_balance(chain, deployed, refused_wallet) == 0
    assert "Sent" in elsewhere


def test_a_wallet_gets_its_share_and_then_waits(client, chain, deployed, wallet, settings):
    settings.FAUCET_RATE_PER_USER = "10/min"
    settings.FAUCET_RATE_PER_WALLET = "1/hour"
    client.force_login(wallet.user)
    _drip(client, wallet.address, **HTMX)
    nonce = chain.eth.get_transaction_count(FAUCET)

    refused = _drip(client, wallet.address, **HTMX).content.decode()
    assert chain.eth.get_transaction_count(FAUCET) == nonce
    other = _drip(client, WalletFactory(user=wallet.user).address, **HTMX).content.decode()

    assert "This wallet got its share of the faucet (1 an hour): come back in 1 h." in refused
    assert ect_balance(chain, deployed, wallet.address) == 1000 * ECT
    assert "Sent" in other


@pytest.mark.parametrize("chain_id", [1, 8453])
def test_no_faucet_off_the_dev_chain(client, chain, deployed, wallet, settings, chain_id):
    settings.CHAIN_ID = chain_id
    client.force_login(wallet.user)
    nonce = chain.eth.get_transaction_count(FAUCET)

    response = _drip(client, wallet.address, **HTMX)

    assert response.status_code == 404
    assert chain.eth.get_transaction_count(FAUCET) == nonce
