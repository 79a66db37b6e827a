"""A standing request in Chromium, with an injected wallet backed by anvil's dev keys: the buyer
chooses the app by its name and signs a request that waits for an offer, its page says why
nothing fits, and once a pool publishes a fitting offer and the matcher runs, the page links the
deal by itself."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from marketplace.catalogue.models import Listing
from marketplace.chain.models import Deployment
from marketplace.orders.models import Order
from tests.chain_scaffold import Market
from tests.e2e.wallets import inject_wallet
from tests.factories.accounts import WalletFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.marketplace.orders.standing_helpers import (
    list_publicly,
    match_round,
    open_book,
    pool_offer,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_buyer_waits_for_an_offer_and_sees_the_deal_when_it_comes(
    live_server, browser, anvil, chain, hub_deployment, dev_accounts
):
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    market = open_book(Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts))
    index_to_head(hub_deployment)
    list_publicly(market)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    client = Client()
    client.force_login(WalletFactory(address=market.requester.address).user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    inject_wallet(page, market.requester, rpc_url=anvil.url)
    app = Listing.objects.get(chain_address=market.app)

    # The buyer chooses the app by its name and what to pay, and is shown what will be signed
    page.goto(f"{live_server.url}/requests/new/")
    page.get_by_role("combobox", name="App", exact=True).select_option(label=app.name)
    page.get_by_role("combobox", name="Task category").select_option(label="XS · up to 5 min")
    page.get_by_role("spinbutton", name="Tasks").fill("2")
    page.get_by_role("textbox", name="Arguments").fill("--width 64 input.svg out.png")
    page.get_by_role("spinbutton", name="Pool max price (ECT)").fill("3")
    page.get_by_role("button", name="Show the request").click()
    signing = page.locator("[data-standing-sign]")
    expect(signing.get_by_role("link", name=app.name)).to_be_visible()
    expect(signing).to_contain_text(market.app)

    # The buyer signs the request and publishes it: its page waits for an offer
    page.get_by_role("button", name="Sign and publish").click()
    expect(page).to_have_url(re.compile(r"/requests/0x[0-9a-f]{64}/$"))
    live = page.locator("#standing-live")
    expect(live).to_contain_text("Waiting for an offer")
    expect(live).to_contain_text("No pool is offering work right now.")
    order = Order.objects.get(kind="request")
    assert order.expires_at is not None

    # A pool publishes a fitting offer, the matcher matches: the page shows the deal by itself
    pool_offer(market, price=3)
    (dealid,) = match_round(market).matched
    expect(live.get_by_role("link", name=dealid)).to_be_visible(timeout=15_000)
    expect(live).to_contain_text("matched: deal")
    context.close()
