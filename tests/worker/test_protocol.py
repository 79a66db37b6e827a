"""The Hub's protocol (worker.protocol) is defined once: the site's ids are the same objects."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from marketplace.chain import ids as site_ids
from worker import protocol
from worker.protocol import ContributionStatus, TaskStatus, result_hash, result_seal


def test_the_site_takes_the_workers_definitions_themselves() -> None:
    for name in site_ids.__all__:
        assert getattr(site_ids, name) is getattr(protocol, name)


def test_statuses_read_back_from_the_hubs_codes() -> None:
    assert [TaskStatus.from_code(code) for code in range(5)] == list(TaskStatus)
    assert ContributionStatus.from_code(2) is ContributionStatus.PROVED
    with pytest.raises(ValueError, match="not a TaskStatus code"):
        TaskStatus.from_code(5)


def test_commitments_take_hex_or_bytes_and_refuse_other_lengths_by_name() -> None:
    taskid, digest, worker = os.urandom(32), os.urandom(32), Account.create().address
    assert result_hash("0x" + taskid.hex(), digest) == result_hash(taskid, digest)
    assert result_seal(worker, taskid, digest) != result_seal(
        Account.create().address, taskid, digest
    )
    with pytest.raises(ValueError, match="taskid must be 32 bytes or their 0x hex"):
        result_hash(taskid[:31], digest)
