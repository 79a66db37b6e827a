"""Decoding the logs of our contracts, straight from their ABIs (build.json), with eth-abi.

The indexer's hot path: events whose data are static words (uint, address, bytes32, bool),
which is nearly all of them, are sliced out of the hex text without building an ABI decoder;
events with strings, bytes or tuples go through `eth_abi.decode`. A log that does not match its
event's shape, or whose event is unknown, comes back with `problem` set instead of arguments,
so that the caller can record it and move on.

    catalogue = EventCatalogue.for_contracts({"hub": ["Hub"], "token": ["ECT"], ...})
    event = catalogue.decode(raw_log, source="hub")
    event.name, event.args  # "DealCreated", {"dealid": "0x…", "deal": {...}}

Values: addresses are checksummed strings, bytes32 and bytes are 0x-prefixed lower-case hex,
integers are ints, tuples are dicts by component name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

from marketplace.chain import artifacts


@lru_cache(maxsize=65536)
def checksum(address_hex40: str) -> str:
    """EIP-55 form of 40 hex digits (cached: a chain repeats a few addresses many times)."""
    return to_checksum_address("0x" + address_hex40)


def _type_signature(component: Mapping[str, Any], *, lenient: bool = False) -> str:
    """The ABI type of `component`; `lenient` reads strings as bytes (see `_text`)."""
    kind = component["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type_signature(c, lenient=lenient) for c in component["components"])
        return f"({inner}){kind[5:]}"
    if lenient and kind.startswith("string"):
        return "bytes" + kind[6:]
    return kind


def _text(value: bytes) -> str:
    """A string from the chain: anyone writes them (names, params), so bytes that are not
    UTF-8 are replaced rather than refused, and NULs (which PostgreSQL refuses) dropped."""
    return value.decode("utf-8", "replace").replace("\x00", "")


def _is_static_word(kind: str) -> bool:
    if kind in ("address", "bool"):
        return True
    if kind.startswith(("uint", "int")) and "[" not in kind:
        return True
    return kind.startswith("bytes") and kind != "bytes" and "[" not in kind


def _word(kind: str, word: str) -> Any:
    """The value of one 64-hex-digit ABI word of static type `kind`."""
    if kind == "address":
        if word[:24] != "000000000000000000000000":
            raise ValueError("an address word with non-zero high bytes")
        return checksum(word[24:])
    if kind.startswith("uint"):
        return int(word, 16)
    if kind.startswith("int"):
        value = int(word, 16)
        return value - (1 << 256) if value >> 255 else value
    if kind == "bool":
        value = int(word, 16)
        if value > 1:
            raise ValueError("a bool word other than 0 or 1")
        return value == 1
    # bytesN: left-aligned
    size = int(kind[5:])
    return "0x" + word[: 2 * size]


def _json_value(component: Mapping[str, Any], value: Any) -> Any:
    """An eth-abi decoded value in the catalogue's JSON-friendly form."""
    kind = component["type"]
    if kind.endswith("]"):
        element = {**component, "type": kind[: kind.rindex("[")]}
        return [_json_value(element, item) for item in value]
    if kind == "tuple":
        return {
            part["name"]: _json_value(part, item)
            for part, item in zip(component["components"], value, strict=True)
        }
    if kind == "address":
        return checksum(value[2:].lower())
    if kind == "string":
        return _text(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


@dataclasses.dataclass(frozen=True)
class EventSpec:
    name: str
    topic: str  # 0x + 64 hex digits
    indexed: tuple[Mapping[str, Any], ...]
    data: tuple[Mapping[str, Any], ...]
    static: bool  # every data field is one static word

    @property
    def signature(self) -> str:
        parts = [_type_signature(c) for c in (*self.indexed, *self.data)]
        return f"{self.name}({','.join(parts)})"


def event_specs(abi: Sequence[Mapping[str, Any]]) -> dict[str, EventSpec]:
    """topic0 → EventSpec of every event of `abi`."""
    specs = {}
    for item in abi:
        if item.get("type") != "event" or item.get("anonymous"):
            continue
        inputs = item["inputs"]
        signature = f"{item['name']}({','.join(_type_signature(c) for c in inputs)})"
        topic = "0x" + keccak(text=signature).hex()
        data = tuple(c for c in inputs if not c.get("indexed"))
        specs[topic] = EventSpec(
            name=item["name"],
            topic=topic,
            indexed=tuple(c for c in inputs if c.get("indexed")),
            data=data,
            static=all(_is_static_word(c["type"]) for c in data),
        )
    return specs


class DecodedEvent:
    """One log: where it is, and its event's name and arguments (or the `problem` that kept it
    from being decoded, with `name` empty when the event itself is unknown)."""

    __slots__ = (
        "address",
        "args",
        "block_hash",
        "block_number",
        "block_time",
        "log_index",
        "name",
        "problem",
        "source",
        "tx_hash",
    )

    def __init__(
        self,
        *,
        block_number: int,
        block_hash: str,
        block_time: int | None,
        tx_hash: str,
        log_index: int,
        address: str,
        source: str,
        name: str,
        args: dict[str, Any],
        problem: str = "",
    ) -> None:
        self.block_number = block_number
        self.block_hash = block_hash
        self.block_time = block_time
        self.tx_hash = tx_hash
        self.log_index = log_index
        self.address = address
        self.source = source
        self.name = name
        self.args = args
        self.problem = problem

    def __repr__(self) -> str:
        return f"<{self.name or '?'} #{self.block_number}/{self.log_index} {self.args}>"


class MalformedLog(ValueError):
    """A log without the fields every node gives (block, hashes, index, topics, data)."""


class EventCatalogue:
    """The events each source of logs may emit; `source` names a kind of contract ("hub",
    "token", "app_registry", ...), each with the ABIs of the contracts it covers."""

    def __init__(self, specs_by_source: Mapping[str, Mapping[str, EventSpec]]) -> None:
        self.specs_by_source = {source: dict(specs) for source, specs in specs_by_source.items()}

    @classmethod
    def for_contracts(cls, contracts_by_source: Mapping[str, Sequence[str]]) -> EventCatalogue:
        specs: dict[str, dict[str, EventSpec]] = {}
        for source, names in contracts_by_source.items():
            specs[source] = {}
            for name in names:
                specs[source].update(event_specs(artifacts.abi(name)))
        return cls(specs)

    def topics(self, source: str) -> tuple[str, ...]:
        return tuple(self.specs_by_source[source])

    def decode(self, log: Mapping[str, Any], *, source: str) -> DecodedEvent:
        """`log` as eth_getLogs returns it (hex strings), decoded as an event of `source`.
        Raises MalformedLog only when the log lacks its position (block, hashes, index)."""
        try:
            block_number = int(log["blockNumber"], 16)
            block_hash = log["blockHash"].lower()
            tx_hash = log["transactionHash"].lower()
            log_index = int(log["logIndex"], 16)
            address = checksum(log["address"][2:].lower())
            topics = log["topics"]
            data = log["data"]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise MalformedLog(f"A log lacks its position or content: {error!r}") from None
        stamp = log.get("blockTimestamp")
        event = DecodedEvent(
            block_number=block_number,
            block_hash=block_hash,
            block_time=int(stamp, 16) if isinstance(stamp, str) else None,
            tx_hash=tx_hash,
            log_index=log_index,
            address=address,
            source=source,
            name="",
            args={},
        )
        spec = self.specs_by_source.get(source, {}).get(topics[0].lower()) if topics else None
        if spec is None:
            event.problem = "unknown event" + (f" (topic {topics[0]})" if topics else "")
            return event
        event.name = spec.name
        try:
            event.args = self._arguments(spec, topics, data)
        except Exception as error:  # eth-abi raises many kinds; each means "does not decode"
            event.problem = f"does not decode as {spec.signature}: {error}"[:500]
            event.args = {}
        return event

    @staticmethod
    def _arguments(spec: EventSpec, topics: Sequence[str], data: str) -> dict[str, Any]:
        if len(topics) != 1 + len(spec.indexed):
            raise ValueError(f"{len(topics) - 1} indexed topics, {len(spec.indexed)} expected")
        args: dict[str, Any] = {}
        for component, topic in zip(spec.indexed, topics[1:], strict=True):
            word = topic[2:].lower()
            if len(word) != 64:
                raise ValueError("a topic that is not 32 bytes")
            if _is_static_word(component["type"]):
                args[component["name"]] = _word(component["type"], word)
            else:  # dynamic values are indexed by their keccak hash
                args[component["name"]] = "0x" + word
        body = data[2:] if data.startswith("0x") else data
        if spec.static:
            if len(body) != 64 * len(spec.data):
                raise ValueError(f"{len(body) // 2} bytes of data, {32 * len(spec.data)} expected")
            for n, component in enumerate(spec.data):
                args[component["name"]] = _word(component["type"], body[64 * n : 64 * n + 64])
        elif spec.data:
            values = abi_decode(
                [_type_signature(c, lenient=True) for c in spec.data],
                bytes.fromhex(body),
                strict=True,
            )
            for component, value in zip(spec.data, values, strict=True):
                args[component["name"]] = _json_value(component, value)
        return args
