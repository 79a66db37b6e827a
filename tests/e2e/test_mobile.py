"""The main pages on a phone (390 CSS pixels wide, an iPhone's viewport) in Chromium: none
scrolls sideways (wide tables scroll inside their own box, with a shadow on the side where
more is, long hex ids wrap), and a listing's purchase actions come before its ratings and
comments. The Wallets table and a pool's admission policy fit the phone's width; a worker's
message keeps a column wide enough to read."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from marketplace.catalogue.models import Listing, Market
from pools import scheduler
from pools.models import MemberStatus, PoolMember
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


# How each wide table of the page reads: whether it scrolls in its box and shows a cue of it
# (a shadow on the side where more is), and how many lines its headings take.
TABLES = """
() => Array.from(document.querySelectorAll("main table.table")).map((table) => ({
  scrolls: table.scrollWidth > table.clientWidth,
  cue: getComputedStyle(table).backgroundImage.includes("radial-gradient"),
  // (a heading for screen readers only, a pixel wide, does not count)
  headingLines: Math.max(...Array.from(
    table.querySelectorAll("th:not(:has(.visually-hidden))")
  ).map((th) => {
    const range = document.createRange();
    range.selectNodeContents(th);
    return new Set(Array.from(range.getClientRects()).map((line) => Math.round(line.top))).size;
  })),
}))
"""
MESSAGE = (
    "Rendering the drawing at 1024 pixels wide, layer 7 of 12 done, the other five layers "
    "follow in a minute"
)


def test_wide_tables_on_a_phone_show_that_they_scroll_and_keep_words_together(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    # Given a deal whose worker says how far it got
    site = main_site(chain, hub_deployment, dev_accounts)
    pool = Listing.objects.get(kind=Market.POOL)
    member = PoolMember.objects.filter(status=MemberStatus.ACTIVE).first()
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=member.worker, pool=pool.chain_address
    )
    scheduler.replicate_heartbeat(replicate=replicate, percent=40, message=MESSAGE)
    page = open_page(browser, asgi_server, site.requester, width=PHONE)

    # Then the buyer's deals and the deal's tasks scroll in their box, with a cue of it, and
    # their headings keep to one line
    for path in ("/deals/", f"/deals/{site.dealid}/"):
        page.goto(asgi_server + path)
        tables = page.evaluate(TABLES)
        assert tables and all(
            t == {"scrolls": True, "cue": True, "headingLines": 1} for t in tables
        )

    # And the worker's words read in lines of words (one a line when squeezed: 17 lines)
    message = page.locator(".replicate-message")
    expect(message).to_contain_text("the other five layers")
    lines = message.evaluate(
        "(m) => new Set(Array.from(m.getClientRects()).map((r) => Math.round(r.top))).size"
    )
    assert lines <= 6

    # And the Wallets table fits the phone: the escrow and the faucet are in sight
    page.goto(asgi_server + "/accounts/wallets/")
    table = page.locator("#wallet-table")
    assert table.evaluate("(t) => t.scrollWidth <= t.clientWidth")
    for cell in (table.locator("td").nth(2), table.get_by_role("button", name="Get test ECT")):
        expect(cell).to_be_visible()
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE
    page.context.close()


def test_a_pools_admission_policy_reads_across_a_phone(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    main_site(chain, hub_deployment, dev_accounts)
    pool = Listing.objects.get(kind=Market.POOL)
    page = open_page(browser, asgi_server, width=PHONE)
    page.goto(asgi_server + f"/pools/{pool.slug}/members/")

    # Each rule sits under its name, as wide as the panel, not in a column beside it
    widths = page.locator("#policy dl").evaluate(
        "(dl) => Array.from(dl.querySelectorAll('dd')).map((dd) => dd.clientWidth / dl.clientWidth)"
    )
    assert widths and min(widths) > 0.95
    page.context.close()
