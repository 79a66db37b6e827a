"""The chain projections of trade move to the indexer app (marketplace.indexer.models), keeping
their tables deals_*."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        # pools 0005 reads deals.Deal in a data migration: it runs while the model is here.
        ("pools", "0005_membership"),
        ("deals", "0003_task_given_up"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (rows, names, indexes, constraints): only the
            # models' home changes.
            state_operations=[
                migrations.DeleteModel(
                    name="Category",
                ),
                migrations.DeleteModel(
                    name="Contribution",
                ),
                migrations.DeleteModel(
                    name="Deal",
                ),
                migrations.DeleteModel(
                    name="EscrowAccount",
                ),
                migrations.DeleteModel(
                    name="OrderFill",
                ),
                migrations.DeleteModel(
                    name="Task",
                ),
                migrations.DeleteModel(
                    name="Worker",
                ),
                migrations.DeleteModel(
                    name="WorkerBond",
                ),
            ],
            database_operations=[],
        ),
    ]
