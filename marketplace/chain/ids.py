"""The Hub's codes and the ids it derives (order kinds, markets, task and contribution statuses,
dealids, taskids, result hashes and seals), for the site.

They are defined once, in `worker.protocol`: the worker agent, which imports nothing of the
site, follows the same protocol. No web3 and no Django, so importing them stays cheap.
"""

from __future__ import annotations

from worker.protocol import (
    ContributionStatus,
    HubChoice,
    Market,
    OrderKind,
    TaskStatus,
    address_bytes,
    deal_id,
    result_hash,
    result_seal,
    task_id,
    to_bytes32,
)

__all__ = [
    "ContributionStatus",
    "HubChoice",
    "Market",
    "OrderKind",
    "TaskStatus",
    "address_bytes",
    "deal_id",
    "result_hash",
    "result_seal",
    "task_id",
    "to_bytes32",
]
