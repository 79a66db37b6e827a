"""Orders as clients send them (JSON: the typed-data message, its kind, its signature) turned
into the chain's order objects, or refused with a sentence naming the field and the problem.

Clients write uint256 values as JSON integers or as decimal strings (JavaScript loses
precision above 2**53), bytes32 as 0x hex, addresses as 0x hex (mixed case only when it is a
valid EIP-55 checksum). Nothing is guessed: a float, a boolean, a negative number or an unknown
field is refused.
"""

from __future__ import annotations

import json
import re
from typing import Any

from marketplace.chain.orders import (
    UINT256_MAX,
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    checksummed,
    new_salt,
)
from marketplace.errors import AppError
from marketplace.indexer.models import OrderKind
from worker.addresses import Origin, origin_of, url_refusal

ORDER_CLASSES: dict[str, type[Order]] = {
    OrderKind.APP: AppOrder,
    OrderKind.DATASET: DatasetOrder,
    OrderKind.WORKERPOOL: WorkerpoolOrder,
    OrderKind.REQUEST: RequestOrder,
}
KIND_OF_CLASS = {cls: kind for kind, cls in ORDER_CLASSES.items()}
# The field naming the asset an order sells (a request: the app it buys).
ASSET_FIELDS = {
    OrderKind.APP: "app",
    OrderKind.DATASET: "dataset",
    OrderKind.WORKERPOOL: "workerpool",
    OrderKind.REQUEST: "app",
}
PRICE_FIELDS = {
    OrderKind.APP: ("appprice",),
    OrderKind.DATASET: ("datasetprice",),
    OrderKind.WORKERPOOL: ("workerpoolprice",),
    OrderKind.REQUEST: ("appmaxprice", "datasetmaxprice", "workerpoolmaxprice"),
}
MAX_PARAMS_BYTES = 16 * 1024
_DECIMAL = re.compile(r"[0-9]+")
_UINT256_DIGITS = len(str(UINT256_MAX))
# What the Hub stores of a deal (HubOrders.sol: prices and volumes as uint96, trust as uint64)
# and what the book's columns hold: larger values are refused in words, never stored.
UINT96_MAX = 2**96 - 1
LIMITS = {
    "volume": (2**63 - 1, "the most tasks an order can sell"),
    "trust": (2**63 - 1, "the highest trust the Hub takes"),
    "category": (2**31 - 1, "the highest category number"),
    "appprice": (UINT96_MAX, "the highest price the Hub takes (2**96 - 1 units)"),
    "datasetprice": (UINT96_MAX, "the highest price the Hub takes (2**96 - 1 units)"),
    "workerpoolprice": (UINT96_MAX, "the highest price the Hub takes (2**96 - 1 units)"),
    "appmaxprice": (UINT96_MAX, "the highest price the Hub takes (2**96 - 1 units)"),
    "datasetmaxprice": (UINT96_MAX, "the highest price the Hub takes (2**96 - 1 units)"),
    "workerpoolmaxprice": (UINT96_MAX, "the highest price the Hub takes (2**96 - 1 units)"),
}
# The most trust a pool offers and a buyer asks through the site (the sell form, the buy
# form, the quote); the Hub itself takes up to LIMITS["trust"].
TRUST_MAX = 1000
# The most characters of arguments a request's params may give its task.
ARGS_MAX = 4000
_HEX = re.compile(r"0x[0-9a-fA-F]*")


class OrderError(AppError):
    """An order refused; `status` is the HTTP status that fits, `field` the field at fault."""

    status = 400


class InvalidOrder(OrderError):
    """The order is malformed: a field is missing, of the wrong type or out of range."""


SHOWN_CHARS = 60


def _shown(value: Any) -> str:
    """`value` as JSON for a refusal, cut to its first SHOWN_CHARS characters: an error repeats
    enough of the input to find it, never the whole of a huge one."""
    text = json.dumps(value)
    if len(text) <= SHOWN_CHARS:
        return text
    return f"{text[:SHOWN_CHARS]}… ({len(text):,} characters)"


def order_kind(value: Any) -> str:
    if not isinstance(value, str) or value not in ORDER_CLASSES:
        raise InvalidOrder(
            f"kind must be one of {', '.join(ORDER_CLASSES)}, not {_shown(value)}.",
            field="kind",
        )
    return value


def _uint256(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidOrder(
            f"{field} must be a whole number (a JSON integer or a decimal string), "
            f"not {_shown(value)}.",
            field=field,
        )
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value.strip()):
            raise InvalidOrder(
                f"{field} must be a whole number written in decimal digits, not "
                f"{json.dumps(value[:40])}.",
                field=field,
            )
        if len(value.strip().lstrip("0")) > _UINT256_DIGITS:
            raise InvalidOrder(f"{field} is above the largest uint256 (2**256 - 1).", field=field)
        value = int(value)
    if value < 0:
        raise InvalidOrder(f"{field} cannot be negative ({value}).", field=field)
    if value > UINT256_MAX:
        raise InvalidOrder(f"{field} is above the largest uint256 (2**256 - 1).", field=field)
    return value


def _address(value: Any, field: str) -> str:
    address = checksummed(value) if isinstance(value, str) else None
    if address is None:
        hint = (
            " (its mixed-case letters are not a valid EIP-55 checksum)"
            if isinstance(value, str) and len(value) == 42 and _HEX.fullmatch(value)
            else ""
        )
        raise InvalidOrder(
            f"{field} must be an address, 0x and 40 hex digits, not {_shown(value)}{hint}.",
            field=field,
        )
    return address


def _bytes32(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) != 66:
        raise InvalidOrder(
            f"{field} must be 32 bytes as 0x and 64 hex digits, not {_shown(value)}.",
            field=field,
        )
    return bytes.fromhex(value[2:])


def _params(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidOrder(
            f"params must be a JSON object written as a string, not {_shown(value)}.",
            field="params",
        )
    try:
        size = len(value.encode())
    except UnicodeError:
        raise InvalidOrder(
            "params holds text that is not valid Unicode (a lone surrogate): send UTF-8 text.",
            field="params",
        ) from None
    if size > MAX_PARAMS_BYTES:
        raise InvalidOrder(
            f"params is {size} bytes long: at most {MAX_PARAMS_BYTES}.", field="params"
        )
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise InvalidOrder(f"params is not valid JSON: {error}.", field="params") from None
    if not isinstance(parsed, dict):
        raise InvalidOrder(
            f'params must be a JSON object such as {{"args": "…"}}, not a {type(parsed).__name__}.',
            field="params",
        )
    return value


_READERS = {"uint256": _uint256, "address": _address, "bytes32": _bytes32}


def parse_order(kind: str, message: Any) -> Order:
    """The order of `kind` whose typed-data message is `message`; InvalidOrder otherwise."""
    order_class = ORDER_CLASSES[order_kind(kind)]
    if not isinstance(message, dict):
        raise InvalidOrder(
            f"order must be a JSON object of the order's fields, not {type(message).__name__}.",
            field="order",
        )
    names = [name for name, _ in order_class.MEMBERS]
    unknown = sorted(set(message) - set(names))
    if unknown:
        raise InvalidOrder(
            f"{'An' if kind[:1] in 'aeiou' else 'A'} {kind} order has no field "
            f"{', '.join(unknown)}: its fields are {', '.join(names)}.",
            field=unknown[0],
        )
    missing = [name for name in names if name not in message]
    if missing:
        raise InvalidOrder(f"The order lacks {', '.join(missing)}.", field=missing[0])
    values: dict[str, Any] = {}
    for name, solidity_type in order_class.MEMBERS:
        raw = message[name]
        values[name] = (
            _params(raw) if solidity_type == "string" else _READERS[solidity_type](raw, name)
        )
    if values["volume"] == 0:
        raise InvalidOrder("volume must be at least 1.", field="volume")
    for name, (limit, what) in LIMITS.items():
        if name in values and values[name] > limit:
            raise InvalidOrder(f"{name} is above {what}: at most {limit:,}.", field=name)
    return order_class(**values)


def input_file_urls(urls: Any, *, site_url: str) -> list[str]:
    """`urls` as a request's input files (its params' input_files), which every worker of the
    pool downloads: each one on this site (`site_url`, where its input store is) or fit for a
    worker as far as can be told without DNS (worker.addresses: http(s), not localhost, not an
    address outside the public internet); InvalidOrder on input_files otherwise. The worker
    agents check again, every address the host resolves to."""
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise InvalidOrder("input_files must be a list of URLs.", field="input_files")
    site = origin_of(site_url)
    for position, url in enumerate(urls):
        problem = url_refusal(url)
        if problem and not _on_origin(url, site):
            raise InvalidOrder(
                f"input_files[{position}]: Workers will not download the input file "
                f"{url[:200]}: {problem}. Give a "
                "public http(s) URL, or upload the file to this site (the buy form does it; "
                "POST /api/v1/orders/inputs/).",
                field="input_files",
            )
    return urls


def _on_origin(url: str, origin: Origin) -> bool:
    try:
        return origin_of(url) == origin
    except ValueError:
        return False


def parse_signature(value: Any) -> bytes:
    """A 65- or 64-byte (EIP-2098) signature from 0x hex; empty for none (presigned)."""
    if value in (None, "", "0x"):
        return b""
    if not isinstance(value, str) or not _HEX.fullmatch(value) or len(value) % 2:
        raise InvalidOrder(
            f"signature must be 0x and hex digits, not {_shown(value)}.", field="signature"
        )
    signature = bytes.fromhex(value[2:])
    if len(signature) not in (64, 65):
        raise InvalidOrder(
            f"A signature has 65 bytes (or 64, EIP-2098), not {len(signature)}.",
            field="signature",
        )
    return signature


def order_price(kind: str, order: Order) -> int:
    """What the order asks per task (a request: the total it accepts to pay per task)."""
    return sum(getattr(order, field) for field in PRICE_FIELDS[kind])


def order_with_defaults(kind: str, fields: dict[str, Any]) -> Order:
    """An order of `kind` from the fields given; the others take their defaults: no
    restriction, zero tag, volume 1, params "{}", and a fresh random salt."""

    defaults: dict[str, Any] = {}
    for name, solidity_type in ORDER_CLASSES[order_kind(kind)].MEMBERS:
        if solidity_type == "address":
            defaults[name] = ZERO_ADDRESS
        elif solidity_type == "bytes32":
            defaults[name] = "0x" + (new_salt() if name == "salt" else bytes(32)).hex()
        elif solidity_type == "uint256":
            defaults[name] = 1 if name == "volume" else 0
        else:
            defaults[name] = "{}"
    return parse_order(kind, {**defaults, **fields})
