"""The Hub's protocol as the site and its workers follow it (PROTOCOL.md): order kinds, task and
contribution statuses, markets (asset kinds), dealids, taskids, result hashes and seals, as
pure functions.

Defined once, here: the worker agent imports nothing of the site, and the site
(`marketplace.chain.ids`, its models, its chain layer) takes these very objects. No web3 and no
Django; eth_utils' keccak only.

Each enum is the one definition of its states. A member is the word the database stores (a
`str`, as Django's TextChoices are), with `code`, the Hub's uint8 for it (`from_code` reads one
back), and `label`, what pages show. A state the Hub has but the index never stores (a task not
initialized yet) has no label and is left out of `choices`; a state only the index knows (how a
contribution ended) has no code.
"""

from __future__ import annotations

import enum

from eth_utils import keccak, to_checksum_address


class _ChoicesType(enum.EnumMeta):
    """Django's `choices` and `values` for a model field, without importing Django."""

    @property
    def choices(cls) -> list[tuple[str, str]]:
        """(stored value, label) of every state the database stores, in definition order."""
        return [(member.value, member.label) for member in cls if member.label]

    @property
    def values(cls) -> list[str]:
        """The stored values, in definition order."""
        return [value for value, _ in cls.choices]

    @property
    def do_not_call_in_templates(cls) -> bool:
        """Templates read members off the class (as Django's Choices let them), never call it."""
        return True


class HubChoice(str, enum.Enum, metaclass=_ChoicesType):
    """A kind or a state: its stored word, its Hub `code` (None: the Hub has none) and its
    `label` (empty: never stored)."""

    code: int | None
    label: str

    def __new__(cls, value: str, code: int | None, label: str = "") -> HubChoice:
        member = str.__new__(cls, value)
        member._value_ = value
        member.code = code
        member.label = label
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def from_code(cls, code: int) -> HubChoice:
        """The member the Hub codes `code`; ValueError for a code it does not use."""
        for member in cls:
            if member.code == code:
                return member
        raise ValueError(f"{code!r} is not a {cls.__name__} code of the Hub.")


class OrderKind(HubChoice):
    """The four orders, and the `uint8 order` / `asset` / `field` codes of the Hub's errors
    (HubTypes.sol, library Kind)."""

    APP = "app", 0, "App order"
    DATASET = "dataset", 1, "Dataset order"
    WORKERPOOL = "workerpool", 2, "Workerpool order"
    REQUEST = "request", 3, "Request order"


class Market(HubChoice):
    """The three markets, and the kind of the asset each one lists: the registry entries the Hub
    knows (its `asset` codes, as OrderKind's first three)."""

    APP = "app", 0, "App"
    DATASET = "dataset", 1, "Dataset"
    POOL = "pool", 2, "Worker pool"

    @property
    def order_kind(self) -> OrderKind:
        """The order that offers this market's assets (and the deal's field naming them)."""
        return OrderKind.from_code(self.code)


class TaskStatus(HubChoice):
    """UNSET → ACTIVE → REVEALING → COMPLETED | FAILED. UNSET is a task never initialized: the
    Hub answers it, the index never stores it."""

    UNSET = "unset", 0
    ACTIVE = "active", 1, "Running"
    REVEALING = "revealing", 2, "Revealing"
    COMPLETED = "completed", 3, "Completed"
    FAILED = "failed", 4, "Failed"


class ContributionStatus(HubChoice):
    """A worker's contribution to a task: UNSET (none) → CONTRIBUTED → PROVED (revealed), or
    REJECTED with a consensus group dropped by `reopen`. Once the task is final, the
    index also records whether the contribution was ACCURATE or FAULTY (the Hub's events say
    so; its status stays PROVED)."""

    UNSET = "unset", 0
    CONTRIBUTED = "contributed", 1, "Contributed"
    PROVED = "revealed", 2, "Revealed"
    REVEALED = "revealed", 2, "Revealed"  # the index's name for PROVED: the same member
    REJECTED = "rejected", 3, "Rejected (not revealed in time)"
    ACCURATE = "accurate", None, "Accurate"
    FAULTY = "faulty", None, "Faulty"


# ---------------------------------------------------------------------------- ids and hashes


def to_bytes32(value: object, field: str) -> bytes:
    """`value` (32 bytes, or their 0x hex) as bytes; ValueError naming `field` otherwise."""
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raise ValueError(f"{field} must be 32 bytes or their 0x hex, not {value!r}.") from None
    if not isinstance(value, bytes | bytearray) or len(value) != 32:
        raise ValueError(f"{field} must be 32 bytes or their 0x hex, not {value!r}.")
    return bytes(value)


def address_bytes(address: str) -> bytes:
    """The 20 bytes of an address (any letter case; a wrong EIP-55 checksum is refused)."""
    return bytes.fromhex(to_checksum_address(address)[2:])


def deal_id(request_digest: bytes | str, consumed_before: int) -> bytes:
    """keccak256(requestDigest ‖ uint256 consumed_before): the dealid of a match, where
    `consumed_before` is the request's consumed volume before it (`viewConsumed`), also the
    deal's first task index."""
    return keccak(
        to_bytes32(request_digest, "request_digest") + consumed_before.to_bytes(32, "big")
    )


def task_id(dealid: bytes | str, idx: int) -> bytes:
    """keccak256(dealid ‖ uint256 idx): the taskid of task `idx` of deal `dealid`."""
    return keccak(to_bytes32(dealid, "dealid") + idx.to_bytes(32, "big"))


def result_hash(taskid: bytes | str, digest: bytes | str) -> bytes:
    """keccak256(taskid ‖ digest): the commitment every worker of a consensus shares."""
    return keccak(to_bytes32(taskid, "taskid") + to_bytes32(digest, "digest"))


def result_seal(worker: str, taskid: bytes | str, digest: bytes | str) -> bytes:
    """keccak256(worker ‖ taskid ‖ digest): the commitment proper to one worker."""
    return keccak(
        address_bytes(worker) + to_bytes32(taskid, "taskid") + to_bytes32(digest, "digest")
    )
