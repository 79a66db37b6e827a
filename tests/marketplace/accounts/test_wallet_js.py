"""wallet.js in Chromium, against the live server, with a stand-in for MetaMask whose
personal_sign signs with anvil's first development key."""

from __future__ import annotations

import pytest
from django.test import Client

from marketplace.accounts.models import Wallet
from tests.factories.accounts import UserFactory
from tests.marketplace.accounts.helpers import ALICE, ALICE_KEY, sign

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
]

FAKE_METAMASK = """
window.ethereum = {
  async request({ method, params }) {
    if (method === "eth_requestAccounts") return [%(account)r];
    if (method === "eth_chainId") return %(chain)r;
    if (method === "personal_sign") return window.testWalletSign(params[0], params[1]);
    if (method === "wallet_switchEthereumChain") throw { code: 4001, message: "User rejected" };
    throw { code: 4200, message: "unsupported method " + method };
  },
};
"""


def _personal_sign(hex_message: str, account: str) -> str:
    assert account == ALICE.lower()
    return sign(bytes.fromhex(hex_message.removeprefix("0x")).decode("utf-8"), ALICE_KEY)


def _page(browser, live_server, *, wallet: bool = True, chain: str = "0x7a69", user=None):
    context = browser.new_context()
    if user is not None:
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
    page = context.new_page()
    if wallet:
        page.expose_function("testWalletSign", _personal_sign)
        page.add_init_script(FAKE_METAMASK % {"account": ALICE.lower(), "chain": chain})
    return page


def test_sign_in_api_signs_in_a_new_user_and_returns_where_to_go(browser, live_server):
    page = _page(browser, live_server)
    page.goto(f"{live_server.url}/accounts/login/")
    page.wait_for_function("window.SuperEdgeWallet !== undefined")

    result = page.evaluate("window.SuperEdgeWallet.signIn({ next: '/accounts/wallets/' })")
    page.goto(live_server.url + result["redirect"])

    assert result == {"ok": True, "address": ALICE, "redirect": "/accounts/wallets/"}
    assert page.url == f"{live_server.url}/accounts/wallets/"
    assert ALICE in page.locator("table").inner_text()
    assert Wallet.objects.get().address == ALICE


def test_link_button_links_the_wallet_to_the_signed_in_user(browser, live_server):
    user = UserFactory()
    page = _page(browser, live_server, user=user)
    page.goto(f"{live_server.url}/accounts/wallets/")

    page.get_by_role("button", name="Link a wallet").click()
    page.locator("table").wait_for()

    assert ALICE in page.locator("table").inner_text()
    assert list(user.wallets.values_list("address", flat=True)) == [ALICE]


def test_link_button_on_the_wrong_network_asks_to_switch_and_says_what_to_do(browser, live_server):
    user = UserFactory()
    page = _page(browser, live_server, user=user, chain="0x1")
    page.goto(f"{live_server.url}/accounts/wallets/")

    page.get_by_role("button", name="Link a wallet").click()
    alert = page.get_by_role("alert")
    alert.wait_for()

    # The wallet was asked to switch to the site's chain, and the user declined.
    assert alert.inner_text().startswith(
        "You declined to switch your wallet to SuperEdge dev chain (chain 31337)"
    )
    assert page.get_by_role("button", name="Link a wallet").is_enabled()
    assert not Wallet.objects.exists()


def test_link_button_without_a_wallet_says_to_install_one(browser, live_server):
    page = _page(browser, live_server, wallet=False, user=UserFactory())
    page.goto(f"{live_server.url}/accounts/wallets/")

    page.get_by_role("button", name="Link a wallet").click()
    alert = page.get_by_role("alert")
    alert.wait_for()

    assert alert.inner_text() == (
        "No Ethereum wallet found: install MetaMask or sign in with email"
    )
    assert not Wallet.objects.exists()
