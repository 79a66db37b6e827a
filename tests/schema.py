"""Moving the test database's schema between migrations, for the data migrations' tests."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets):
    """The schema at `targets` (app, migration) pairs, and the apps' models as they were."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def latest_schema_after():
    """The test leaves every app at its latest migration, as the tests after it on this
    database need (its targets may hold some apps back)."""
    yield
    migrate_to_latest()
