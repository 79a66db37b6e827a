"""The price charts in Chromium: drawn with trades and offers, and said to be empty without,
on a listing page and on the market overview, with no script and nothing the
Content-Security-Policy blocks; the hour/day link works without JavaScript."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from eth_account import Account
from playwright.sync_api import expect

from tests.chain_scaffold import ECT
from tests.factories.catalogue import AppFactory
from tests.factories.deals import DealFactory
from tests.marketplace.orders.test_selectors import offer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIOLATIONS = """
window.__violations = [];
document.addEventListener(
  "securitypolicyviolation", (event) => window.__violations.push(event.violatedDirective)
);
"""


def _on_chain(listing):
    listing.chain_address = Account.create().address
    listing.save(update_fields=["chain_address"])
    return listing


def test_the_charts_render_with_data_and_empty(live_server, browser):
    traded = _on_chain(AppFactory(listing__name="Word count").listing)
    for days, price in ((5, 2 * ECT), (3, 3 * ECT)):  # none in the last 48 hours
        start = timezone.now() - datetime.timedelta(days=days)
        DealFactory(app=traded.chain_address, app_price=price, volume=2, start_time=start)
    offer(traded, "2.5")
    quiet = _on_chain(AppFactory(listing__name="Nobody's app").listing)
    context = browser.new_context(java_script_enabled=False)
    context.add_init_script(VIOLATIONS)
    page = context.new_page()

    page.goto(live_server.url + traded.get_absolute_url())
    history = page.locator("#prices svg.price-chart")
    expect(history).to_be_visible()
    assert history.bounding_box()["width"] > 300
    expect(history.locator("circle")).to_have_count(2)
    expect(page.locator("#prices svg.depth-chart")).to_be_visible()
    expect(
        page.get_by_role("img", name="Prices of Word count by day, the last 30 days")
    ).to_be_visible()

    page.get_by_role("link", name="By hour").click()  # a plain link: no script runs
    expect(page.locator("#prices")).to_contain_text("No trades yet in the last 48 hours.")

    page.goto(live_server.url + quiet.get_absolute_url())
    expect(page.locator("#prices")).to_contain_text("No trades yet in the last 30 days.")
    expect(page.locator("#prices")).to_contain_text("Nothing on offer and no open request now.")
    expect(page.locator("#prices svg")).to_have_count(0)

    page.goto(live_server.url + "/market/")  # the deals' pools sold XS tasks
    expect(page.locator("#prices svg.price-chart")).to_be_visible()
    page.locator("#prices").get_by_role("link", name="XL").click()
    expect(page.locator("#prices")).to_contain_text("No trades yet in the last 30 days.")
    assert page.evaluate("window.__violations") == []
    context.close()
