"""The Celery beat task: follows the chain for a while, then gives the chain back."""

from __future__ import annotations

import pytest

from marketplace.indexer import tasks
from marketplace.indexer.engine import Indexer
from marketplace.indexer.models import ChainEvent, IndexerState, IndexerStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(hub_deployment, monkeypatch):
    from marketplace.chain import selectors

    monkeypatch.setattr(selectors, "current_deployment", lambda: hub_deployment)
    monkeypatch.setattr(tasks, "RUN_SECONDS", 0.5)
    return hub_deployment


def test_the_beat_task_indexes_and_gives_the_chain_back(chain, deployed):
    tasks.index_chain()
    state = IndexerState.objects.get()
    assert state.checkpoint == chain.eth.block_number
    assert ChainEvent.objects.exists()
    assert state.holder == "" and state.status == IndexerStatus.STOPPED


def test_the_beat_task_leaves_a_chain_another_indexer_follows(chain, deployed):
    running = Indexer(deployment=deployed)
    running.start()
    tasks.index_chain()
    assert not ChainEvent.objects.exists()
    assert IndexerState.objects.get().holder == running.holder
    running.stop()
