"""The indexer's migrations, run on rows written as they were before: the chain projections
moved to the indexer app keep their tables and rows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.schema import latest_schema_after, migrate, migrate_to_latest  # noqa: F401 (a fixture)

BEFORE = [
    ("indexer", "0001_initial"),
    ("deals", "0003_task_given_up"),
    ("catalogue", "0010_one_price_per_task"),
]
AFTER = [("indexer", "0002_chain_projections")]
APP = "0x1000000000000000000000000000000000000001"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_projection_rows_and_their_undo_journal_move_to_the_indexer_as_they_are():
    apps = migrate(BEFORE)
    apps.get_model("deals", "Category").objects.create(
        chain_id=31337, block_number=4, catid=0, name="XS", time_ref=300
    )
    apps.get_model("catalogue", "Asset").objects.create(
        chain_id=31337,
        address=APP,
        kind="app",
        owner="0x2000000000000000000000000000000000000002",
        name="renderer",
        registered_block=3,
        tasks_completed=2,
        revenue=Decimal(7),
        block_number=5,
    )
    UndoRecord = apps.get_model("indexer", "UndoRecord")
    UndoRecord.objects.create(chain_id=31337, block_number=5, model="catalogue.Asset", key=APP)
    UndoRecord.objects.create(chain_id=31337, block_number=5, model="catalogue.Listing", key="1")

    apps = migrate(AFTER)

    category = apps.get_model("indexer", "Category").objects.get()
    assert (category.catid, category.name, category.time_ref) == (0, "XS", 300)
    asset = apps.get_model("indexer", "Asset").objects.get()
    assert (asset.address, asset.kind, asset.tasks_completed, asset.revenue) == (
        APP,
        "app",
        2,
        Decimal(7),
    )
    assert sorted(
        apps.get_model("indexer", "UndoRecord").objects.values_list("model", flat=True)
    ) == [
        "catalogue.Listing",
        "indexer.Asset",
    ]

    # Going back: the rows are the deals' and the catalogue's again, the journal too.
    apps = migrate(BEFORE)
    assert apps.get_model("catalogue", "Asset").objects.get().address == APP
    assert apps.get_model("deals", "Category").objects.get().name == "XS"
    assert sorted(
        apps.get_model("indexer", "UndoRecord").objects.values_list("model", flat=True)
    ) == [
        "catalogue.Asset",
        "catalogue.Listing",
    ]
    migrate_to_latest()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_a_journaled_listing_creation_becomes_its_unlinking_and_back():
    before = [("indexer", "0002_chain_projections")]
    apps = migrate(before)
    UndoRecord = apps.get_model("indexer", "UndoRecord")
    UndoRecord.objects.create(chain_id=31337, block_number=5, model="catalogue.Listing", key="1")
    UndoRecord.objects.create(chain_id=31337, block_number=5, model="indexer.Asset", key=APP)
    edited = '{"chain_address": "", "reputation": 3}'
    UndoRecord.objects.create(
        chain_id=31337, block_number=5, model="catalogue.Listing", key="2", previous=edited
    )

    apps = migrate([("indexer", "0003_listing_links_journaled_as_edits")])
    journal = apps.get_model("indexer", "UndoRecord").objects
    assert dict(journal.values_list("key", "previous")) == {
        "1": '{"chain_address": ""}',
        APP: None,  # other creations stay creations: taken back, the row goes
        "2": edited,
    }

    apps = migrate(before)
    journal = apps.get_model("indexer", "UndoRecord").objects
    assert journal.get(key="1").previous is None
    assert journal.get(key="2").previous == edited
    migrate_to_latest()
