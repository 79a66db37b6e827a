"""The deal page in Chromium follows a running task over its websocket: the task's progress
bar moves when its worker reports a new percent, without reloading the page.

pytest-django's `live_server` speaks WSGI only (no websockets), and channels'
ChannelsLiveServerTestCase runs Daphne in another process, which SQLite's in-memory test
database and the in-memory channel layer do not reach. So this module serves marketplace.asgi
with Daphne in a thread of the test process: the test's heartbeats and the server's consumers
share the database and the channel layer, as the web process and the worker API do in
production."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.test import Client
from playwright.sync_api import expect

from pools import scheduler
from tests.marketplace.chain.hub_helpers import Market
from tests.pools.test_progress import started_deal, user_of

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def asgi_server():
    """The URL of Daphne serving pages, static files and websockets from this process.

    Twisted's reactor runs once per process: one server for the module."""
    from daphne.server import Server
    from twisted.internet import reactor

    from marketplace.asgi import application

    if reactor.running or getattr(reactor, "_startedBefore", False):
        pytest.skip("Twisted's reactor already ran in this process: it cannot start again.")
    server = Server(
        application=ASGIStaticFilesHandler(application),
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        signal_handlers=False,
    )
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.listening_addresses:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("Daphne did not start listening.")
        time.sleep(0.05)
    host, port = server.listening_addresses[0]
    yield f"http://{host}:{port}"
    reactor.callFromThread(reactor.stop)
    thread.join(timeout=10)


def test_the_progress_bar_moves_when_the_worker_reports(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    # Given a running task of an operated pool, handed to a worker, and its requester's page
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    dealid = started_deal(market, hub_deployment)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    client = Client()
    client.force_login(user_of(market.requester.address))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": asgi_server}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{asgi_server}/deals/{dealid}/")

    live = page.locator("#deal-live")
    bar = page.locator("#task-0 [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "0.0")  # rendered by the server
    expect(live).to_have_attribute("data-seq", "1")  # the websocket's first snapshot

    # When the worker reports 42 %, then 80 %
    scheduler.replicate_heartbeat(replicate=replicate, percent=42, message="page 3 of 7")

    # Then the bar moves, without reloading the page
    expect(bar).to_have_attribute("aria-valuenow", "42.0")
    expect(bar.locator("span")).to_have_attribute("style", "width:42.0%")
    expect(page.locator("#task-0 .task-percent")).to_have_text("42 %")
    expect(page.locator("#task-0 .replicate-message")).to_have_text("page 3 of 7")
    expect(page.locator(".deal-timeline li").last).to_contain_text("running, 42 %")

    scheduler.replicate_heartbeat(replicate=replicate, percent=80)
    expect(bar).to_have_attribute("aria-valuenow", "80.0")
    expect(page.locator(".deal-percent")).to_have_text("80.0 %")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    context.close()
