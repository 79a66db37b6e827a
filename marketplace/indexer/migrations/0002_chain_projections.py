"""The chain projections (the Hub's state of trade, from the deals app, and the assets, from the
catalogue) live with the indexer that writes them. State only: each keeps its table, indexes and
constraint names, so no table is renamed or rebuilt and existing rows stay."""

import django.db.models.deletion
from django.db import migrations, models

import marketplace.indexer.fields

MOVED = {
    "deals.Category": "indexer.Category",
    "deals.OrderFill": "indexer.OrderFill",
    "deals.Deal": "indexer.Deal",
    "deals.Task": "indexer.Task",
    "deals.Contribution": "indexer.Contribution",
    "deals.EscrowAccount": "indexer.EscrowAccount",
    "deals.WorkerBond": "indexer.WorkerBond",
    "deals.Worker": "indexer.Worker",
    "catalogue.Asset": "indexer.Asset",
}


def _relabel(undo_records, renames) -> None:
    for old, new in renames.items():
        undo_records.objects.filter(model=old).update(model=new)


def journal_new_labels(apps, schema_editor) -> None:
    """The undo journal names rows by their model's label: the moved models' entries follow."""
    _relabel(apps.get_model("indexer", "UndoRecord"), MOVED)


def journal_old_labels(apps, schema_editor) -> None:
    _relabel(apps.get_model("indexer", "UndoRecord"), {new: old for old, new in MOVED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0004_projections_to_indexer"),
        ("catalogue", "0011_asset_to_indexer"),
        ("indexer", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (rows, names, indexes, constraints): only the
            # models' home changes.
            state_operations=[
                migrations.CreateModel(
                    name="Category",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("catid", models.PositiveIntegerField()),
                        ("name", models.CharField(max_length=100)),
                        ("description", models.TextField(blank=True)),
                        (
                            "time_ref",
                            models.PositiveBigIntegerField(
                                help_text="workClockTimeRef, in seconds."
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "categories",
                        "db_table": "deals_category",
                        "ordering": ["chain_id", "catid"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "catid"), name="category_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Contribution",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("taskid", models.CharField(max_length=66)),
                        ("worker", models.CharField(max_length=42)),
                        ("result_hash", models.CharField(max_length=66)),
                        (
                            "digest",
                            models.CharField(
                                blank=True, help_text="Revealed result digest.", max_length=66
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("contributed", "Contributed"),
                                    ("revealed", "Revealed"),
                                    ("rejected", "Rejected (not revealed in time)"),
                                    ("accurate", "Accurate"),
                                    ("faulty", "Faulty"),
                                ],
                                max_length=12,
                            ),
                        ),
                        ("contributed_at", models.DateTimeField(null=True)),
                        ("key", models.CharField(help_text="taskid:worker", max_length=110)),
                    ],
                    options={
                        "db_table": "deals_contribution",
                        "ordering": ["taskid", "contributed_at", "id"],
                        "indexes": [
                            models.Index(
                                fields=["chain_id", "worker", "-block_number"],
                                name="contribution_by_worker",
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "key"), name="contribution_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Deal",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("dealid", models.CharField(max_length=66)),
                        ("tx_hash", models.CharField(max_length=66)),
                        ("app", models.CharField(max_length=42)),
                        ("dataset", models.CharField(blank=True, max_length=42)),
                        ("workerpool", models.CharField(max_length=42)),
                        ("requester", models.CharField(max_length=42)),
                        ("beneficiary", models.CharField(max_length=42)),
                        ("callback", models.CharField(blank=True, max_length=42)),
                        ("payer", models.CharField(max_length=42)),
                        ("app_owner", models.CharField(max_length=42)),
                        ("dataset_owner", models.CharField(blank=True, max_length=42)),
                        ("workerpool_owner", models.CharField(max_length=42)),
                        ("app_price", marketplace.indexer.fields.Units()),
                        ("dataset_price", marketplace.indexer.fields.Units()),
                        ("workerpool_price", marketplace.indexer.fields.Units()),
                        ("bot_first", models.PositiveBigIntegerField()),
                        ("volume", models.PositiveBigIntegerField()),
                        ("category", models.PositiveIntegerField()),
                        ("trust", models.PositiveBigIntegerField()),
                        ("tag", models.CharField(max_length=66)),
                        ("worker_stake", marketplace.indexer.fields.Units()),
                        ("scheduler_reward_ratio", models.PositiveIntegerField()),
                        ("start_time", models.DateTimeField()),
                        ("time_ref", models.PositiveBigIntegerField()),
                        ("params", models.TextField(blank=True)),
                        ("app_order", models.CharField(blank=True, max_length=66)),
                        ("dataset_order", models.CharField(blank=True, max_length=66)),
                        ("workerpool_order", models.CharField(blank=True, max_length=66)),
                        ("request_order", models.CharField(blank=True, max_length=66)),
                        ("tasks_completed", models.PositiveBigIntegerField(default=0)),
                        ("tasks_failed", models.PositiveBigIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "deals_deal",
                        "ordering": ["-block_number", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["chain_id", "app", "-block_number"], name="deal_by_app"
                            ),
                            models.Index(
                                fields=["chain_id", "dataset", "-block_number"],
                                name="deal_by_dataset",
                            ),
                            models.Index(
                                fields=["chain_id", "workerpool", "-block_number"],
                                name="deal_by_workerpool",
                            ),
                            models.Index(
                                fields=["chain_id", "requester", "-block_number"],
                                name="deal_by_buyer",
                            ),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "dealid"), name="deal_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="EscrowAccount",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("address", models.CharField(max_length=42)),
                        ("stake", marketplace.indexer.fields.Units()),
                        ("locked", marketplace.indexer.fields.Units()),
                    ],
                    options={
                        "db_table": "deals_escrowaccount",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "address"), name="escrow_account_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="OrderFill",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("digest", models.CharField(max_length=66)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("app", "App order"),
                                    ("dataset", "Dataset order"),
                                    ("workerpool", "Workerpool order"),
                                    ("request", "Request order"),
                                ],
                                max_length=10,
                            ),
                        ),
                        ("consumed", models.PositiveBigIntegerField(default=0)),
                        ("deals", models.PositiveIntegerField(default=0)),
                        ("closed", models.BooleanField(default=False)),
                        ("presigned_by", models.CharField(blank=True, max_length=42)),
                    ],
                    options={
                        "db_table": "deals_orderfill",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "digest"), name="order_fill_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Task",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("taskid", models.CharField(max_length=66)),
                        ("dealid", models.CharField(blank=True, max_length=66)),
                        ("idx", models.PositiveBigIntegerField(default=0)),
                        ("workerpool", models.CharField(max_length=42)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("active", "Running"),
                                    ("revealing", "Revealing"),
                                    ("completed", "Completed"),
                                    ("failed", "Failed"),
                                ],
                                max_length=10,
                            ),
                        ),
                        ("initialized_at", models.DateTimeField(null=True)),
                        ("contribution_deadline", models.DateTimeField(null=True)),
                        ("reveal_deadline", models.DateTimeField(null=True)),
                        ("final_deadline", models.DateTimeField(null=True)),
                        ("consensus", models.CharField(blank=True, max_length=66)),
                        ("result_digest", models.CharField(blank=True, max_length=66)),
                        (
                            "results",
                            models.TextField(
                                blank=True, help_text="Where the result is (from finalize)."
                            ),
                        ),
                        ("contributions", models.PositiveIntegerField(default=0)),
                        ("reveals", models.PositiveIntegerField(default=0)),
                        ("finished_at", models.DateTimeField(null=True)),
                        (
                            "given_up",
                            models.BooleanField(
                                default=False,
                                help_text="Failed by its scheduler's giveUp before the final deadline (TaskGivenUp), not by a claim after it.",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "deals_task",
                        "ordering": ["dealid", "idx"],
                        "indexes": [
                            models.Index(fields=["chain_id", "dealid", "idx"], name="task_by_deal")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "taskid"), name="task_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Worker",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("address", models.CharField(max_length=42)),
                        ("score", models.PositiveBigIntegerField(default=0)),
                        ("contributions", models.PositiveIntegerField(default=0)),
                        ("accurate", models.PositiveIntegerField(default=0)),
                        ("faulty", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "deals_worker",
                        "ordering": ["-score", "address"],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "address"), name="worker_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="WorkerBond",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        ("workerpool", models.CharField(max_length=42)),
                        ("worker", models.CharField(max_length=42)),
                        ("amount", marketplace.indexer.fields.Units()),
                        ("unbond_at", models.DateTimeField(blank=True, null=True)),
                        ("key", models.CharField(help_text="workerpool:worker", max_length=85)),
                    ],
                    options={
                        "db_table": "deals_workerbond",
                        "indexes": [
                            models.Index(
                                fields=["chain_id", "worker"], name="worker_bond_by_worker"
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "key"), name="worker_bond_unique"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="Asset",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        ("address", models.CharField(max_length=42)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("app", "App"),
                                    ("dataset", "Dataset"),
                                    ("pool", "Worker pool"),
                                ],
                                max_length=8,
                            ),
                        ),
                        ("owner", models.CharField(max_length=42)),
                        (
                            "name",
                            models.CharField(
                                help_text="Name, or a pool's description.", max_length=200
                            ),
                        ),
                        ("multiaddr", models.TextField(blank=True)),
                        ("checksum", models.CharField(blank=True, max_length=66)),
                        ("registered_block", models.BigIntegerField()),
                        ("registered_at", models.DateTimeField(null=True)),
                        (
                            "worker_stake_ratio",
                            models.PositiveIntegerField(help_text="Pools: percent.", null=True),
                        ),
                        (
                            "scheduler_reward_ratio",
                            models.PositiveIntegerField(help_text="Pools: percent.", null=True),
                        ),
                        ("deals", models.PositiveIntegerField(default=0)),
                        (
                            "volume_sold",
                            models.PositiveBigIntegerField(default=0, help_text="Tasks bought."),
                        ),
                        ("tasks_completed", models.PositiveBigIntegerField(default=0)),
                        ("tasks_failed", models.PositiveBigIntegerField(default=0)),
                        (
                            "revenue",
                            models.DecimalField(
                                decimal_places=0,
                                default=0,
                                help_text="ECT base units earned.",
                                max_digits=78,
                            ),
                        ),
                        (
                            "block_number",
                            models.BigIntegerField(help_text="Block of the last change."),
                        ),
                        (
                            "listing",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="assets",
                                to="catalogue.listing",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "catalogue_asset",
                        "indexes": [
                            models.Index(fields=["chain_id", "owner"], name="asset_by_owner")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "address"), name="asset_unique"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(journal_new_labels, journal_old_labels),
    ]
