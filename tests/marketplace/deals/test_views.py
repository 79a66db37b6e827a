"""The deal page (also before the indexer has seen the deal) and a user's deals."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from frontend.templatetags.ui import ect_units
from marketplace.catalogue import services
from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.chain.orders import sign_order
from marketplace.indexer.models import Deal, TaskStatus
from tests.chain_scaffold import ECT, Market, Orders, new_digest
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db

WAITING = "Deal sent, waiting for block…"


@pytest.fixture
def market(chain, opened_market) -> Market:
    return opened_market.copy()


def _request(market: Market, orders: Orders, **fields) -> Orders:
    """`orders` with these request fields changed, signed again by the requester."""
    request = dataclasses.replace(orders.request, **fields)
    return dataclasses.replace(
        orders,
        request=request,
        request_sign=sign_order(request, market.domain, market.requester.key),
    )


def _deal_url(dealid: bytes) -> str:
    return reverse("deal_detail", args=["0x" + dealid.hex()])


def _published(address: str) -> Listing:
    return services.listing_curate(
        listing=Listing.objects.get(chain_address=address),
        actor=UserFactory(is_staff=True),
        action="approve",
        reason="ok",
    )


def _cheap_deal(market: Market, **request_fields) -> bytes:
    orders = market.sign_orders(app_price=2 * ECT, dataset_price=None, workerpool_price=ECT)
    return market.match(_request(market, orders, **request_fields) if request_fields else orders)


def test_the_deal_page_shows_what_was_bought_and_how_far_it_is(client, market, hub_deployment):
    # Given a deal of 3 tasks with a dataset and input files: one completed, one running
    orders = market.sign_orders(
        app_price=2 * ECT, dataset_price=ECT // 2, workerpool_price=ECT, volume=3
    )
    params = {"args": "--words 3", "input_files": ["https://example.org/in.txt", "ipfs://Qm1"]}
    dealid = market.match(_request(market, orders, params=json.dumps(params)))
    tx_hash = "0x" + bytes(market.w3.eth.get_block("latest")["transactions"][0]).hex()
    taskid = market.initialize(dealid, 0)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    market.initialize(dealid, 1)
    index_to_head(hub_deployment)
    app = _published(market.app)  # the dataset's listing stays pending: no link to it

    page = client.get(_deal_url(dealid)).content.decode()

    assert WAITING not in page and 'hx-trigger="every' not in page
    assert f'<a href="/apps/{app.slug}/">Word count</a>' in page
    dataset = Listing.objects.get(chain_address=market.dataset)
    assert "Corpus" in page and dataset.get_absolute_url() not in page
    assert "Pool A" in page
    for address in (market.app, market.dataset, market.workerpool, tx_hash):
        assert address in page
    requester = market.requester.address
    assert f'href="/wallets/{requester}/">{requester}</a>' in page  # requester and beneficiary
    assert "XS <span" in page and "<dt>Trust</dt><dd>1</dd>" in page
    assert "<dt>Volume</dt><dd>3 tasks</dd>" in page
    for price in ("2 ECT", "0.5 ECT", "1 ECT", "<strong>3.5 ECT</strong>", "<strong>10.5 ECT"):
        assert price in page
    assert '<code class="wrap-any">--words 3</code>' in page
    assert '<a class="mono wrap-any" href="https://example.org/in.txt"' in page
    assert '<span class="mono wrap-any">ipfs://Qm1</span>' in page  # not a web link
    assert '<span class="badge ok">Completed</span>' in page
    assert '<span class="badge wait">Running</span>' in page
    for count, state in ((1, "completed"), (0, "failed"), (1, "running"), (1, "not started")):
        assert f"<li><strong>{count}</strong> {state}</li>" in page
    assert "1 task not started yet" in page
    assert 'class="done w-33"' in page  # a third of the bar


def test_a_deal_sent_but_not_indexed_yet_waits_then_shows(client, market, hub_deployment, settings):
    settings.HUB_ADDRESS = hub_deployment.hub
    dealid = _cheap_deal(market)  # on chain, not indexed

    page = client.get(_deal_url(dealid)).content.decode()
    poll = client.get(_deal_url(dealid), headers={"HX-Request": "true"}).content.decode()

    assert WAITING in page
    assert f'hx-get="{_deal_url(dealid)}" hx-trigger="every 2s" hx-swap="outerHTML"' in page
    assert "The chain has this deal: 1 task at 3 ECT each." in page
    assert f'<a href="{_deal_url(dealid)}">Check again</a>' in page  # without JavaScript
    assert poll.lstrip().startswith('<div id="deal"') and "<html" not in poll
    assert WAITING in poll and 'hx-trigger="every 2s"' in poll

    index_to_head(hub_deployment)
    shown = client.get(_deal_url(dealid), headers={"HX-Request": "true"}).content.decode()

    assert "<html" not in shown and 'id="deal"' in shown
    assert WAITING not in shown and "hx-trigger" not in shown  # polling stops
    assert "<li><strong>1</strong> not started</li>" in shown
    assert "<strong>3 ECT</strong>" in shown


def test_a_deal_the_chain_does_not_know_is_waited_for_with_a_hint(
    client, market, hub_deployment, settings
):
    settings.HUB_ADDRESS = hub_deployment.hub

    page = client.get(reverse("deal_detail", args=["0x" + "ab" * 32])).content.decode()

    assert WAITING in page
    assert "The chain does not have this deal yet" in page
    assert "check the deal id" in page


def test_a_waiting_page_says_when_the_chain_cannot_be_asked(client, settings):
    settings.HUB_ADDRESS = "0x" + "11" * 20
    settings.WEB3_RPC_URL = "http://127.0.0.1:9"  # nothing listens there

    page = client.get(reverse("deal_detail", args=["0x" + "ab" * 32])).content.decode()

    assert WAITING in page
    assert "The chain cannot be asked right now (the chain node does not answer)" in page


def test_a_malformed_deal_id_is_a_page_that_says_what_an_id_is(client):
    answer = client.get(reverse("deal_detail", args=["0x1234"]))

    assert answer.status_code == 400
    assert "“0x1234” is not a deal id: a deal id is 0x followed by 64 hexadecimal" in (
        answer.content.decode()
    )


def test_the_deal_page_costs_the_same_queries_whatever_its_size(
    client, market, hub_deployment, django_assert_max_num_queries
):
    # Given a deal of one task with one contribution, and one of 4 tasks with 2 each
    small = market.match(market.sign_orders(app_price=0, dataset_price=None, workerpool_price=0))
    market.contribute(market.workers[0], market.initialize(small), new_digest())
    orders = market.sign_orders(
        app_price=ECT, dataset_price=ECT, workerpool_price=ECT, volume=4, trust=3
    )
    big = market.match(orders)
    for idx in range(4):
        taskid = market.initialize(big, idx)
        digest = new_digest()
        for worker in market.workers[:2]:
            market.contribute(worker, taskid, digest)
    index_to_head(hub_deployment)
    _published(market.app)
    _published(market.workerpool)
    client.get(_deal_url(small))  # caches every page shares are warm

    # the freshness, the deal, its tasks, their contributions, the assets with their listings
    # (and what every page of the site reads)
    with CaptureQueriesContext(connection) as one_task:
        client.get(_deal_url(small))
    with django_assert_max_num_queries(len(one_task)):
        page = client.get(_deal_url(big)).content.decode()

    assert page.count('<span class="badge wait">Revealing</span>') == 4


def test_my_deals_needs_signing_in(client):
    answer = client.get(reverse("deal_list"))

    assert answer.status_code == 302
    assert answer.url.startswith(reverse("account_login"))


def test_my_deals_are_those_of_my_wallets(client, market, hub_deployment):
    # Given a deal the requester buys for themselves, and one they buy for a receiver
    receiver = market.workers[3].address
    own = "0x" + _cheap_deal(market).hex()
    given = "0x" + _cheap_deal(market, beneficiary=receiver).hex()
    index_to_head(hub_deployment)
    buyer = WalletFactory(address=market.requester.address).user
    WalletFactory(user=buyer)  # a second wallet of theirs, in no deal
    receiving = WalletFactory(address=receiver).user

    client.force_login(buyer)
    mine = client.get(reverse("deal_list")).content.decode()
    client.force_login(receiving)
    theirs = client.get(reverse("deal_list")).content.decode()

    assert f'href="/deals/{own}/"' in mine and f'href="/deals/{given}/"' in mine
    assert mine.index(given) < mine.index(own)  # newest first
    assert mine.count("<td>requester and beneficiary</td>") == 1
    assert mine.count("<td>requester</td>") == 1
    assert mine.count("<td>Word count</td>") == mine.count("<td>Pool A</td>") == 2
    assert "0 of 1 done" in mine and "3 ECT" in mine
    assert f'href="/deals/{given}/"' in theirs and own not in theirs
    assert "<td>beneficiary</td>" in theirs
    assert '<a href="/deals/">My deals</a>' in mine  # the header's link


def test_my_deals_empty_states_point_the_way(client, market, hub_deployment):
    _cheap_deal(market)
    index_to_head(hub_deployment)
    stranger = WalletFactory().user
    walletless = UserFactory()

    client.force_login(stranger)
    empty = client.get(reverse("deal_list")).content.decode()
    client.force_login(walletless)
    unlinked = client.get(reverse("deal_list")).content.decode()

    assert "No deals yet." in empty and "/deals/0x" not in empty
    assert f'<a class="btn" href="{reverse("app_list")}">Browse the DApp Store</a>' in empty
    assert "No wallet is linked to your account." in unlinked
    assert f'href="{reverse("wallet_list")}">link the wallet you buy with</a>' in unlinked


def test_my_deals_come_a_page_at_a_time(client, market, hub_deployment, monkeypatch):
    monkeypatch.setattr("marketplace.deals.views.DEALS_PER_PAGE", 2)
    dealids = ["0x" + _cheap_deal(market).hex() for _ in range(3)]
    index_to_head(hub_deployment)
    client.force_login(WalletFactory(address=market.requester.address).user)

    first = client.get(reverse("deal_list")).content.decode()
    second = client.get(reverse("deal_list"), {"page": 2}).content.decode()

    assert dealids[2] in first and dealids[1] in first and dealids[0] not in first
    assert dealids[0] in second
    assert "Page 1 of 2" in first and 'href="?page=2" rel="next"' in first


def test_a_task_has_a_page_of_its_own_linked_from_the_deal(client, market, hub_deployment):
    orders = market.sign_orders(
        app_price=2 * ECT, dataset_price=None, workerpool_price=ECT, volume=2
    )
    dealid = market.match(orders)
    taskid = market.initialize(dealid, 0)
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    index_to_head(hub_deployment)
    key = "0x" + dealid.hex()
    task_url = reverse("task_detail", args=[key, 0])

    assert f'href="{task_url}"' in client.get(_deal_url(dealid)).content.decode()
    page = client.get(task_url).content.decode()
    assert "Task 0" in page and "0x" + taskid.hex() in page
    assert 'role="progressbar" aria-label="Task 0"' in page
    assert f'ws-connect="/ws/deals/{key}/?format=html&amp;task=0"' in page
    assert "Contributions on chain" in page
    assert "Task #1" not in page  # the other task's events are on its own page
    waiting = client.get(reverse("task_detail", args=[key, 1])).content.decode()
    assert "has not started this task on chain yet" in waiting

    missing = client.get(reverse("task_detail", args=[key, 2]))
    assert missing.status_code == 404
    assert "its tasks are numbered 0 to 1" in missing.content.decode()
    assert client.get(reverse("task_detail", args=["0x12", 0])).status_code == 404


def test_my_deals_say_where_each_stands_and_lead_to_their_results(client):
    # Given a buyer's deals as indexed: one waiting for its pool, one running, one completed
    # with its result, one of two completed tasks, and one whose only task failed
    wallet = WalletFactory()
    start = timezone.now() - datetime.timedelta(minutes=5)

    def deal(volume: int = 1):
        return DealFactory(requester=wallet.address, volume=volume, start_time=start)

    matched = deal()
    running = deal()
    TaskFactory(deal=running, status=TaskStatus.ACTIVE, result_digest="")
    done = deal()
    result = TaskFactory(deal=done)
    pair = deal(volume=2)
    TaskFactory(deal=pair, idx=0)
    TaskFactory(deal=pair, idx=1)
    failed = deal()
    TaskFactory(deal=failed, status=TaskStatus.FAILED, result_digest="")
    Deal.objects.filter(pk=failed.pk).update(tasks_failed=1)
    client.force_login(wallet.user)

    html = client.get(reverse("deal_list")).content.decode()

    assert "<th>Status</th>" in html
    rows = {
        one.dealid: html[html.index(f'href="/deals/{one.dealid}/"') :].split("</tr>", 1)[0]
        for one in (matched, running, done, pair, failed)
    }
    assert "Matched: waiting for the pool to start its tasks" in rows[matched.dealid]
    assert 'class="badge wait">Running<' in rows[running.dealid]
    assert 'class="badge ok">Completed<' in rows[done.dealid]
    assert 'class="badge bad">Failed: the payer is refunded<' in rows[failed.dealid]
    # A failed deal's total shows what went back to the payer; the others refund nothing
    assert f"{ect_units(failed.task_price)} refunded</span>" in rows[failed.dealid]
    assert "refunded</span>" not in rows[done.dealid]
    # Then each deal with results leads to them: the one result, or the deal's list of tasks
    result_url = reverse("task_result", args=[result.taskid])
    assert f'<a class="btn btn-small" href="{result_url}">View result</a>' in rows[done.dealid]
    assert f'href="/deals/{pair.dealid}/#tasks">View 2 results</a>' in rows[pair.dealid]
    for dealid in (matched.dealid, running.dealid, failed.dealid):
        assert "View result" not in rows[dealid]


def _crumbs(page: str) -> str:
    return page.split('<nav class="crumbs" aria-label="Breadcrumb">', 1)[1].split("</nav>", 1)[0]


@pytest.mark.parametrize("visitor", ["anonymous", "stranger", "requester", "beneficiary"])
def test_the_deal_and_task_pages_lead_back_to_my_deals_only_for_its_parties(client, visitor):
    requester, beneficiary = WalletFactory(), WalletFactory()
    task = TaskFactory(
        status=TaskStatus.ACTIVE,
        deal__requester=requester.address,
        deal__beneficiary=beneficiary.address,
    )
    if visitor != "anonymous":
        wallet = {"requester": requester, "beneficiary": beneficiary}.get(visitor)
        client.force_login((wallet or WalletFactory()).user)

    deal_page = client.get(reverse("deal_detail", args=[task.dealid])).content.decode()
    task_page = client.get(reverse("task_detail", args=[task.dealid, task.idx])).content.decode()

    party = visitor in ("requester", "beneficiary")
    assert ("My deals" in _crumbs(deal_page)) is party
    assert ("My deals" in _crumbs(task_page)) is party


def test_the_deal_page_leaves_the_index_line_to_the_pages_foot(client):
    # Given an indexed deal: its page shows how far the index is in one place, the footer's
    task = TaskFactory(status=TaskStatus.ACTIVE, result_digest="")

    html = client.get(reverse("deal_detail", args=[task.dealid])).content.decode()

    assert "Indexed to block" not in html and 'class="freshness' not in html
    assert f'hx-get="{reverse("index_status")}"' in html


def test_a_task_given_up_says_refunded_and_its_stderr_is_for_the_buyer_only(
    client, market, hub_deployment
):
    from pools import lifecycle, scheduler
    from pools.work import replicate_fail
    from tests.marketplace.deals.test_progress import started_deal
    from tests.pools.members import admit

    # Given a task of an operated pool whose app failed alike on two workers, saying why
    admit(market.workerpool, market.workers)
    dealid = started_deal(market, hub_deployment)
    stderr = "reading /input/drawing.svg\n<b>error</b>: not an SVG document"
    for worker in market.workers[:2]:
        replicate = scheduler.replicate_assign(
            chain_id=31337, worker=worker.address, pool=market.workerpool
        )
        replicate_fail(
            replicate=replicate,
            reason="The app did not finish: exit code 3.",
            app_fault=True,
            exit_code=3,
            stderr_tail=stderr,
        )
    # When the scheduler gives it up (the chain refunds the buyer at once) and the index sees it
    assert lifecycle.scheduler_round(chain_id=31337, hub=market.hub).refunded == 1
    index_to_head(hub_deployment)
    lifecycle.scheduler_round(chain_id=31337, hub=market.hub)
    deal_url = reverse("deal_detail", args=[dealid])
    task_url = reverse("task_detail", args=[dealid, 0])

    # Then everyone reads that it was given up and refunded, and how much
    client.force_login(UserFactory())
    for page in (client.get(deal_url).content.decode(), client.get(task_url).content.decode()):
        assert '<span class="badge bad">Given up: refunded</span>' in page
        assert '<span class="refunded">2 ECT</span>' in page
        assert "not an SVG document" not in page and "Exit status" not in page
    stranger_deal = client.get(deal_url).content.decode()
    assert (
        '<li><strong>1</strong> failed <span class="muted">(1 given up by the pool)</span>, '
        '<span class="refunded">2 ECT refunded</span></li>'
    ) in stranger_deal
    # And the buyer reads the app's exit status and the end of its stderr, escaped
    client.force_login(WalletFactory(address=market.requester.address).user)
    deal_page = client.get(deal_url).content.decode()
    assert "Exit status 3. The app's last words: " in deal_page
    assert (
        '<code class="wrap-any">&lt;b&gt;error&lt;/b&gt;: not an SVG document</code>' in deal_page
    )
    assert "(<a href=" in deal_page and '#workers">all of its stderr</a>)' in deal_page
    task_page = client.get(task_url).content.decode()
    assert "<summary>Exit status 3; the last lines of its stderr</summary>" in task_page
    # No result will come: the page says why, not "not yet"
    assert "none: the pool gave the task up, and its price went back to the payer" in task_page
    assert "not yet" not in task_page
    assert (
        '<pre class="mono wrap-any">reading /input/drawing.svg\n'
        "&lt;b&gt;error&lt;/b&gt;: not an SVG document</pre>"
    ) in task_page
    assert "<b>error</b>" not in task_page


def _deal_reading_a_dataset(*, listed: dict | None = None) -> tuple[str, str]:
    """The url of a deal whose arguments name {dataset}, and its dataset's address. The dataset
    is indexed and listed here, uploaded as "poster.svg", with these listing fields (None: not
    listed)."""
    from eth_account import Account

    from marketplace.indexer.models import Asset
    from tests.factories.catalogue import DatasetFactory

    address = Account.create().address
    deal = DealFactory(
        dataset=address, params=json.dumps({"args": "--width 1024 {dataset} /output/out.png"})
    )
    listing = None
    if listed is not None:
        listing = DatasetFactory(
            original_name="poster.svg", listing__chain_address=address, **listed
        ).listing
    Asset.objects.create(
        chain_id=31337,
        address=address,
        kind="dataset",
        owner=Account.create().address,
        listing=listing,
        name="Single poster drawing",
        registered_block=1,
        block_number=1,
    )
    return reverse("deal_detail", args=[deal.dealid]), address


def _arguments(page: str) -> str:
    return page.split("<dt>Arguments</dt><dd>", 1)[1].split("</dd>", 1)[0]


def test_the_deal_page_gives_the_arguments_as_the_worker_runs_them(client):
    # Given a deal reading a listed dataset through {dataset}
    url, _ = _deal_reading_a_dataset(listed={})

    page = client.get(url).content.decode()

    # Then its arguments name the dataset's file where the worker puts it, in /input
    assert _arguments(page) == (
        '<code class="wrap-any">--width 1024 /input/poster.svg /output/out.png</code>'
    )


def test_a_dataset_without_a_listing_here_is_read_under_its_default_name(client):
    url, _ = _deal_reading_a_dataset(listed=None)

    page = client.get(url).content.decode()

    assert "--width 1024 /input/dataset /output/out.png</code>" in _arguments(page)


def test_the_file_name_of_a_dataset_whose_listing_is_hidden_is_its_owners_to_read(client):
    # Given a deal reading a dataset whose listing is not published
    owner = UserFactory()
    url, address = _deal_reading_a_dataset(
        listed={"listing__status": CurationStatus.PENDING, "listing__owner": owner}
    )

    # Then a stranger reads where {dataset} stands, not the file's name
    client.force_login(UserFactory())
    page = client.get(url).content.decode()
    assert "poster.svg" not in page
    assert _arguments(page) == (
        '<code class="wrap-any">--width 1024 {dataset} /output/out.png</code><br>'
        '<span class="muted small">{dataset} stands for the file of the dataset '
        f'<span class="mono">{address}</span> in /input; its listing is not public.</span>'
    )

    # And its owner reads the arguments as the worker runs them
    client.force_login(owner)
    page = client.get(url).content.decode()
    assert _arguments(page) == (
        '<code class="wrap-any">--width 1024 /input/poster.svg /output/out.png</code>'
    )


@pytest.mark.parametrize("visitor", ["anonymous", "stranger", "requester", "pool owner"])
def test_a_result_is_a_link_only_for_those_who_may_open_it(client, visitor):
    requester, owner = WalletFactory(), WalletFactory()
    task = TaskFactory(deal__requester=requester.address, deal__workerpool_owner=owner.address)
    task.results = reverse("task_result", args=[task.taskid])
    task.save()
    if visitor != "anonymous":
        wallet = {"requester": requester, "pool owner": owner}.get(visitor)
        client.force_login((wallet or WalletFactory()).user)

    for page in (
        client.get(reverse("deal_detail", args=[task.dealid])).content.decode(),
        client.get(reverse("task_detail", args=[task.dealid, task.idx])).content.decode(),
    ):
        linked = f'<a href="{task.results}">result</a>' in page
        assert linked is (visitor in ("requester", "pool owner"))
        assert ("result (for the deal's parties)" in page) is not linked
