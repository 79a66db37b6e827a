"""The buy page's market, in Chromium with an injected wallet backed by anvil: a buyer narrows
what the pool must offer until no pool fits, reads why (per condition, before any signature),
follows the change the page suggests, and buys from the pool the panel puts first."""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import expect

from marketplace.catalogue.registration import registration_for
from marketplace.chain.client import TransactionSender
from marketplace.chain.hub import Hub
from marketplace.chain.models import Deployment
from marketplace.chain.orders import WorkerpoolOrder, sign_order, typed_data
from marketplace.orders.models import DemandSample
from marketplace.orders.services import order_publish
from tests.chain_scaffold import ECT
from tests.e2e.test_trade import _page_for, _registered_app_with_order, hub_domain_of
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import WorkerpoolFactory
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hub(chain, hub_deployment) -> Hub:
    fields = dataclasses.asdict(hub_deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)
    index_to_head(hub_deployment)  # the categories
    return Hub(address=hub_deployment.hub, w3=chain)


@dataclasses.dataclass
class Shop:
    app_slug: str
    pools: dict[str, str]  # name -> address


@pytest.fixture
def shop(hub, hub_deployment, dev_accounts) -> Shop:
    """Word count sold at 2 ECT; two pools selling XS runs, each with a member to run them:
    Lyon Edge Alpha (eu-west, class B) at 1 ECT and Nordic Hydro (eu-north, class A) at 3 ECT.
    The buyer (dev account 5) has 100 ECT in escrow."""
    provider_user = WalletFactory(address=dev_accounts[1].address).user
    app, _ = _registered_app_with_order(hub, hub_deployment, dev_accounts, provider_user)
    funder = TransactionSender(dev_accounts[0], w3=hub.w3)
    hub.approve_call(amount=300 * ECT).send(funder)
    hub.deposit_for_call(amount=100 * ECT, target=dev_accounts[5].address).send(funder)
    domain = hub_domain_of(hub)
    pools = {}
    for name, operator, region, energy, price in (
        ("Lyon Edge Alpha", dev_accounts[3], "eu-west", "B", ECT),
        ("Nordic Hydro", dev_accounts[4], "eu-north", "A", 3 * ECT),
    ):
        listing = WorkerpoolFactory(
            listing__name=name,
            listing__owner_wallet=operator.address,
            location=region,
            energy_class=energy,
        ).listing
        address = hub.register(sender=funder, asset=registration_for(listing))
        admit(address, [dev_accounts[6]])
        hub.deposit_for_call(amount=100 * ECT, target=operator.address).send(funder)
        offer = WorkerpoolOrder(
            workerpool=address, workerpoolprice=price, volume=10, category=0, trust=1
        )
        order_publish(
            kind="workerpool",
            order=typed_data(offer, domain)["message"],
            signature="0x" + sign_order(offer, domain, operator.key).hex(),
        )
        pools[name] = address
    index_to_head(hub_deployment)
    return Shop(app_slug=app.slug, pools=pools)


def test_a_buyer_narrows_until_nothing_fits_reads_why_follows_the_suggestion_and_buys(
    live_server, browser, anvil, hub, shop, dev_accounts
):
    buyer = dev_accounts[5]
    page, _ = _page_for(browser, live_server, anvil, buyer)
    page.goto(f"{live_server.url}/apps/{shop.app_slug}/buy/")
    form = page.locator("form[data-trade-buy]")
    market = page.locator("#market")
    sentence = market.locator("[data-market-sentence]")

    # Both pools fit at first, the cheapest first.
    expect(sentence).to_have_text("Of 2 pools, 2 can run it: Lyon Edge Alpha and Nordic Hydro.")
    expect(market.locator("[data-market-ranking] tbody tr").first).to_contain_text(
        "Lyon Edge Alpha"
    )

    # A max price that is no amount is refused by the name the form gives it.
    price = form.get_by_label("Max pool price (ECT per task)")
    price.fill("cheap")
    form.get_by_role("button", name="Find offers").click()
    expect(form.locator("[data-trade-error]")).to_have_text(
        "Max pool price (ECT per task): Max price is an amount of ECT, such as 0.2."
    )
    expect(price).to_have_attribute("aria-invalid", "true")
    price.fill("")

    # The buyer wants its tasks run in eu-north, for 2 ECT at most: nothing fits, and the page
    # says why, per condition, before anything is signed.
    form.get_by_label("Region").select_option("eu-north")
    expect(sentence).to_have_text(
        "Of 2 pools, 1 is outside Europe North; 1 can run it: Nordic Hydro."
    )
    form.get_by_label("Max pool price (ECT per task)").fill("2")
    form.get_by_label("Max pool price (ECT per task)").press("Tab")
    expect(sentence).to_have_text(
        "Of 2 pools, 1 is outside Europe North, 1 costs more than 2 ECT per task; none can run it."
    )
    expect(market.locator('tr[data-condition="max_price"]')).to_contain_text(
        "At most 2 ECT per task"
    )
    expect(market.locator("[data-market-ranking]")).to_have_count(0)
    form.get_by_role("button", name="Find offers").click()
    quote = page.locator("[data-trade-quote-panel]")
    expect(quote.locator("[data-trade-failures]")).to_contain_text(
        "Of 2 pools, 1 is outside Europe North, 1 costs more than 2 ECT per task; none can run it."
    )
    expect(quote.get_by_role("button", name="Buy")).to_be_disabled()

    # It follows the suggestion: its max price is raised, and Nordic Hydro fits.
    market.get_by_role("link", name="Raise max price to 3 ECT: 1 more pool").click()
    expect(form.get_by_label("Max pool price (ECT per task)")).to_have_value("3")
    # Why the old request failed is gone: this one has not been asked yet.
    expect(quote.locator("[data-trade-failures] li")).to_have_count(0)
    expect(quote.locator('[data-q="pool"]')).to_have_text("—")
    expect(sentence).to_have_text(
        "Of 2 pools, 1 is outside Europe North; 1 can run it: Nordic Hydro."
    )
    expect(market.locator("[data-market-reason]")).to_have_text(
        "Nordic Hydro is the only pool that fits your requirements."
    )

    # And buys: the quote takes the panel's top pick, at its price.
    form.get_by_role("button", name="Find offers").click()
    expect(quote.locator('[data-q="pool"]')).to_contain_text("Nordic Hydro · 3 ECT per task")
    expect(quote.locator('[data-q="total"]')).to_have_text("5 ECT")
    quote.get_by_role("button", name="Buy").click()
    page.wait_for_url(re.compile(r"/deals/0x[0-9a-f]{64}/$"), timeout=60_000)
    deal = hub.deal(page.url.rstrip("/").rsplit("/", 1)[1])
    assert (deal.workerpool, deal.workerpool_price) == (shop.pools["Nordic Hydro"], 3 * ECT)
    # Each request the panel was asked for is demand pools can see.
    assert DemandSample.objects.filter(requirements__region="eu-north").exists()
    page.context.close()
