"""The deal pages follow the indexer: each indexed batch notifies the deals its events touch."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from marketplace.chain.signing import scheduler_authorization
from marketplace.indexer import notify
from pools.models import TaskRun
from tests.chain_scaffold import Market, new_digest
from tests.marketplace.deals.test_progress import started_deal
from tests.marketplace.indexer.helpers import index_to_head
from tests.pools.members import admit


@pytest.fixture
def market(chain, opened_market) -> Market:
    """The opened market, its workers admitted to its pool (which the site operates)."""
    market = opened_market.copy()
    admit(market.workerpool, market.workers)
    return market


def _contribute(market: Market, taskid: str) -> None:
    worker = market.workers[0]
    market.hub.commit(
        sender=market.sender(worker),
        taskid=taskid,
        digest=new_digest(),
        authorization=scheduler_authorization(
            worker=worker.address, taskid=taskid, scheduler_key=market.scheduler
        ),
    )


@pytest.mark.django_db(transaction=True)
async def test_the_indexer_notifies_the_deals_its_events_touch(market, hub_deployment):
    dealid = await database_sync_to_async(started_deal)(market, hub_deployment)
    taskid = (await TaskRun.objects.aget()).taskid
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(notify.group_name(dealid), channel)

    async def receive():
        try:
            return await asyncio.wait_for(layer.receive(channel), 1)
        except TimeoutError:
            return None

    index = database_sync_to_async(index_to_head)
    await database_sync_to_async(_contribute)(market, taskid)
    assert await receive() is None  # on chain, not indexed yet
    await index(hub_deployment)  # TaskContribute and TaskConsensus name the task only
    assert await receive() == {"type": "deal.progress", "dealid": dealid}
    assert await receive() is None  # once per indexed batch
    await index(hub_deployment)
    assert await receive() is None  # nothing new, nobody told
