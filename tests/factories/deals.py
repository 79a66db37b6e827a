"""Chain projections as the indexer writes them (deals and their tasks), for tests that need
them without a chain."""

from __future__ import annotations

import datetime

import factory
from django.utils import timezone
from eth_account import Account

from marketplace.indexer.models import Deal, Task, TaskStatus
from marketplace.indexer.prices import price_levels_refresh


def _address() -> str:
    return Account.create().address


class DealFactory(factory.django.DjangoModelFactory):
    """A deal of one task, started now, whose tasks may run for 10 reference times (100 min)."""

    class Meta:
        model = Deal
        skip_postgeneration_save = True

    chain_id = 31337
    block_number = 1
    dealid = factory.Sequence(lambda n: f"0x{n:064x}")
    tx_hash = factory.Sequence(lambda n: f"0x{n:064x}")
    app = factory.LazyFunction(_address)
    workerpool = factory.LazyFunction(_address)
    requester = factory.LazyFunction(_address)
    beneficiary = factory.LazyAttribute(lambda deal: deal.requester)
    payer = factory.LazyAttribute(lambda deal: deal.requester)
    app_owner = factory.LazyFunction(_address)
    workerpool_owner = factory.LazyFunction(_address)
    app_price = 1
    dataset_price = 0
    workerpool_price = 1
    bot_first = 0
    volume = 1
    category = 0
    trust = 1
    tag = "0x" + "0" * 64
    worker_stake = 0
    scheduler_reward_ratio = 0
    start_time = factory.LazyFunction(timezone.now)
    time_ref = int(datetime.timedelta(minutes=10).total_seconds())
    params = '{"args":""}'

    @factory.post_generation
    def price_levels(deal, create, extracted, **kwargs) -> None:
        """Its price levels, as the indexer's follower derives them for an indexed deal."""
        if create:
            price_levels_refresh(chain_id=deal.chain_id, dealids=[deal.dealid])


class TaskFactory(factory.django.DjangoModelFactory):
    """Task 0 of `deal`, completed with `result_digest`."""

    class Meta:
        model = Task

    class Params:
        deal = factory.SubFactory(DealFactory)

    chain_id = 31337
    block_number = 1
    taskid = factory.Sequence(lambda n: f"0x{n + (1 << 200):064x}")
    dealid = factory.LazyAttribute(lambda task: task.deal.dealid)
    workerpool = factory.LazyAttribute(lambda task: task.deal.workerpool)
    status = TaskStatus.COMPLETED
    result_digest = "0x" + "0" * 64
