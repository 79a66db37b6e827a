"""The main pages on a phone (390 CSS pixels wide, an iPhone's viewport) in Chromium: none
scrolls sideways (wide tables scroll inside their own box, long hex ids wrap), and a listing's
purchase actions come before its ratings and comments."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.main_pages import main_site, open_page

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = 390

# The document's width against the viewport's, and the elements that stick out on the right
# (the deepest ones: their parents stick out because of them), for a readable failure.
OVERFLOW = """
() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const culprits = [];
  const insideScroller = (element) => {
    for (let box = element.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") return true;
    }
    return false;
  };
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    if (insideScroller(element)) continue;  // a box that scrolls on its own holds it
    const style = getComputedStyle(element);
    if (style.position === "fixed" || style.visibility === "hidden") continue;
    const deeper = Array.from(element.children).some(
      (child) => child.getBoundingClientRect().right > width + 0.5
    );
    if (deeper) continue;
    const name = element.tagName.toLowerCase() + (element.id ? "#" + element.id : "") +
      (element.className && typeof element.className === "string"
        ? "." + element.className.trim().split(/\\s+/).join(".") : "");
    culprits.push(`${name} reaches ${Math.round(box.right)} px`);
  }
  return { scrollWidth: root.scrollWidth, clientWidth: width, culprits: culprits.slice(0, 6) };
}
"""


def _overflow(page: Page, server: str, path: str) -> str:
    page.goto(server + path)
    page.wait_for_load_state("networkidle")
    found = page.evaluate(OVERFLOW)
    if found["scrollWidth"] <= found["clientWidth"]:
        return ""
    return (
        f"{path}: {found['scrollWidth']} px wide in a {found['clientWidth']} px viewport: "
        + "; ".join(found["culprits"])
    )


def test_no_main_page_scrolls_sideways_on_a_phone(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    site = main_site(chain, hub_deployment, dev_accounts)
    found = []
    for user, paths in site.visitors:
        page = open_page(browser, asgi_server, user, width=PHONE)
        found += [problem for path in paths if (problem := _overflow(page, asgi_server, path))]
        page.context.close()

    assert found == [], "\n".join(found)


def test_a_listing_on_a_phone_offers_the_purchase_before_ratings_and_comments(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    site = main_site(chain, hub_deployment, dev_accounts)
    page = open_page(browser, asgi_server, site.requester, width=PHONE)
    page.goto(asgi_server + site.signed_in[2])  # the app's listing
    buy = page.get_by_role("link", name="Buy a run")
    expect(buy).to_be_visible()

    top = {
        name: page.locator(selector).bounding_box()["y"]
        for name, selector in (
            ("buy", "#offers"),
            ("price", "#price"),
            ("ratings", "#ratings"),
            ("comments", "#comments"),
        )
    }
    assert top["price"] < top["buy"] < top["ratings"] < top["comments"], top

    # On a wide screen the purchase stays in the side column, beside the description.
    page.set_viewport_size({"width": 1280, "height": 900})
    side, main = page.locator("#offers").bounding_box(), page.locator("#ratings").bounding_box()
    assert side["x"] > main["x"] + main["width"]
    page.context.close()


def test_a_deal_on_a_phone_reads_right(asgi_server, browser, chain, hub_deployment, dev_accounts):
    # Given the deal of the main pages: one task started, no worker's progress yet
    site = main_site(chain, hub_deployment, dev_accounts)
    page = open_page(browser, asgi_server, site.requester, width=PHONE)
    page.goto(asgi_server + f"/deals/{site.dealid}/")

    # Then its bar is empty (0 %), and the page says how far the index is once, at its foot
    expect(page.locator(".deal-percent")).to_have_text("0.0 %")
    filled = page.locator(".deal-bar span").evaluate_all(
        "(parts) => parts.reduce((sum, part) => sum + part.getBoundingClientRect().width, 0)"
    )
    assert filled == 0
    expect(page.locator(".footer .index-line")).to_contain_text("Indexed to block")
    expect(page.get_by_text("Indexed to block")).to_have_count(1)
    page.context.close()
