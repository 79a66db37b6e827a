"""The Hub's protocol as a worker follows it (PROTOCOL.md): the statuses of a task and of a
contribution, and the commitments a worker makes to its result. Pure: no I/O, nothing but
eth_utils' keccak; the values are the Hub's own (IHub.sol), which the tests check against the
site's definitions.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from eth_utils import keccak, to_checksum_address


class TaskStatus(IntEnum):
    """A task's status on the Hub (IHub.sol): UNSET → ACTIVE → REVEALING → COMPLETED | FAILED."""

    UNSET = 0
    ACTIVE = 1
    REVEALING = 2
    COMPLETED = 3
    FAILED = 4


class ContributionStatus(IntEnum):
    """A contribution's status on the Hub (IHub.sol); REJECTED: dropped by `reopen`."""

    UNSET = 0
    CONTRIBUTED = 1
    PROVED = 2
    REJECTED = 3


def to_bytes32(value: bytes | str, name: str) -> bytes:
    """`value` (32 bytes, or their 0x hex) as bytes; ValueError naming `name` otherwise."""
    raw: Any = value
    if isinstance(value, str):
        try:
            raw = bytes.fromhex(value.removeprefix("0x"))
        except ValueError:
            raw = None
    if not isinstance(raw, bytes | bytearray) or len(raw) != 32:
        raise ValueError(f"{name} must be 32 bytes or their 0x hex, not {value!r}.")
    return bytes(raw)


def result_hash(taskid: bytes | str, digest: bytes | str) -> bytes:
    """keccak256(taskid ‖ digest): the commitment every worker of a consensus shares."""
    return keccak(to_bytes32(taskid, "taskid") + to_bytes32(digest, "digest"))


def result_seal(worker: str, taskid: bytes | str, digest: bytes | str) -> bytes:
    """keccak256(worker ‖ taskid ‖ digest): the commitment proper to one worker."""
    address = bytes.fromhex(to_checksum_address(worker)[2:])
    return keccak(address + to_bytes32(taskid, "taskid") + to_bytes32(digest, "digest"))
