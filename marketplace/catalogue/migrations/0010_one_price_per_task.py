"""Apps and datasets get one price per task (`Listing.price`), as their orders on the Hub have;
only worker pools keep a price per category (`ListingPrice`).

An app or dataset listing that had several category prices gets the LOWEST of them as its one
price: that is what its published orders charged, whatever the category a buyer chose, so no
buyer pays more than before and the book and the listing now agree. Its category rows are
deleted, and its `price_from` becomes that price. Pools are left as they were.

Listings get an index on their chain address: the order book names assets by address, and
list pages look up the listings of the offers they show.

Going back, an app or dataset's price becomes its price in every category (what its orders
charged in each).
"""

import django.core.validators
from django.db import migrations, models
from django.db.models import Min, Q

import marketplace.catalogue.models

PER_TASK_KINDS = ("app", "dataset")
CATEGORIES = ("XS", "S", "M", "L", "XL")


def one_price_per_task(apps, schema_editor):
    Listing = apps.get_model("catalogue", "Listing")
    ListingPrice = apps.get_model("catalogue", "ListingPrice")
    lowest = (
        ListingPrice.objects.filter(listing__kind__in=PER_TASK_KINDS)
        .values("listing_id")
        .annotate(lowest=Min("price"))
        .values_list("listing_id", "lowest")
    )
    for listing_id, price in lowest.iterator():
        Listing.objects.filter(pk=listing_id).update(price=price, price_from=price)
    ListingPrice.objects.filter(listing__kind__in=PER_TASK_KINDS).delete()


def a_price_per_category(apps, schema_editor):
    Listing = apps.get_model("catalogue", "Listing")
    ListingPrice = apps.get_model("catalogue", "ListingPrice")
    priced = Listing.objects.filter(kind__in=PER_TASK_KINDS, price__isnull=False)
    for listing_id, price in priced.values_list("id", "price").iterator():
        ListingPrice.objects.bulk_create(
            ListingPrice(listing_id=listing_id, category=category, price=price)
            for category in CATEGORIES
        )


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0009_asset"),
    ]

    operations = [
        migrations.AlterField(
            model_name="listing",
            name="chain_address",
            field=models.CharField(
                blank=True,
                db_index=True,
                help_text="Address of the registered asset; empty until registered on chain.",
                max_length=42,
                validators=[marketplace.catalogue.models.wallet_address_validator],
            ),
        ),
        migrations.AddField(
            model_name="listing",
            name="price",
            field=models.DecimalField(
                blank=True,
                decimal_places=9,
                help_text="Apps and datasets: ECT per task, whatever the category (pools: none, "
                "their prices are per category).",
                max_digits=30,
                null=True,
                validators=[django.core.validators.MinValueValidator(0)],
            ),
        ),
        migrations.RunPython(one_price_per_task, a_price_per_category),
        migrations.AddConstraint(
            model_name="listing",
            constraint=models.CheckConstraint(
                condition=Q(price__isnull=True) | (Q(price__gte=0) & ~Q(kind="pool")),
                name="listing_price_per_task_not_for_pools",
            ),
        ),
    ]
