"""Pages in a 1280 px window in Chromium: nothing sticks out of its panel. A table wider than
its panel scrolls inside its own box; a pool's offers, the widest table of the side column,
fit in it as a visitor sees them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

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
