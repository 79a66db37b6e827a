"""Pool membership for tests that are not about it: workers admitted by hand at once."""

from __future__ import annotations

from collections.abc import Iterable

from pools.models import AdmittedVia, MemberStatus, PoolMember

CHAIN_ID = 31337


def admit(workerpool: str, workers: Iterable) -> None:
    """Make `workers` (accounts or addresses) members of `workerpool` in good standing."""
    for worker in workers:
        PoolMember.objects.update_or_create(
            chain_id=CHAIN_ID,
            workerpool=workerpool,
            worker=getattr(worker, "address", worker),
            defaults={
                "status": MemberStatus.ACTIVE,
                "admitted_via": AdmittedVia.HAND,
                "strikes": 0,
            },
        )
