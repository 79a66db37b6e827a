"""The Hub's statuses and the commitments of a result (worker.protocol) are the site's."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from marketplace.chain import hub as site_hub
from worker.protocol import ContributionStatus, TaskStatus, result_hash, result_seal


def test_the_workers_statuses_and_commitments_are_the_hubs() -> None:
    for ours, sites in [
        (TaskStatus, site_hub.TaskStatus),
        (ContributionStatus, site_hub.ContributionStatus),
    ]:
        assert {status.name: status.value for status in ours} == {
            status.name: status.value for status in sites
        }
    taskid, digest, worker = os.urandom(32), os.urandom(32), Account.create().address
    assert result_hash(taskid, digest) == site_hub.result_hash(taskid, digest)
    assert result_seal(worker, taskid, digest) == site_hub.result_seal(worker, taskid, digest)
    assert result_hash("0x" + taskid.hex(), digest) == result_hash(taskid, digest)
    with pytest.raises(ValueError, match="taskid must be 32 bytes or their 0x hex"):
        result_hash(taskid[:31], digest)
