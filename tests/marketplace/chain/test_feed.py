"""The indexer's raw JSON-RPC reads: batches, and each kind of refusal sorted for the caller.

Nodes that refuse a range, throttle or fail cannot be made of anvil: a loopback server plays
them (tests.loopback_node), answering what hosted nodes answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from marketplace.chain.errors import ChainUnavailable
from marketplace.chain.feed import LogFilter, NodeError, NodeFeed, RangeTooLarge, RateLimited
from tests.loopback_node import fake_node


def _error_answer(code: int, message: str) -> Callable[[object], tuple[int, object]]:
    def answer(request):
        items = request if isinstance(request, list) else [request]
        errors = [
            {"jsonrpc": "2.0", "id": item["id"], "error": {"code": code, "message": message}}
            for item in items
        ]
        return 200, errors if isinstance(request, list) else errors[0]

    return answer


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-32005, "query returned more than 10000 results"),
        (
            -32602,
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K",
        ),
        (-32000, "eth_getLogs is limited to a 10,000 range"),
    ],
)
def test_a_refused_range_is_range_too_large(code, message):
    with (
        fake_node(_error_answer(code, message)) as url,
        pytest.raises(RangeTooLarge, match="blocks 1 to 5000"),
    ):
        NodeFeed(url).logs(1, 5000, [LogFilter(addresses=("0x" + "11" * 20,))])


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (-32005, "daily request count exceeded, request rate limited"),
        (429, "Too Many Requests"),
        (-32007, "Your app has exceeded its compute units per second capacity"),
        (-32005, "project ID request rate exceeded"),
        (-32000, "15/second request limit reached - reduce calls per second"),
        (-32005, "limit exceeded"),
    ],
)
def test_throttling_is_rate_limited_not_a_range_error(code, message):
    with fake_node(_error_answer(code, message)) as url, pytest.raises(RateLimited):
        NodeFeed(url).head()


def test_http_429_is_rate_limited():
    with (
        fake_node(lambda request: (429, {"error": "slow down"})) as url,
        pytest.raises(RateLimited, match="429"),
    ):
        NodeFeed(url).head()


def test_an_unreachable_node_is_unavailable_and_its_url_stays_hidden():
    with fake_node(lambda request: (200, {})) as url:
        dead = url  # the server is shut down when the block ends
    with pytest.raises(ChainUnavailable) as info:
        NodeFeed(dead, timeout=2).head()
    assert "secret-key" not in str(info.value)


def test_other_errors_are_node_errors_with_the_nodes_words():
    with (
        fake_node(_error_answer(-32601, "the method eth_getLogs does not exist")) as url,
        pytest.raises(NodeError, match="does not exist") as info,
    ):
        NodeFeed(url).logs(1, 2, [LogFilter()])
    assert type(info.value) is NodeError


def test_a_batch_answer_of_the_wrong_length_is_refused():
    with (
        fake_node(
            lambda request: (200, [{"jsonrpc": "2.0", "id": request[0]["id"], "result": []}])
        ) as url,
        pytest.raises(NodeError, match="does not match"),
    ):
        NodeFeed(url).logs(1, 2, [LogFilter(), LogFilter(topics=("0x" + "00" * 32,))])


def test_headers_come_in_batches_and_blocks_beyond_the_head_are_missing(anvil, w3):
    head = w3.eth.block_number
    feed = NodeFeed(anvil.url)
    headers = feed.headers([0, head, head + 5])
    assert set(headers) == {0, head}
    assert headers[head].hash == w3.eth.get_block(head)["hash"].to_0x_hex()
    assert headers[head].parent_hash == w3.eth.get_block(head)["parentHash"].to_0x_hex()


def test_a_node_behind_is_not_a_range_error():
    answer = _error_answer(-32000, "block range extends beyond current head block")
    with fake_node(answer) as url, pytest.raises(NodeError) as info:
        NodeFeed(url).logs(1, 2, [LogFilter()])
    assert type(info.value) is NodeError


def test_headers_are_asked_fewer_at_a_time_from_a_node_that_caps_batches():
    sizes = []

    def answer(request):
        sizes.append(len(request))
        if len(request) > 3:
            return 200, {
                "jsonrpc": "2.0",
                "id": None,
                "error": {"code": -32600, "message": "batch too large"},
            }
        return 200, [
            {
                "jsonrpc": "2.0",
                "id": item["id"],
                "result": {
                    "number": item["params"][0],
                    "hash": "0x" + "aa" * 32,
                    "parentHash": "0x" + "bb" * 32,
                    "timestamp": "0x1",
                },
            }
            for item in request
        ]

    with fake_node(answer) as url:
        feed = NodeFeed(url)
        headers = feed.headers(range(10))
    assert sorted(headers) == list(range(10))
    assert sizes == [10, 5, 2, 2, 2, 2, 2]  # halved until the node takes them
