"""The header's bell in Chromium lights up live when a deal of the signed-in buyer finishes: its
task is finalized on chain and indexed while the page stays open, and the bell's count comes
over the websocket without a reload; it leads to the notification.

Pages come from Daphne in a thread of the test process (`asgi_server`, tests/e2e/conftest.py):
the indexer's follower and the bell's consumer share the database and the channel layer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.chain_scaffold import ECT, Market, new_digest
from tests.e2e.test_deal_live import _signed_in_page
from tests.marketplace.deals.test_progress import user_of
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_bell_lights_up_when_the_buyers_deal_finishes(
    asgi_server, browser, chain, hub_deployment, dev_accounts, settings
):
    # Given a deal of one running task, and its buyer on the home page
    settings.NOTIFICATIONS_POLL_SECONDS = 60  # the bell must hear of it, not poll for it
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    dealid = market.match(
        market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT)
    )
    taskid = market.initialize(dealid)
    index_to_head(hub_deployment)
    page = _signed_in_page(browser, asgi_server, user_of(market.requester.address))
    page.goto(f"{asgi_server}/")
    bell = page.locator("#notification-bell")
    expect(bell).to_have_attribute("data-unread", "0")
    expect(bell.locator(".bell-count")).to_have_count(0)

    # When its worker's result is revealed, the pool finalizes, and the index sees it
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    index_to_head(hub_deployment)

    # Then the bell shows one unread notification, without reloading the page
    expect(bell).to_have_attribute("data-unread", "1")
    expect(bell.locator(".bell-count")).to_have_text("1")
    expect(bell).to_have_class("bell bell-lit")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    # and leads to the notification, which leads to the deal
    bell.click()
    expect(page).to_have_url(f"{asgi_server}/notifications/")
    told = page.locator(".notification.unread .notification-title a")
    expect(told).to_have_text("Your deal of Word count finished: 1 of 1 task completed")
    told.click()
    expect(page).to_have_url(f"{asgi_server}/deals/0x{dealid.hex()}/")
    page.context.close()
