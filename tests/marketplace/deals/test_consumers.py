"""The deal progress websocket (ws/deals/<dealid>/) through the whole ASGI stack (origin check,
sessions, routing): the current state first, then changes in order and only changes; worker
messages only for those who may read them; bad ids and bad messages; notifications after
commit only."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import secrets

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from django.utils import timezone

from marketplace.accounts.models import ApiToken
from marketplace.asgi import application
from marketplace.indexer import notify
from pools import scheduler
from pools.models import Replicate
from tests.chain_scaffold import Market
from tests.factories.accounts import UserFactory
from tests.marketplace.deals.test_progress import started_deal, user_of
from tests.pools.members import admit

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "page 3 of 7 (secret.txt)"
UNKNOWN_DEAL = "0x" + "ab" * 32
QUIET = 0.3  # seconds without a message that count as "nothing was sent"


@pytest.fixture(autouse=True)
async def _fresh_layer():
    """Groups of earlier tests' consumers must not linger in the (process-wide) layer."""
    await get_channel_layer().flush()
    yield


@pytest.fixture(autouse=True)
def _notifications_only(settings):
    """No polling unless a test asks: updates must come from notifications."""
    settings.PROGRESS_POLL_SECONDS = 60


@dataclasses.dataclass
class LiveDeal:
    market: Market
    dealid: str
    replicate: Replicate


@pytest.fixture
def deal(chain, hub_deployment, dev_accounts, opened_market) -> LiveDeal:
    """A deal of one task of an operated pool, started on chain, with a replicate assigned."""
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    dealid = started_deal(market, hub_deployment)
    replicate = scheduler.replicate_assign(
        chain_id=31337, worker=market.workers[0].address, pool=market.workerpool
    )
    return LiveDeal(market=market, dealid=dealid, replicate=replicate)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(path: str, *, cookie: bytes = b"", token: str = "") -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if cookie:
        headers.append((b"cookie", cookie))
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def receive(communicator: WebsocketCommunicator, timeout: float = 3) -> dict:
    return json.loads(await communicator.receive_from(timeout=timeout))


@database_sync_to_async
def beat(replicate: Replicate, percent: float | None = None, message: str = "") -> None:
    scheduler.replicate_heartbeat(replicate=replicate, percent=percent, message=message)


async def test_the_current_state_comes_first_then_each_change_once_in_order(deal):
    cookie = await database_sync_to_async(session_cookie)(
        await database_sync_to_async(user_of)(deal.market.requester.address)
    )
    client = await connect(f"/ws/deals/{deal.dealid}/", cookie=cookie)

    first = await receive(client)
    assert (first["type"], first["seq"]) == ("snapshot", 1)
    snapshot = first["snapshot"]
    assert (snapshot["dealid"], snapshot["status"], snapshot["logs"]) == (
        deal.dealid,
        "running",
        True,
    )
    assert snapshot["tasks"][0]["replicates"][0]["status"] == "assigned"
    assert snapshot["timeline"][0]["kind"] == "matched"
    assert isinstance(snapshot["timeline"][0]["at"], str)  # ISO 8601

    await beat(deal.replicate, 30, SECRET)
    second = await receive(client)
    await beat(deal.replicate, 60)
    third = await receive(client)

    assert [second["seq"], third["seq"]] == [2, 3]
    assert second["snapshot"]["tasks"][0]["percent"] == 30.0
    assert second["snapshot"]["tasks"][0]["replicates"][0]["message"] == SECRET
    assert third["snapshot"]["tasks"][0]["percent"] == 60.0
    assert third["snapshot"]["percent"] == 60.0

    # A notification without a change sends nothing.
    await database_sync_to_async(notify.progress_changed)(deal.dealid)
    assert await client.receive_nothing(timeout=QUIET)
    await client.disconnect()


async def test_a_burst_of_notifications_makes_one_update(deal):
    client = await connect(f"/ws/deals/{deal.dealid}/")
    await receive(client)

    @database_sync_to_async
    def burst() -> None:
        with transaction.atomic():
            scheduler.replicate_heartbeat(replicate=deal.replicate, percent=10)
            for _ in range(20):
                notify.progress_changed(deal.dealid)

    await burst()
    update = await receive(client)

    assert (update["seq"], update["snapshot"]["tasks"][0]["percent"]) == (2, 10.0)
    assert await client.receive_nothing(timeout=QUIET)
    await client.disconnect()


async def test_strangers_and_anonymous_clients_see_statuses_not_what_workers_say(deal):
    @database_sync_to_async
    def cookies() -> dict[str, bytes]:
        market = deal.market
        users = {
            "requester": user_of(market.requester.address),
            "pool owner": user_of(market.scheduler.address),
            "staff": UserFactory(is_staff=True),
            "stranger": user_of(market.workers[1].address),
        }
        return {name: session_cookie(user) for name, user in users.items()} | {"anonymous": b""}

    clients = {
        name: await connect(f"/ws/deals/{deal.dealid}/", cookie=cookie)
        for name, cookie in (await cookies()).items()
    }
    for client in clients.values():
        await receive(client)

    await beat(deal.replicate, 45, SECRET)

    for name, client in clients.items():
        text = await client.receive_from(timeout=3)
        snapshot = json.loads(text)["snapshot"]
        assert snapshot["tasks"][0]["replicates"][0]["percent"] == 45.0, name
        assert snapshot["tasks"][0]["replicates"][0]["status"] == "running", name
        if name in ("stranger", "anonymous"):
            assert snapshot["logs"] is False, name
            assert SECRET not in text and "message" not in snapshot["tasks"][0]["replicates"][0]
        else:
            assert snapshot["logs"] is True, name
            assert snapshot["tasks"][0]["replicates"][0]["message"] == SECRET, name
        await client.disconnect()


async def test_a_script_with_an_api_token_reads_its_own_deal_and_a_bad_token_is_refused(deal):
    @database_sync_to_async
    def token() -> str:
        secret = "se_" + secrets.token_urlsafe(32)
        address = deal.market.requester.address
        ApiToken.objects.create(
            user=user_of(address),
            wallet_address=address,
            key_hash=hashlib.sha256(secret.encode()).hexdigest(),
            expires_at=timezone.now() + datetime.timedelta(hours=1),
        )
        return secret

    await beat(deal.replicate, 5, SECRET)
    script = await connect(f"/ws/deals/{deal.dealid}/", token=await token())
    forged = await connect(f"/ws/deals/{deal.dealid}/", token="se_forged")

    snapshot = (await receive(script))["snapshot"]
    refusal = await receive(forged)

    assert snapshot["logs"] is True
    assert snapshot["tasks"][0]["replicates"][0]["message"] == SECRET
    assert refusal["type"] == "error" and refusal["error"].startswith("Unknown API token")
    assert await forged.receive_output() == {"type": "websocket.close", "code": 4401}
    await script.disconnect()


async def test_reconnecting_shows_the_current_state_first(deal):
    client = await connect(f"/ws/deals/{deal.dealid}/")
    assert (await receive(client))["snapshot"]["tasks"][0]["percent"] == 0.0
    await client.disconnect()

    await beat(deal.replicate, 70)  # while nobody listens
    again = await connect(f"/ws/deals/{deal.dealid}/")
    first = await receive(again)

    assert (first["type"], first["seq"]) == ("snapshot", 1)
    assert first["snapshot"]["tasks"][0]["percent"] == 70.0
    assert await again.receive_nothing(timeout=QUIET)
    await again.disconnect()


async def test_changes_made_elsewhere_arrive_by_polling(deal, settings):
    settings.PROGRESS_POLL_SECONDS = 0.1
    client = await connect(f"/ws/deals/{deal.dealid}/")
    await receive(client)

    # As another process would (the indexer, without Redis): no notification reaches here.
    await database_sync_to_async(Replicate.objects.filter(pk=deal.replicate.pk).update)(
        percent=55, status="running"
    )
    update = await receive(client)

    assert (update["seq"], update["snapshot"]["tasks"][0]["percent"]) == (2, 55.0)
    assert await client.receive_nothing(timeout=QUIET)  # polling sends changes only
    await client.disconnect()


async def test_a_rolled_back_change_sends_nothing_and_a_committed_one_is_sent(deal):
    client = await connect(f"/ws/deals/{deal.dealid}/")
    await receive(client)

    class Rollback(Exception):
        pass

    @database_sync_to_async
    def change(*, commit: bool) -> None:
        try:
            with transaction.atomic():
                scheduler.replicate_heartbeat(replicate=deal.replicate, percent=90)
                if not commit:
                    raise Rollback
        except Rollback:
            pass

    await change(commit=False)
    assert await client.receive_nothing(timeout=QUIET)
    await change(commit=True)
    assert (await receive(client))["snapshot"]["tasks"][0]["percent"] == 90.0
    await client.disconnect()


async def test_the_html_format_sends_fragments_for_the_page_to_swap(deal):
    client = await connect(f"/ws/deals/{deal.dealid}/?format=html")
    first = await client.receive_from(timeout=3)
    await beat(deal.replicate, 35, SECRET)
    second = await client.receive_from(timeout=3)

    assert first.startswith('<div id="deal-live" class="deal-live" hx-swap-oob="true" data-seq="1"')
    assert 'aria-valuenow="0.0"' in first
    assert second.startswith(
        '<div id="deal-live" class="deal-live" hx-swap-oob="true" data-seq="2"'
    )
    assert 'aria-valuenow="35.0"' in second and "35 %" in second
    assert SECRET not in second  # an anonymous viewer
    await client.disconnect()


async def test_a_deal_not_indexed_yet_is_waited_for():
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL.upper().replace('0X', '0x')}/")

    first = await receive(client)

    assert first["snapshot"]["dealid"] == UNKNOWN_DEAL
    assert (first["snapshot"]["status"], first["snapshot"]["indexed"]) == ("waiting", False)
    await client.disconnect()


@pytest.mark.parametrize(
    "path",
    ["/ws/deals/0x1234/", f"/ws/deals/{UNKNOWN_DEAL}00/", "/ws/deals/deal/"],
)
async def test_a_malformed_deal_id_is_closed_with_4400_and_the_reason(path):
    client = await connect(path)

    refusal = await receive(client)

    assert refusal == {
        "type": "error",
        "error": "Not a deal id: a deal id is 0x followed by 64 hexadecimal digits.",
    }
    assert await client.receive_output() == {"type": "websocket.close", "code": 4400}


async def test_an_unknown_format_is_closed_with_4400():
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL}/?format=xml")

    assert (await receive(client))["error"] == "Unknown format: ask for format=json or html."
    assert await client.receive_output() == {"type": "websocket.close", "code": 4400}


async def test_bad_client_messages_get_an_error_and_the_socket_stays_open():
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL}/")
    await receive(client)
    error = {"type": "error", "error": 'Unknown message: the only one is {"type": "ping"}.'}

    for text in ("{not json", "[]", '{"type": "subscribe"}', '"ping"', " "):
        await client.send_to(text_data=text)
        assert await receive(client) == error, text
    await client.send_to(bytes_data=b"\x00\xff")
    assert await receive(client) == error

    await client.send_json_to({"type": "ping"})
    assert await receive(client) == {"type": "pong"}
    await client.disconnect()


async def test_a_page_of_another_site_may_not_connect():
    client = WebsocketCommunicator(
        application, f"/ws/deals/{UNKNOWN_DEAL}/", headers=[(b"origin", b"http://evil.test")]
    )
    connected, _ = await client.connect()

    assert not connected


async def test_a_task_page_follows_its_own_task_only(deal):
    client = await connect(f"/ws/deals/{deal.dealid}/?task=0")
    first = (await receive(client))["snapshot"]
    assert (first["idx"], first["task"]["idx"]) == (0, 0)
    assert [task["idx"] for task in first["tasks"]] == [0]
    assert {event["task"] for event in first["timeline"]} <= {None, 0}
    await beat(deal.replicate, 45)
    assert (await receive(client))["snapshot"]["task"]["percent"] == 45.0
    await client.disconnect()

    html = await connect(f"/ws/deals/{deal.dealid}/?format=html&task=0")
    fragment = await html.receive_from(timeout=3)
    assert fragment.startswith('<div id="deal-live" class="deal-live" hx-swap-oob="true"')
    assert 'aria-label="Task 0"' in fragment and 'aria-valuenow="45.0"' in fragment
    await html.disconnect()

    beyond = await connect(f"/ws/deals/{deal.dealid}/?task=7")
    assert (await receive(beyond))["snapshot"]["task"] is None  # no such task (yet)
    await beyond.disconnect()


@pytest.mark.parametrize("task", ["-1", "one", "1e3", "٣", "²", str(2**64)])
async def test_a_bad_task_index_is_closed_with_4400(task):
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL}/?task={task}")

    assert (await receive(client))["error"] == "task must be a task's index in the deal: 0, 1, 2…"
    assert await client.receive_output() == {"type": "websocket.close", "code": 4400}


TOO_LONG_QUERY = "The query string is over 256 bytes: ask with format=json or html and task=N only."


@pytest.mark.parametrize(
    ("query", "error"),
    [
        pytest.param(
            "task=" + "9" * 21, "task must be a task's index in the deal: 0, 1, 2…", id="21 digits"
        ),
        pytest.param("task=" + "9" * 5000, TOO_LONG_QUERY, id="5000 digits"),
        pytest.param("format=json&" + "x=1&" * 100, TOO_LONG_QUERY, id="many fields"),
    ],
)
async def test_an_oversized_query_is_closed_with_4400_before_it_is_parsed(query, error, caplog):
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL}/?{query}")

    assert (await receive(client))["error"] == error
    assert await client.receive_output() == {"type": "websocket.close", "code": 4400}
    assert not [record for record in caplog.records if record.levelname == "ERROR"]


UNKNOWN_MESSAGE = 'Unknown message: the only one is {"type": "ping"}.'
TOO_LONG = 'Message over 1024 characters, not read: the only message is {"type": "ping"}.'


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("[" * 1000, UNKNOWN_MESSAGE, id="deep list"),
        pytest.param('{"a":' * 150 + "1" + "}" * 150, UNKNOWN_MESSAGE, id="deep object"),
        pytest.param("[" * 100_000, TOO_LONG, id="deeper than a frame holds"),
        pytest.param('{"type": "ping", "pad": "' + "x" * 2000 + '"}', TOO_LONG, id="long"),
    ],
)
async def test_deep_or_huge_messages_get_an_error_and_the_socket_stays_open(text, error, caplog):
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL}/")
    await receive(client)

    await client.send_to(text_data=text)

    assert await receive(client) == {"type": "error", "error": error}
    await client.send_json_to({"type": "ping"})
    assert await receive(client) == {"type": "pong"}
    assert not [record for record in caplog.records if record.levelname == "ERROR"]
    await client.disconnect()


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/", "/ws/deals/", "/ws/deals/x/y/", "/other"])
async def test_a_socket_the_site_does_not_serve_is_closed_with_4404_not_an_error(path):
    client = await connect(path)

    assert (await receive(client))["error"].startswith("No websocket here")
    assert await client.receive_output() == {"type": "websocket.close", "code": 4404}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("task=0&task=1", "Give task once: it is one value."),
        ("format=json&format=html", "Give format once: it is one value."),
        ("task=", "task must be a task's index in the deal: 0, 1, 2…"),
    ],
)
async def test_a_repeated_or_empty_parameter_is_closed_with_4400(query, error):
    client = await connect(f"/ws/deals/{UNKNOWN_DEAL}/?{query}")

    assert (await receive(client))["error"] == error
    assert await client.receive_output() == {"type": "websocket.close", "code": 4400}
