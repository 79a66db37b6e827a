"""The deal page in Chromium follows a running task over its websocket: the task's progress
bar moves when its worker reports a new percent, without reloading the page; and while a real
worker agent (in a thread, using the same server's worker API) runs a bought task to its
finalization, the buyer watches the bar reach 100 %, then downloads the result, verified
against the digest on chain.

Pages come from Daphne in a thread of the test process (`asgi_server`, tests/e2e/conftest.py):
the test's heartbeats and the server's consumers share the database and the channel layer."""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from marketplace.indexer.models import Task
from pools import lifecycle, scheduler
from tests.chain_scaffold import Market
from tests.factories.deals import DealFactory
from tests.marketplace.deals.test_progress import started_deal, user_of
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit
from tests.worker import test_agent
from worker.agent import Agent

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

bought = test_agent.bought  # the fixture: resvg and an encrypted drawing, a started deal


def _signed_in_page(browser, server: str, user) -> Page:
    """A page of a new browser context holding `user`'s session on `server`."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server}]
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


def test_the_progress_bar_moves_when_the_worker_reports(
    asgi_server, browser, chain, hub_deployment, dev_accounts
):
    # Given a running task of an operated pool, handed to a worker, and its requester's page
    market = Market.open(w3=chain, deployment=hub_deployment, accounts=dev_accounts)
    admit(market.workerpool, market.workers)
    dealid = started_deal(market, hub_deployment)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    page = _signed_in_page(browser, asgi_server, user_of(market.requester.address))
    page.goto(f"{asgi_server}/deals/{dealid}/")

    live = page.locator("#deal-live")
    bar = page.locator("#task-0 [role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "0.0")  # rendered by the server
    expect(live).to_have_attribute("data-seq", "1")  # the websocket's first snapshot

    # When the worker reports 42 %, then 80 %
    scheduler.replicate_heartbeat(replicate=replicate, percent=42, message="page 3 of 7")

    # Then the bar moves, without reloading the page
    expect(bar).to_have_attribute("aria-valuenow", "42.0")
    expect(bar.locator("span")).to_have_class("w-42")
    expect(page.locator("#task-0 .task-percent")).to_have_text("42 %")
    expect(page.locator("#task-0 .replicate-message")).to_have_text(
        "The worker says: “page 3 of 7”"
    )
    expect(page.locator(".deal-timeline li").last).to_contain_text("running, 42 %")

    scheduler.replicate_heartbeat(replicate=replicate, percent=80)
    expect(bar).to_have_attribute("aria-valuenow", "80.0")
    expect(page.locator(".deal-percent")).to_have_text("80.0 %")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    page.context.close()


def test_the_buyer_watches_a_task_finish_and_downloads_its_verified_result(
    asgi_server, browser, bought, anvil, hub_deployment, settings, tmp_path
):
    # Given a bought task started by the scheduler, and its requester on the deal's page
    settings.PROGRESS_POLL_SECONDS = 0.5  # how soon the page sees what the chain did
    market, _, _ = bought
    task = Task.objects.get()
    page = _signed_in_page(browser, asgi_server, user_of(market.requester.address))
    page.goto(f"{asgi_server}/deals/{task.dealid}/")
    live = page.locator("#deal-live")
    row = page.locator("#task-0")
    bar = row.locator("[role=progressbar]")
    expect(bar).to_have_attribute("aria-valuenow", "0.0")
    expect(live).to_have_attribute("data-seq", "1")  # following the deal over its websocket
    agent = Agent(
        site=asgi_server,  # Daphne serves the worker API too
        account=market.workers[0],
        pool=market.workerpool,
        rpc_url=anvil.url,
        chain_id=31337,
        work_dir=tmp_path / "agent",
    )

    # When a worker runs it in the sandbox (downloads, decrypts, renders, uploads, contributes)
    with concurrent.futures.ThreadPoolExecutor(thread_name_prefix="agent") as agent_thread:
        working = agent_thread.submit(agent.run_once)
        replicate = row.locator(".replicate-status")
        # The agent compiles the app first (about 13 s for resvg on a quiet machine, several
        # times that on a loaded one): the page has that long to show the contribution.
        expect(replicate).to_have_attribute("data-status", "contributed", timeout=90_000)
        assert working.result(timeout=30) is True
    # Its work is done but the chain has not finished the task: not 100 % yet.
    expect(bar).to_have_attribute("aria-valuenow", "99.0")
    expect(live).to_have_attribute("data-status", "running")
    # and the index sees the consensus (trust 1), the worker reveals, the pool finalizes
    index_to_head(hub_deployment)
    expect(row).to_have_attribute("data-status", "revealing")
    assert agent.run_once() is False  # revealed; no other work
    expect(replicate).to_have_attribute("data-status", "revealed")
    expect(bar).to_have_attribute("aria-valuenow", "99.0")
    index_to_head(hub_deployment)
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).finalized == 1
    index_to_head(hub_deployment)

    # Then the bar reaches 100 %, the deal is completed and its result is a link away
    expect(bar).to_have_attribute("aria-valuenow", "100.0")
    expect(bar.locator("span")).to_have_class("w-100")
    expect(row.locator(".task-percent")).to_have_text("100 %")
    expect(live).to_have_attribute("data-status", "completed")
    expect(page.locator(".deal-status .badge")).to_have_text("Completed")
    expect(page.locator(".deal-percent")).to_have_text("100.0 %")
    expect(page.locator(".deal-timeline li").last).to_contain_text("Task #0 finalized")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1

    digest = "0x" + market.hub.task(task.taskid).result_digest.hex()
    row.get_by_role("link", name="Result").click()
    expect(page).to_have_url(f"{asgi_server}/results/{task.taskid}/")
    expect(page.locator(".result-check [role=status]")).to_contain_text("Verified.")
    expect(page.locator(".result-check dd.mono")).to_have_text(digest)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download").click()
    download = downloading.value
    assert download.suggested_filename == f"result-{task.taskid[:12]}.tar"
    assert "0x" + hashlib.sha256(Path(download.path()).read_bytes()).hexdigest() == digest
    page.context.close()


def test_the_time_a_deal_started_stays_relative_to_now_while_its_page_is_open(live_server, page):
    # Given a deal started two seconds before the browser's clock
    started = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    deal = DealFactory(start_time=started)
    page.clock.install(time=started)
    page.clock.pause_at(started + datetime.timedelta(seconds=2))  # time moves only when told
    page.goto(f"{live_server.url}/deals/{deal.dealid}/")
    since = page.locator("time[data-relative]")
    expect(since).to_have_text("2\u00a0seconds ago")

    # When the page stays open for five minutes, then for a day and three hours
    page.clock.fast_forward("05:00")
    expect(since).to_have_text("5\u00a0minutes ago")
    page.clock.fast_forward("27:00:00")

    # Then it says how long ago now, as the server would have
    expect(since).to_have_text("1\u00a0day, 3\u00a0hours ago")
    assert since.get_attribute("datetime") == "2026-03-02T09:00:00+00:00"
