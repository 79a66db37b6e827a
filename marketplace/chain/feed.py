"""Reading the chain in bulk for the indexer: block numbers, logs and block headers over raw
JSON-RPC, in batches, without web3's per-call formatting (which costs more than the node).

    feed = NodeFeed(settings.WEB3_RPC_URL)
    head = feed.head()
    logs = feed.logs(first, last, filters)          # list of raw log dicts, in chain order
    headers = feed.headers([first, last])           # {number: Header}

Failures are sorted for the caller, which reacts differently to each:
- `RangeTooLarge`: the node refuses the block range or the size of the answer; ask for less.
- `RateLimited`: the node (a hosted one) asks to slow down; wait, then ask the same again.
- `ChainUnavailable`: no answer (down, unreachable, timed out); wait, then ask again.
- `NodeError`: any other refusal, with the node's message.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import requests

from marketplace.chain.errors import ChainError, ChainUnavailable
from worker.chain import shown_url as _shown_url

# Headers asked in one HTTP request: big enough to make a request per block rare, small enough
# for the answer to stay a few hundred kilobytes.
HEADERS_PER_REQUEST = 500

# Words nodes use when they throttle, when a getLogs range or answer is too big, and when they
# are behind (geth, erigon, Infura, Alchemy, QuickNode, anvil). Throttling is checked first:
# "limit exceeded" alone would read as a size error.
_RATE_WORDS = (
    "rate limit",
    "rate exceeded",
    "request rate",
    "too many requests",
    "capacity",
    "throttl",
    "requests per",
    "per second",
    "/second",
    "limit reached",
    "quota",
)
_BEHIND_WORDS = ("beyond current head", "header not found", "unknown block", "after last accepted")
_SIZE_WORDS = (
    "more than",
    "too large",
    "too big",
    "response size",
    "block range",
    "range is too",
    "range too",
    "limited to",
    "max range",
    "results",
    "too many logs",
    "query timeout",
    "batch",
)


class NodeError(ChainError):
    """The node answered with an error that is not about size or rate."""


class RangeTooLarge(NodeError):
    """The node refused the block range, or the answer would be too big."""


class RateLimited(NodeError):
    """The node asks its client to slow down."""


@dataclasses.dataclass(frozen=True)
class Header:
    number: int
    hash: str  # 0x-prefixed, lower case
    parent_hash: str
    timestamp: int


@dataclasses.dataclass(frozen=True)
class LogFilter:
    """An eth_getLogs filter without its block range: logs of `addresses` (any, when empty)
    whose first topic is one of `topics` (any, when empty)."""

    addresses: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    def params(self, first: int, last: int) -> dict[str, Any]:
        params: dict[str, Any] = {"fromBlock": hex(first), "toBlock": hex(last)}
        if self.addresses:
            params["address"] = list(self.addresses)
        if self.topics:
            params["topics"] = [list(self.topics)]
        return params


def _classify(error: Any, *, doing: str) -> NodeError:
    if isinstance(error, dict):
        message = str(error.get("message") or error)
        code = error.get("code")
    else:
        message, code = str(error), None
    lowered = message.lower()
    text = f"{doing}: the node answered {message!r}" + (f" (code {code})" if code else "")
    if code == 429 or any(word in lowered for word in _RATE_WORDS):
        return RateLimited(text)
    if any(word in lowered for word in _BEHIND_WORDS):
        return NodeError(text)  # the node is behind: waited out, never a smaller range
    if any(word in lowered for word in _SIZE_WORDS):
        return RangeTooLarge(text)
    if code == -32005:  # Infura's "limit exceeded", not saying which: slow down
        return RateLimited(text)
    return NodeError(text)


class NodeFeed:
    """Raw JSON-RPC to one node, over one keep-alive HTTP session (not thread-safe: one feed
    per thread)."""

    def __init__(self, url: str, *, timeout: float = 30.0, shown_url: str = "") -> None:
        self.url = url
        self.timeout = timeout
        self.shown_url = shown_url or _shown_url(url)
        self._session = requests.Session()
        self._ids = itertools.count(1)
        self.headers_per_request = HEADERS_PER_REQUEST

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ transport

    def _post(self, payload: Any, *, doing: str) -> Any:
        try:
            response = self._session.post(
                self.url,
                data=json.dumps(payload),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            reason = "timed out" if isinstance(error, requests.Timeout) else "cannot connect"
            # Not chained: the transport error's text holds the full URL (and any API key).
            raise ChainUnavailable(
                f"{doing}: the node at {self.shown_url} is unavailable ({reason})."
            ) from None
        if response.status_code == 429:
            raise RateLimited(f"{doing}: the node at {self.shown_url} asks to slow down (429).")
        if response.status_code in (413,):
            raise RangeTooLarge(f"{doing}: the request was too large for the node (413).")
        if response.status_code >= 500 and not response.content:
            raise ChainUnavailable(
                f"{doing}: the node at {self.shown_url} failed (HTTP {response.status_code})."
            )
        try:
            return response.json()
        except ValueError:
            if response.status_code >= 400:
                raise ChainUnavailable(
                    f"{doing}: the node at {self.shown_url} failed (HTTP {response.status_code})."
                ) from None
            raise NodeError(f"{doing}: the node's answer is not JSON.") from None

    def call(self, method: str, params: Sequence[Any] = (), *, doing: str = "") -> Any:
        """One JSON-RPC call; its result."""
        doing = doing or method
        answer = self._post(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)},
            doing=doing,
        )
        if not isinstance(answer, dict):
            raise NodeError(f"{doing}: the node's answer is not a JSON-RPC response.")
        if answer.get("error") is not None:
            raise _classify(answer["error"], doing=doing)
        return answer.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]], *, doing: str) -> list[Any]:
        """Several calls in one HTTP request; their results in the order of `calls`. One
        refused call fails the whole batch (classified like a single call)."""
        if not calls:
            return []
        first = next(self._ids)
        for _ in range(len(calls) - 1):
            next(self._ids)
        payload = [
            {"jsonrpc": "2.0", "id": first + n, "method": method, "params": list(params)}
            for n, (method, params) in enumerate(calls)
        ]
        answer = self._post(payload, doing=doing)
        if isinstance(answer, dict) and answer.get("error") is not None:
            raise _classify(answer["error"], doing=doing)  # the whole batch refused
        if not isinstance(answer, list) or len(answer) != len(calls):
            raise NodeError(f"{doing}: the node's batch answer does not match the request.")
        results: list[Any] = [None] * len(calls)
        for item in answer:
            if not isinstance(item, dict) or not isinstance(item.get("id"), int):
                raise NodeError(f"{doing}: the node's batch answer holds a malformed item.")
            if item.get("error") is not None:
                raise _classify(item["error"], doing=doing)
            index = item["id"] - first
            if not 0 <= index < len(calls):
                raise NodeError(f"{doing}: the node answered a call that was not asked.")
            results[index] = item.get("result")
        return results

    # ------------------------------------------------------------------ reads

    def chain_id(self) -> int:
        return int(self.call("eth_chainId", doing="Reading the chain id"), 16)

    def head(self) -> int:
        return int(self.call("eth_blockNumber", doing="Reading the latest block number"), 16)

    def logs(self, first: int, last: int, filters: Iterable[LogFilter]) -> list[dict[str, Any]]:
        """Every log of blocks `first`..`last` matching any of `filters` (one batch request),
        in chain order (block, then log index), without duplicates."""
        filters = list(filters)
        doing = f"Reading the logs of blocks {first} to {last}"
        answers = self.batch(
            [("eth_getLogs", [f.params(first, last)]) for f in filters], doing=doing
        )
        found: list[dict[str, Any]] = []
        for answer in answers:
            if not isinstance(answer, list):
                raise NodeError(f"{doing}: the node's answer is not a list of logs.")
            found.extend(answer)
        if len(answers) > 1:
            unique = {(log.get("blockHash"), log.get("logIndex")): log for log in found}
            found = sorted(
                unique.values(),
                key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)),
            )
        return found

    def headers(self, numbers: Iterable[int]) -> dict[int, Header]:
        """The headers of blocks `numbers`, fetched HEADERS_PER_REQUEST to a request. A block
        the node does not have (beyond its head) is missing from the answer."""
        numbers = sorted(set(numbers))
        found: dict[int, Header] = {}
        start = 0
        while start < len(numbers):
            chunk = numbers[start : start + self.headers_per_request]
            try:
                answers = self.batch(
                    [("eth_getBlockByNumber", [hex(number), False]) for number in chunk],
                    doing=f"Reading the headers of blocks {chunk[0]} to {chunk[-1]}",
                )
            except RangeTooLarge:  # a node that caps its batches: ask for fewer at a time
                if len(chunk) == 1:
                    raise
                self.headers_per_request = max(1, len(chunk) // 2)
                continue
            start += len(chunk)
            for number, block in zip(chunk, answers, strict=True):
                if block is None:
                    continue
                try:
                    found[number] = Header(
                        number=int(block["number"], 16),
                        hash=block["hash"].lower(),
                        parent_hash=block["parentHash"].lower(),
                        timestamp=int(block["timestamp"], 16),
                    )
                except (KeyError, TypeError, ValueError, AttributeError):
                    raise NodeError(f"The header of block {number} is malformed.") from None
                if found[number].number != number:
                    raise NodeError(f"The node answered block {found[number].number} for {number}.")
        return found
