"""A market on anvil with its deployment recorded and indexed, for the order book's tests."""

from __future__ import annotations

import dataclasses

import pytest

from marketplace.chain.models import Deployment
from tests.chain_scaffold import Market
from tests.marketplace.indexer.helpers import index_to_head


def record_deployment(deployment) -> None:
    fields = dataclasses.asdict(deployment)
    Deployment.objects.create(chain_id=31337, first_block=fields.pop("block"), **fields)


@pytest.fixture
def market(chain, hub_deployment, opened_market) -> Market:
    """Dev accounts: 1 owns the app, 2 the dataset, 3 the pool (100 ECT staked), 4 is the
    requester (1,000 ECT staked); all of it indexed."""
    record_deployment(hub_deployment)
    opened = opened_market.copy()
    index_to_head(hub_deployment)
    return opened


@pytest.fixture
def index(hub_deployment):
    """Call to index the chain up to its head (the book refreshes with it)."""
    return lambda: index_to_head(hub_deployment)
