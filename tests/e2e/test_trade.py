"""The whole trade, in Chromium, with injected wallets backed by anvil's dev keys: a provider
registers an app and publishes its sell order, a pool operator registers a pool and publishes
its offer, and a buyer deposits and buys from the app's page; the deal is on chain and on its
page. The indexer runs between the steps, as `make run` runs it all along."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect

from marketplace.catalogue.models import Listing
from marketplace.catalogue.registration import registration_for
from marketplace.chain.client import TransactionSender
from marketplace.chain.hub import Hub
from marketplace.chain.models import Deployment
from marketplace.chain.orders import (
    AppOrder,
    WorkerpoolOrder,
    hub_domain,
    order_digest,
    sign_order,
    typed_data,
)
from marketplace.orders.models import Order
from marketplace.orders.services import order_publish
from tests.chain_scaffold import ECT, send_ect
from tests.e2e.wallets import inject_wallet
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory, WorkerpoolFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hub(chain, hub_deployment) -> Hub:
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    index_to_head(hub_deployment)  # the categories
    return Hub(address=hub_deployment.hub, w3=chain)


def _page_for(browser, live_server, anvil, account):
    """A page of its own, signed in as the user whose linked wallet is `account`'s, with that
    account's injected wallet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    user = WalletFactory(address=account.address).user
    client = Client()
    client.force_login(user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    inject_wallet(page, account, rpc_url=anvil.url)
    return page, user


def _register_and_sell(page, live_server, listing: Listing, fill: dict[str, str]) -> None:
    page.goto(live_server.url + listing.get_absolute_url())
    offers = page.locator("#offers")
    offers.get_by_role("button", name="Register with my wallet").click()
    # Registered: the panel reloads with the sell form.
    form = page.locator("form[data-trade-sell]")
    expect(form).to_be_visible()
    for label, value in fill.items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name="Sign and publish").click()
    expect(page.locator("#offers table.orders")).to_be_visible()


def test_a_provider_and_a_pool_sell_and_a_buyer_buys_a_run(
    live_server, browser, anvil, hub, hub_deployment, dev_accounts
):
    provider, operator, buyer = dev_accounts[1], dev_accounts[3], dev_accounts[5]
    provider_page, provider_user = _page_for(browser, live_server, anvil, provider)
    operator_page, operator_user = _page_for(browser, live_server, anvil, operator)
    buyer_page, _ = _page_for(browser, live_server, anvil, buyer)
    app = AppFactory(
        listing__name="Word count",
        listing__owner=provider_user,
        listing__owner_wallet=provider.address,
        listing__price_from=Decimal("2"),
    ).listing
    pool = WorkerpoolFactory(
        listing__name="Lyon pool",
        listing__owner=operator_user,
        listing__owner_wallet=operator.address,
        listing__prices={"XS": Decimal("1")},
    ).listing
    # The pool stakes 30 % of its price per task it sells: 30 ECT for 100 tasks at 1 ECT.
    send_ect(hub_deployment, dev_accounts[0], operator.address, 50 * ECT)
    hub.deposit_with_permit(sender=TransactionSender(operator, w3=hub.w3), amount=50 * ECT)
    send_ect(hub_deployment, dev_accounts[0], buyer.address, 100 * ECT)

    # The provider registers the app and sells runs at 2 ECT.
    _register_and_sell(
        provider_page, live_server, app, {"Price per task (ECT)": "2", "Volume": "100"}
    )
    app.refresh_from_db()
    assert hub.app_registry.functions.isRegistered(app.chain_address).call()
    assert Order.objects.get(kind="app").signer == provider.address

    # The operator registers the pool and offers XS tasks at 1 ECT, trust up to 5.
    _register_and_sell(
        operator_page,
        live_server,
        pool,
        {"XS · up to 5 min price (ECT)": "1", "Volume": "100", "Trust": "5"},
    )
    pool.refresh_from_db()
    assert Order.objects.get(kind="workerpool").asset == pool.chain_address
    admit(pool.chain_address, [dev_accounts[6]])  # a member to run the tasks
    index_to_head(hub_deployment)

    # The buyer: 100 ECT in the wallet, nothing in escrow; the app's card shows the cheapest
    # run on offer, app and pool together; buys 2 XS runs at 3 ECT each.
    buyer_page.goto(live_server.url + "/apps/")
    expect(buyer_page.locator("article.card", has_text="Word count")).to_contain_text(
        "from 3 ECT per task with Lyon pool, XS"
    )
    buyer_page.goto(live_server.url + app.get_absolute_url())
    buyer_page.locator("#offers").get_by_role("link", name="Buy a run").click()
    form = buyer_page.locator("form[data-trade-buy]")
    # Only the category the pool sells is offered.
    expect(form.get_by_label("Category").locator("option")).to_have_count(1)
    form.get_by_label("Worker pool").select_option(label="Lyon pool")
    expect(form.get_by_label("Category").locator("option:not([hidden])")).to_have_count(1)
    form.get_by_label("Tasks").fill("2")
    # Arguments naming {dataset} without a dataset: the command line shows it as the worker
    # would run it, and the quote refuses it before any money moves.
    form.get_by_label("Arguments").fill("--width 64 {dataset} /output/out.png")
    command = form.locator("[data-trade-command]")
    expect(command).to_have_text("app --width 64 {dataset} /output/out.png")
    form.get_by_role("button", name="Find offers").click()
    quote = buyer_page.locator("[data-trade-quote-panel]")
    expect(quote.locator("[data-trade-failures]")).to_contain_text(
        "Your arguments name {dataset} but no dataset is chosen"
    )
    expect(quote.get_by_role("button", name="Buy")).to_be_disabled()
    form.get_by_label("Arguments").fill("--width 64 /input/in.svg /output/out.png")
    expect(command).to_have_text("app --width 64 /input/in.svg /output/out.png")
    form.get_by_role("button", name="Find offers").click()
    expect(quote.locator('[data-q="command_line"]')).to_have_text(
        "app --width 64 /input/in.svg /output/out.png"
    )
    expect(quote.locator('[data-q="total"]')).to_have_text("6 ECT")
    expect(quote.locator('[data-q="deposit"]')).to_have_text("6 ECT")
    expect(quote.locator('[data-q="pool"]')).to_contain_text("Lyon pool")
    quote.get_by_role("button", name="Buy").click()
    buyer_page.wait_for_url(re.compile(r"/deals/0x[0-9a-f]{64}/$"), timeout=60_000)
    dealid = buyer_page.url.rstrip("/").rsplit("/", 1)[1]

    deal = hub.deal(dealid)
    assert (deal.volume, deal.app_price, deal.workerpool_price) == (2, 2 * ECT, ECT)
    assert deal.payer == buyer.address
    assert hub.account(buyer.address).locked == 6 * ECT

    index_to_head(hub_deployment)
    buyer_page.reload()
    expect(buyer_page.get_by_role("heading", level=1)).to_contain_text("Deal")
    expect(buyer_page.get_by_text("Word count").first).to_be_visible()
    expect(buyer_page.get_by_text("Lyon pool").first).to_be_visible()
    assert Order.objects.get(kind="app").consumed == 2


def test_registering_and_selling_bring_the_rest_of_the_listing_page_up_to_date(
    live_server, browser, anvil, hub, dev_accounts
):
    # Given an approved app its provider has not registered yet, its page open
    provider = dev_accounts[1]
    page, user = _page_for(browser, live_server, anvil, provider)
    app = AppFactory(
        listing__name="Word count", listing__owner=user, listing__owner_wallet=provider.address
    ).listing
    page.goto(live_server.url + app.get_absolute_url())
    price = page.locator("#price")
    details = page.locator("section.facts", has=page.get_by_role("heading", name="Details"))
    next_step = page.locator(".notice", has_text="Next:")
    expect(price).to_contain_text("it is not on chain yet")
    expect(details).to_contain_text("not registered yet")
    expect(next_step).to_contain_text("register it on chain")

    # When the provider registers it: every panel says so, without reloading the page
    page.locator("#offers").get_by_role("button", name="Register with my wallet").click()
    form = page.locator("form[data-trade-sell]")
    expect(form).to_be_visible()
    app.refresh_from_db()
    expect(details).to_contain_text(app.chain_address)
    expect(page.locator("#onchain")).to_contain_text(f"Registered at {app.chain_address}")
    expect(price).not_to_contain_text("not on chain")
    expect(next_step).to_contain_text("publish an offer to sell, so that buyers can buy it")

    # And when it sells runs at 2 ECT: its price shows, and nothing is left to do
    form.get_by_label("Price per task (ECT)").fill("2")
    form.get_by_label("Volume").fill("10")
    form.get_by_role("button", name="Sign and publish").click()
    expect(page.locator("#offers table.orders")).to_be_visible()
    expect(price).to_contain_text("2 ECT per task")
    expect(next_step).to_have_count(0)


def hub_domain_of(hub):
    return hub_domain(chain_id=31337, hub_address=hub.address)


def _registered_app_with_order(hub, hub_deployment, dev_accounts, owner_user, *, price=2 * ECT):
    """An app listing of dev account 1, registered, with an open sell order, indexed."""
    provider = dev_accounts[1]
    listing = AppFactory(
        listing__name="Word count",
        listing__owner=owner_user,
        listing__owner_wallet=provider.address,
    ).listing
    address = hub.register(
        sender=TransactionSender(dev_accounts[0], w3=hub.w3), asset=registration_for(listing)
    )
    Listing.objects.filter(pk=listing.pk).update(chain_address=address)
    listing.refresh_from_db()
    order = AppOrder(app=address, appprice=price, volume=10)
    domain = hub_domain_of(hub)
    order_publish(
        kind="app",
        order=typed_data(order, domain)["message"],
        signature="0x" + sign_order(order, domain, provider.key).hex(),
    )
    index_to_head(hub_deployment)
    return listing, order


def test_a_provider_takes_an_order_off_the_book_and_closes_it_on_chain(
    live_server, browser, anvil, hub, hub_deployment, dev_accounts
):
    provider = dev_accounts[1]
    page, user = _page_for(browser, live_server, anvil, provider)
    listing, order = _registered_app_with_order(hub, hub_deployment, dev_accounts, user)
    digest = order_digest(order, hub_domain_of(hub))

    page.goto(live_server.url + listing.get_absolute_url())
    expect(page.locator("#price")).to_contain_text("2 ECT per task")
    page.locator("#offers").get_by_role("button", name="Take off the book").click()
    box = page.locator("[data-trade-unpublished]")
    expect(box.get_by_role("status")).to_contain_text("still valid on chain")
    assert Order.objects.get().status == "cancelled"
    # The price panel reads the book again: nothing is on offer any more.
    expect(page.locator("#price")).to_contain_text("No open offer")
    assert hub.consumed(digest) == 0  # taken off the book, not off the chain

    box.get_by_role("button", name="Close it on chain too").click()
    expect(box.get_by_role("status")).to_have_text(
        "Closed on chain: nobody can match this order any more."
    )
    assert hub.consumed(digest) == order.volume


def test_a_declined_signature_buys_nothing_and_says_so(
    live_server, browser, anvil, hub, hub_deployment, dev_accounts
):
    provider, operator, buyer = dev_accounts[1], dev_accounts[3], dev_accounts[5]
    provider_user = WalletFactory(address=provider.address).user
    listing, _ = _registered_app_with_order(hub, hub_deployment, dev_accounts, provider_user)
    pool = WorkerpoolFactory(listing__name="Lyon pool", listing__owner_wallet=operator.address)

    funder = TransactionSender(dev_accounts[0], w3=hub.w3)
    pool_address = hub.register(sender=funder, asset=registration_for(pool.listing))
    admit(pool_address, [dev_accounts[6]])  # a member to run the tasks
    hub.approve_call(amount=200 * ECT).send(funder)
    hub.deposit_for_call(amount=100 * ECT, target=operator.address).send(funder)
    hub.deposit_for_call(amount=100 * ECT, target=buyer.address).send(funder)
    offer = WorkerpoolOrder(workerpool=pool_address, workerpoolprice=ECT, volume=10, category=0)
    order_publish(
        kind="workerpool",
        order=typed_data(offer, hub_domain_of(hub))["message"],
        signature="0x" + sign_order(offer, hub_domain_of(hub), operator.key).hex(),
    )
    index_to_head(hub_deployment)

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    client = Client()
    client.force_login(WalletFactory(address=buyer.address).user)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    wallet = inject_wallet(page, buyer, rpc_url=anvil.url, reject={"eth_signTypedData_v4"})
    page.goto(live_server.url + f"/apps/{listing.slug}/buy/")
    form = page.locator("form[data-trade-buy]")
    form.get_by_label("Trust").fill("0")
    form.get_by_role("button", name="Find offers").click()
    quote = page.locator("[data-trade-quote-panel]")
    expect(quote.locator('[data-q="deposit"]')).to_have_text("nothing")  # 100 ECT staked
    quote.get_by_role("button", name="Buy").click()
    expect(quote.locator("[data-trade-buy-error]")).to_contain_text("You declined")
    # No step left saying it is under way ("Sign the request in your wallet…") beside the error
    expect(quote.locator("[data-trade-status]")).to_have_text("")
    expect(quote.locator('[data-step][data-state="active"]')).to_have_count(0)
    assert wallet.sent == []  # no transaction
    assert hub.account(buyer.address) == hub.account(buyer.address).__class__(100 * ECT, 0)
    context.close()
