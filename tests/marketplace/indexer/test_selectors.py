from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from marketplace.indexer.models import Deal, Task, TaskStatus
from marketplace.indexer.selectors import pool_track_records

pytestmark = pytest.mark.django_db
POOL = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20
ZERO = "0x" + "00" * 20


def deal_with_task(n: int, *, pool: str, seconds: float, status: str) -> None:
    now = timezone.now()
    dealid = f"0x{n:064x}"
    Deal.objects.create(
        chain_id=31337,
        block_number=1,
        dealid=dealid,
        tx_hash="0x" + "0" * 64,
        app=ZERO,
        workerpool=pool,
        requester=ZERO,
        beneficiary=ZERO,
        payer=ZERO,
        app_owner=ZERO,
        workerpool_owner=ZERO,
        app_price=0,
        dataset_price=0,
        workerpool_price=0,
        bot_first=0,
        volume=1,
        category=0,
        trust=1,
        tag="0x" + "0" * 64,
        worker_stake=0,
        scheduler_reward_ratio=1,
        start_time=now - datetime.timedelta(seconds=seconds),
        time_ref=1,
    )
    Task.objects.create(
        chain_id=31337,
        block_number=1,
        taskid=dealid,
        dealid=dealid,
        workerpool=pool,
        status=status,
        finished_at=now if status == TaskStatus.COMPLETED else None,
    )


def test_a_pools_track_record_is_its_share_finalized_and_median_time():
    for n, seconds in enumerate((30, 60, 600)):
        deal_with_task(n, pool=POOL, seconds=seconds, status=TaskStatus.COMPLETED)
    deal_with_task(3, pool=POOL, seconds=5, status=TaskStatus.FAILED)
    deal_with_task(4, pool=POOL, seconds=5, status=TaskStatus.ACTIVE)  # not ended: not counted
    deal_with_task(5, pool=OTHER, seconds=9, status=TaskStatus.FAILED)
    records = pool_track_records(chain_id=31337, workerpools=[POOL, OTHER, ZERO])
    record = records[POOL]
    assert (record.finalized, record.failed, record.reliability) == (3, 1, 0.75)
    assert record.median_seconds == pytest.approx(60, abs=1)
    other = records[OTHER]  # failed only: no time, no share finalized but 0
    assert (other.finalized, other.failed, other.reliability, other.median_seconds) == (
        0,
        1,
        0.0,
        None,
    )
    assert ZERO not in records  # nothing ended: no record, not a record of zeros
    assert pool_track_records(chain_id=31337, workerpools=[]) == {}
