"""What people see of the index: listing pages' on-chain records, the freshness line of every
page, and the API's status and headers."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from marketplace.catalogue import services
from marketplace.catalogue.models import Listing
from marketplace.indexer.engine import Indexer
from marketplace.indexer.models import IndexerState, IndexerStatus
from tests.chain_scaffold import ECT, Market, new_digest
from tests.factories.accounts import UserFactory
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _sell_one_task(market: Market) -> None:
    orders = market.sign_orders(app_price=2 * ECT, dataset_price=None, workerpool_price=ECT)
    taskid = market.initialize(market.match(orders))
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)


def _published(address: str) -> Listing:
    listing = Listing.objects.get(chain_address=address)
    return services.listing_curate(
        listing=listing, actor=UserFactory(is_staff=True), action="approve", reason="ok"
    )


def test_a_listing_page_shows_its_assets_record(client, market, hub_deployment):
    _sell_one_task(market)
    index_to_head(hub_deployment)
    app = _published(market.app)

    page = client.get(app.get_absolute_url()).content.decode()
    assert "tasks completed" in page
    assert "100 %" in page  # success rate
    assert "2 ECT" in page  # earned
    assert market.app_owner.address in page
    assert "Latest deals" in page and "unconfirmed" not in page
    assert "Indexed to block" in page

    pool = _published(market.workerpool)
    page = client.get(pool.get_absolute_url()).content.decode()
    assert "workers stake 30 % of the price" in page
    assert "1 ECT" in page


def test_unconfirmed_figures_are_marked(client, market, hub_deployment):
    _sell_one_task(market)
    index_to_head(hub_deployment, confirmations=1000)
    app = _published(market.app)
    page = client.get(app.get_absolute_url()).content.decode()
    assert "Unconfirmed: the latest of these figures" in page
    assert 'badge warn">unconfirmed' in page


def test_a_listing_not_on_chain_says_so(client):
    from tests.factories.catalogue import AppFactory

    listing = AppFactory().listing
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "Not registered on chain yet" in page


def test_the_freshness_line_says_how_far_the_index_is(client, market, hub_deployment):
    line = client.get(reverse("index_status"), HTTP_HX_REQUEST="true").content.decode()
    assert "not indexed yet" in line

    index_to_head(hub_deployment)
    state = IndexerState.objects.get()
    line = client.get(reverse("index_status"), HTTP_HX_REQUEST="true").content.decode()
    assert f"Indexed to block <strong>{state.checkpoint}</strong>" in line
    assert "second" in line and "⚠" not in line

    IndexerState.objects.update(
        status=IndexerStatus.NODE_UNREACHABLE,
        problem_since=timezone.now() - datetime.timedelta(seconds=90),
    )
    line = client.get(reverse("index_status"), HTTP_HX_REQUEST="true").content.decode()
    assert "The chain node is unreachable for 90 s" in line

    IndexerState.objects.update(
        status=IndexerStatus.FOLLOWING,
        indexed_at=timezone.now() - datetime.timedelta(minutes=10),
        head=state.checkpoint + 40,
    )
    line = client.get(reverse("index_status"), HTTP_HX_REQUEST="true").content.decode()
    assert "10 min ago and is 40 blocks behind" in line


def test_every_page_loads_the_freshness_line(client):
    page = client.get(reverse("home")).content.decode()
    assert f'hx-get="{reverse("index_status")}"' in page
    full = client.get(reverse("index_status")).content.decode()
    assert "Chain index" in full and "Confirmed up to" in full


def test_the_api_says_how_fresh_the_index_is(client, market, hub_deployment):
    _sell_one_task(market)
    index_to_head(hub_deployment)
    state = IndexerState.objects.get()

    status = client.get(reverse("api_index_status")).json()
    assert status["indexed_block"] == state.checkpoint
    assert status["seconds_ago"] >= 0 and status["warning"] == ""

    answer = client.get(reverse("api_v1_app_list"))
    assert answer["X-Indexed-Block"] == str(state.checkpoint)
    assert int(answer["X-Indexed-Age"]) >= 0

    app = _published(market.app)
    detail = client.get(reverse("api_v1_app_detail", args=[app.slug])).json()
    assert detail["on_chain"]["tasks_completed"] == 1
    assert detail["on_chain"]["revenue_units"] == str(2 * ECT)
    assert detail["on_chain"]["unconfirmed"] is False


@pytest.mark.django_db(transaction=True)
def test_a_listing_page_shows_a_sale_within_seconds_while_the_indexer_runs(
    client, market, hub_deployment
):
    if connection.vendor == "sqlite":
        pytest.skip("an indexer thread beside the test needs PostgreSQL (CI runs it there)")
    stop = threading.Event()
    indexer = Indexer(deployment=hub_deployment, poll_seconds=0.2)

    def follow() -> None:
        try:
            indexer.run(stop=stop)
        finally:
            indexer.stop()
            connections.close_all()  # this thread's own connection, or the test database stays

    worker = threading.Thread(target=follow, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not Listing.objects.filter(chain_address=market.app).exists():
            assert time.monotonic() < deadline, "the registration was never indexed"
            time.sleep(0.1)
        app = _published(market.app)
        _sell_one_task(market)
        while (
            "<strong>1</strong><span>tasks completed"
            not in client.get(app.get_absolute_url()).content.decode()
        ):
            assert time.monotonic() < deadline, "the sale never reached the listing page"
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(timeout=30)
