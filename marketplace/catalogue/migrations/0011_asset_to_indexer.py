"""Asset, a chain projection, moves to the indexer app (marketplace.indexer.models), keeping its
table catalogue_asset."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0010_one_price_per_task"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (rows, names, indexes, constraints): only the
            # models' home changes.
            state_operations=[
                migrations.DeleteModel(
                    name="Asset",
                ),
            ],
            database_operations=[],
        ),
    ]
