from __future__ import annotations

from django.apps import AppConfig


class IndexerConfig(AppConfig):
    """The chain indexer: follows our contracts' events into the database (engine.py), keeping
    its checkpoint, the events, the recent block hashes and the undo journal of reorgs."""

    name = "marketplace.indexer"
    label = "indexer"
    verbose_name = "Chain indexer"
    default_auto_field = "django.db.models.BigAutoField"
