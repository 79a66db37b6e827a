"""Pages in a 1280 px window in Chromium: nothing sticks out of its panel. A table wider than
its panel scrolls inside its own box; a pool's offers, the widest table of the side column,
fit in it as a visitor sees them. A visitor left on the page sees new offers come, read again
every 30 seconds while the tab shows, and never while it is hidden."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from marketplace.catalogue.models import Listing, Market
from marketplace.chain.orders import WorkerpoolOrder, hub_domain, sign_order, typed_data
from marketplace.orders.services import order_publish
from tests.chain_scaffold import ECT
from tests.e2e.main_pages import main_site, open_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDE = 1280

# The elements that stick out on the right of the panel they are in (the deepest ones, outside
# any box that scrolls on its own), for a readable failure.
STICKING_OUT = """
() => {
  const culprits = [];
  for (const panel of document.querySelectorAll(".panel")) {
    const style = getComputedStyle(panel);
    const edge = panel.getBoundingClientRect().right - parseFloat(style.borderRightWidth)
      - parseFloat(style.paddingRight);
    const scrolls = (element) => {
      for (let box = element.parentElement; box && box !== panel; box = box.parentElement) {
        if (getComputedStyle(box).overflowX !== "visible") return true;
      }
      return false;
    };
    const out = (element) => element.getBoundingClientRect().right > edge + 0.5;
    for (const element of panel.querySelectorAll("*")) {
      if (!out(element) || scrolls(element)) continue;
      if (Array.from(element.children).some(out)) continue;
      const name = element.tagName.toLowerCase() +
        (element.className && typeof element.className === "string"
          ? "." + element.className.trim().split(/\\s+/).join(".") : "");
      const by = Math.round(element.getBoundingClientRect().right - edge);
      culprits.push(`${name} in #${panel.id || "?"} sticks out by ${by} px`);
    }
  }
  return culprits.slice(0, 6);
}
"""


def _offer_every_kind(pool: Listing, owner, *, hub: str, app: str) -> None:
    """Offers of the pool in four categories: for anyone, for one buyer, for one app, and with
    more trust, as a pool's owner signs them."""
    domain = hub_domain(chain_id=31337, hub_address=hub)
    for category, restrictions in enumerate(
        ({}, {"requesterrestrict": owner.address}, {"apprestrict": app}, {"trust": 5})
    ):
        order = WorkerpoolOrder(
            workerpool=pool.chain_address,
            workerpoolprice=123 * ECT // 100,
            volume=50,
            category=category,
            **{"trust": 1, **restrictions},
        )
        order_publish(
            kind="workerpool",
            order=typed_data(order, domain)["message"],
            signature="0x" + sign_order(order, domain, owner.key).hex(),
        )


def _pool_page(page: Page, server: str, pool: Listing) -> list[str]:
    page.goto(server + pool.get_absolute_url())
    page.locator("#offers table.orders").wait_for()
    return page.evaluate(STICKING_OUT)


def test_a_pools_offers_stay_in_their_panel_in_a_wide_window(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    # Given a pool with offers of every kind on the book
    main_site(chain, hub_deployment, dev_accounts)
    pool = Listing.objects.get(kind=Market.POOL)
    app = Listing.objects.get(kind=Market.APP, chain_address__gt="")
    _offer_every_kind(pool, dev_accounts[3], hub=hub_deployment.hub, app=app.chain_address)

    # A visitor sees them whole, without scrolling the table
    page = open_page(browser, asgi_server, width=WIDE)
    assert _pool_page(page, asgi_server, pool) == []
    box = page.locator("#offers .table-scroll")
    assert box.evaluate("(box) => box.scrollWidth <= box.clientWidth")
    page.context.close()

    # Its owner's rows, one button wider, scroll inside the panel
    page = open_page(browser, asgi_server, pool.owner, width=WIDE)
    assert _pool_page(page, asgi_server, pool) == []
    page.context.close()


# Counts the requests htmx sends from the offers panel (after trade.js had its say).
COUNT_OFFERS_READS = """
() => {
  window.offersReads = 0;
  document.body.addEventListener("htmx:beforeSend", (event) => {
    if (event.detail.elt.id === "offers") window.offersReads += 1;
  });
}
"""
# The tab hidden or shown, as the browser says it when the visitor switches tabs.
SHOW_TAB = """
(state) => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""


def _offer(pool: Listing, owner, *, hub: str, price: int) -> None:
    domain = hub_domain(chain_id=31337, hub_address=hub)
    order = WorkerpoolOrder(
        workerpool=pool.chain_address, workerpoolprice=price, volume=5, category=0, trust=1
    )
    order_publish(
        kind="workerpool",
        order=typed_data(order, domain)["message"],
        signature="0x" + sign_order(order, domain, owner.key).hex(),
    )


def test_a_visitor_left_on_a_pool_page_sees_its_new_offers_while_the_tab_shows(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    # Given a visitor on a pool's page, its offers panel loaded (the page's clock ours to move)
    main_site(chain, hub_deployment, dev_accounts)
    pool = Listing.objects.get(kind=Market.POOL)
    page = open_page(browser, asgi_server, width=WIDE)
    page.clock.install()
    page.goto(asgi_server + pool.get_absolute_url())
    panel = page.locator("#offers[data-offers-live]")
    panel.wait_for()
    page.evaluate(COUNT_OFFERS_READS)

    # When its owner publishes an offer while the visitor's tab is hidden
    page.evaluate(SHOW_TAB, "hidden")
    _offer(pool, dev_accounts[3], hub=hub_deployment.hub, price=777 * ECT // 100)

    # Then the hidden tab asks for nothing, however long it stays hidden
    page.clock.run_for(5 * 60_000)
    assert page.evaluate("window.offersReads") == 0
    expect(panel).not_to_contain_text("7.77 ECT")

    # And once shown, the panel reads the book at once, then every 30 seconds
    page.evaluate(SHOW_TAB, "visible")
    expect(panel).to_contain_text("7.77 ECT")
    assert page.evaluate("window.offersReads") == 1
    page.clock.run_for(31_000)
    expect(panel).to_contain_text("7.77 ECT")
    assert page.evaluate("window.offersReads") == 2
    page.context.close()
