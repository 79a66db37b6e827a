"""Reviews: a title, a text, the deal that verifies the purchase, moderation, reports and the
owner's reply on Rating.

Ratings written before purchases were checked are kept (nothing of what people wrote is lost).
Those whose author's wallet paid for a deal of the listing with a finalized task, as indexed
now, are verified by that deal; the others stay, unverified: listing pages show them labelled
so, and the listing's rating no longer counts them (their authors may rate again once they
bought a run). The listings' aggregates are recomputed from the verified ones."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Exists, OuterRef

# The deal field naming the assets of each market (the Hub's order kinds), as of this migration.
DEAL_FIELD = {"app": "app", "dataset": "dataset", "pool": "workerpool"}


def _refresh(apps, listing_ids, *, verified_only: bool) -> None:
    Listing = apps.get_model("catalogue", "Listing")
    Rating = apps.get_model("catalogue", "Rating")
    for listing_id in listing_ids:
        ratings = Rating.objects.filter(listing_id=listing_id)
        if verified_only:
            ratings = ratings.filter(is_hidden=False).exclude(dealid="")
        histogram = [0, 0, 0, 0, 0]
        for row in ratings.values("stars").annotate(n=Count("id")):
            histogram[row["stars"] - 1] = row["n"]
        count = sum(histogram)
        average = (
            (Decimal(sum(s * n for s, n in enumerate(histogram, start=1))) / count).quantize(
                Decimal("0.01")
            )
            if count
            else Decimal(0)
        )
        Listing.objects.filter(pk=listing_id).update(
            rating_avg=average, rating_count=count, rating_histogram=histogram
        )


def verify_existing_ratings(apps, schema_editor) -> None:
    Rating = apps.get_model("catalogue", "Rating")
    Wallet = apps.get_model("wallets", "Wallet")
    Deal = apps.get_model("indexer", "Deal")
    Task = apps.get_model("indexer", "Task")
    finished = Task.objects.filter(
        chain_id=settings.CHAIN_ID, dealid=OuterRef("dealid"), status="completed"
    )
    listing_ids = set()
    for rating in Rating.objects.select_related("listing").order_by("id"):
        listing_ids.add(rating.listing_id)
        listing = rating.listing
        wallets = list(
            Wallet.objects.filter(user_id=rating.user_id).values_list("address", flat=True)
        )
        if not (listing.chain_address and wallets):
            continue
        deal = (
            Deal.objects.filter(
                chain_id=settings.CHAIN_ID,
                payer__in=wallets,
                **{f"{DEAL_FIELD[listing.kind]}__iexact": listing.chain_address},
            )
            .filter(Exists(finished))
            .order_by("id")
            .first()
        )
        if deal is not None:
            rating.dealid, rating.wallet = deal.dealid, deal.payer
            rating.save(update_fields=["dealid", "wallet"])
    _refresh(apps, sorted(listing_ids), verified_only=True)


def count_every_rating(apps, schema_editor) -> None:
    Rating = apps.get_model("catalogue", "Rating")
    listing_ids = Rating.objects.values_list("listing_id", flat=True).distinct()
    _refresh(apps, sorted(listing_ids), verified_only=False)


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0011_asset_to_indexer"),
        ("wallets", "0002_apitoken"),
        ("indexer", "0003_listing_links_journaled_as_edits"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="rating",
            name="body",
            field=models.TextField(blank=True, max_length=4000),
        ),
        migrations.AddField(
            model_name="rating",
            name="dealid",
            field=models.CharField(
                blank=True, help_text="The deal that verifies it; empty: unverified.", max_length=66
            ),
        ),
        migrations.AddField(
            model_name="rating",
            name="edited_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="rating",
            name="hidden_reason",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="rating",
            name="is_hidden",
            field=models.BooleanField(default=False, help_text="Hidden by a moderator."),
        ),
        migrations.AddField(
            model_name="rating",
            name="replied_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="rating",
            name="reply",
            field=models.TextField(
                blank=True, help_text="The listing owner's answer.", max_length=4000
            ),
        ),
        migrations.AddField(
            model_name="rating",
            name="reply_edited_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="rating",
            name="report_count",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="rating",
            name="title",
            field=models.CharField(blank=True, max_length=120),
        ),
        migrations.AddField(
            model_name="rating",
            name="wallet",
            field=models.CharField(
                blank=True,
                help_text="The author's wallet that paid for that deal.",
                max_length=42,
                validators=[
                    django.core.validators.RegexValidator(
                        "^0x[0-9a-fA-F]{40}$",
                        "Enter a wallet address: 0x followed by 40 hexadecimal digits.",
                    )
                ],
            ),
        ),
        migrations.CreateModel(
            name="RatingReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.CharField(max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                (
                    "rating",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="reports",
                        to="catalogue.rating",
                    ),
                ),
                (
                    "reporter",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("rating", "reporter"), name="one_rating_report_per_user"
                    )
                ],
            },
        ),
        migrations.RunPython(verify_existing_ratings, count_every_rating),
    ]
