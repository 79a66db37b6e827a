from __future__ import annotations

import re

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import expect

from marketplace.accounts.models import Wallet
from marketplace.catalogue.models import Comment, Rating
from tests.factories.catalogue import AppFactory, TagFactory, WorkerpoolFactory
from tests.factories.reviews import purchase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Anvil's public dev key #3: used on the dev chain and in tests only.
TEST_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"

PROVIDER = """
(() => {
  const address = "%(address)s";
  window.ethereum = {
    isMetaMask: true,
    async request({ method, params }) {
      if (method === "eth_requestAccounts" || method === "eth_accounts") return [address];
      if (method === "eth_chainId") return "0x7a69";
      if (method === "personal_sign") return await window.__sign(params[0], params[1]);
      throw Object.assign(new Error("Unsupported method " + method), { code: 4200 });
    },
    on() {}, removeListener() {},
  };
})();
"""


def _inject_wallet(page, private_key: str) -> str:
    account = Account.from_key(private_key)

    def sign(message_hex: str, address: str) -> str:
        assert address.lower() == account.address.lower()
        message = bytes.fromhex(message_hex.removeprefix("0x"))
        return "0x" + account.sign_message(encode_defunct(primitive=message)).signature.hex()

    page.expose_function("__sign", sign)
    page.add_init_script(PROVIDER % {"address": account.address})
    return account.address


def test_browse_filter_sign_in_with_ethereum_review_and_comment(live_server, page):
    svg = TagFactory(name="svg")
    renderer = AppFactory(
        listing__name="resvg renderer", listing__summary="SVG to PNG", listing__tags=[svg]
    ).listing
    AppFactory(listing__name="Graphviz", listing__summary="Graphs to pictures")
    WorkerpoolFactory(listing__name="Big pool", cpu_cores=32, memory_mb=65536)
    WorkerpoolFactory(listing__name="Small pool", cpu_cores=2, memory_mb=2048)
    address = _inject_wallet(page, TEST_KEY)
    purchase(renderer, wallet=address)  # a finished task of it, paid by this wallet

    # Browse: home, then the apps market.
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", name="Apps")).to_be_visible()
    page.get_by_role("navigation", name="Markets").get_by_role("link", name="Apps").click()
    expect(page.locator("#results .card")).to_have_count(2)

    # Search with htmx: the results swap in place and the URL follows (a shareable link).
    page.fill("#id_q", "resv")
    expect(page.locator("#results .card")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("resvg renderer")
    expect(page).to_have_url(re.compile(r"/apps/\?.*q=resv"))

    # Pool attribute filter through a select, same in-place swap.
    page.goto(live_server.url + "/pools/")
    page.select_option("select[name=cores_min]", "8")
    expect(page.locator("#results .card")).to_have_count(1)
    expect(page.locator("#results")).to_contain_text("Big pool")
    expect(page).to_have_url(re.compile(r"cores_min=8"))
    # The shared link works on its own, without JavaScript state.
    page.goto(page.url)
    expect(page.locator("#results .card")).to_have_count(1)

    # Sign in with Ethereum.
    page.goto(live_server.url + "/accounts/login/?next=/apps/")
    page.get_by_role("button", name="Sign in with wallet").click()
    page.wait_for_url(re.compile(r"/apps/$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    wallet = Wallet.objects.select_related("user").get(address=address)

    # Review as a verified buyer (htmx swaps the rating block), and comment.
    page.get_by_role("link", name=re.compile("resvg renderer")).click()
    page.get_by_role("radio", name="4 stars").check()
    page.get_by_label("Title").fill("Crisp")
    page.get_by_role("button", name="Post review").click()
    expect(page.locator("#rating-block")).to_contain_text("Thanks, your review is posted.")
    expect(page.locator("#rating-block")).to_contain_text("Verified purchase")
    page.fill("#id_body", "Rendered my <b>poster</b> perfectly.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment-body")).to_contain_text("Rendered my <b>poster</b> perfectly.")

    rating = Rating.objects.get()
    assert (rating.user, rating.stars, rating.title, rating.wallet) == (
        wallet.user,
        4,
        "Crisp",
        address,
    )
    assert Comment.objects.get().author == wallet.user


def test_wallet_error_is_shown_when_no_wallet_is_installed(live_server, page):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_role("button", name="Sign in with wallet").click()
    expect(page.locator("[data-siwe-error]")).to_contain_text("No Ethereum wallet found")
    assert not Wallet.objects.exists()
