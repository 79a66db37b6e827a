"""`manage.py index_chain`: once to the head, from scratch, and refused beside another one."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from marketplace.indexer.engine import Indexer
from marketplace.indexer.models import ChainEvent, IndexerState

pytestmark = pytest.mark.django_db


@pytest.fixture
def deployed(chain, hub_deployment, monkeypatch):
    from marketplace.chain import selectors

    monkeypatch.setattr(selectors, "current_deployment", lambda: hub_deployment)
    return hub_deployment


def test_once_indexes_to_the_head_and_reindex_starts_over(deployed, chain, capsys):
    call_command("index_chain", "--once")
    out = capsys.readouterr().out
    assert f"Indexing chain 31337 from block {deployed.block}" in out
    events = ChainEvent.objects.count()
    assert events > 0 and IndexerState.objects.get().checkpoint == chain.eth.block_number

    call_command("index_chain", "--once", "--reindex")
    out = capsys.readouterr().out
    assert "Forgot the index of chain 31337." in out
    assert ChainEvent.objects.count() == events


def test_a_second_indexer_stops_saying_who_holds_the_chain(deployed):
    running = Indexer(deployment=deployed)
    running.start()
    with pytest.raises(CommandError, match="only one may"):
        call_command("index_chain", "--once")
    running.stop()
