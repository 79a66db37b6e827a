from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from marketplace.indexer.models import TaskStatus
from marketplace.indexer.selectors import pool_track_records
from tests.factories.deals import DealFactory, TaskFactory

pytestmark = pytest.mark.django_db
POOL = "0x" + "a1" * 20
OTHER = "0x" + "b2" * 20
ZERO = "0x" + "00" * 20


def deal_with_task(*, pool: str, seconds: float, status: str) -> None:
    """A deal of `pool` started `seconds` ago, its task ended now with `status`."""
    now = timezone.now()
    deal = DealFactory(workerpool=pool, start_time=now - datetime.timedelta(seconds=seconds))
    TaskFactory(
        deal=deal, status=status, finished_at=now if status == TaskStatus.COMPLETED else None
    )


def test_a_pools_track_record_is_its_share_finalized_and_median_time():
    for seconds in (30, 60, 600):
        deal_with_task(pool=POOL, seconds=seconds, status=TaskStatus.COMPLETED)
    deal_with_task(pool=POOL, seconds=5, status=TaskStatus.FAILED)
    deal_with_task(pool=POOL, seconds=5, status=TaskStatus.ACTIVE)  # not ended: not counted
    deal_with_task(pool=OTHER, seconds=9, status=TaskStatus.FAILED)
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
