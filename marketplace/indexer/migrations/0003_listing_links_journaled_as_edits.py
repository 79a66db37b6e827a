"""The undo journal keeps a listing the indexer linked as an edit of its `chain_address` (taken
back: unlinked), as it does every other change; it no longer knows listings apart. Entries
written before, which journaled a linked listing's creation, say the same from now on."""

from django.db import migrations

LISTING = "catalogue.Listing"
UNLINKED = '{"chain_address": ""}'


def creations_as_unlinks(apps, schema_editor) -> None:
    undo_records = apps.get_model("indexer", "UndoRecord")
    undo_records.objects.filter(model=LISTING, previous__isnull=True).update(previous=UNLINKED)


def unlinks_as_creations(apps, schema_editor) -> None:
    undo_records = apps.get_model("indexer", "UndoRecord")
    undo_records.objects.filter(model=LISTING, previous=UNLINKED).update(previous=None)


class Migration(migrations.Migration):
    dependencies = [("indexer", "0002_chain_projections")]

    operations = [migrations.RunPython(creations_as_unlinks, unlinks_as_creations)]
