"""The catalogue's data migrations, run on rows written as they were before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories.deals import DealFactory
from tests.schema import latest_schema_after, migrate  # noqa: F401 (a fixture)

BEFORE = [("catalogue", "0009_asset")]
AFTER = [("catalogue", "0010_one_price_per_task")]
# Ratings before and after they were verified by deals (which need the wallets and the index).
INDEXED = [("wallets", "0002_apitoken"), ("indexer", "0003_listing_links_journaled_as_edits")]
UNVERIFIED = [("catalogue", "0011_asset_to_indexer"), *INDEXED]
VERIFIED = [("catalogue", "0012_verified_reviews"), *INDEXED]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_apps_and_datasets_keep_their_lowest_category_price_and_pools_keep_theirs():
    apps = migrate(BEFORE)
    user = apps.get_model("auth", "User").objects.create(username="maker")
    Listing = apps.get_model("catalogue", "Listing")
    ListingPrice = apps.get_model("catalogue", "ListingPrice")

    def listing(kind, name, prices):
        row = Listing.objects.create(
            kind=kind, name=name, slug=name, summary="s", owner=user, rating_histogram=[0] * 5
        )
        for category, price in prices.items():
            ListingPrice.objects.create(listing=row, category=category, price=Decimal(price))
        return row.pk

    app = listing("app", "renderer", {"XS": "0.05", "S": "0.15", "M": "0.4"})
    data = listing("dataset", "drawings", {"S": "0.02", "XS": "0.01"})
    pool = listing("pool", "lyon", {"XS": "0.1", "S": "0.3"})
    unpriced = listing("app", "free", {})

    apps = migrate(AFTER)
    Listing = apps.get_model("catalogue", "Listing")
    ListingPrice = apps.get_model("catalogue", "ListingPrice")

    prices = dict(Listing.objects.values_list("pk", "price"))
    assert prices == {
        app: Decimal("0.05"),
        data: Decimal("0.01"),
        pool: None,
        unpriced: None,
    }
    assert Listing.objects.get(pk=app).price_from == Decimal("0.05")
    assert set(ListingPrice.objects.values_list("listing_id", "category", "price")) == {
        (pool, "XS", Decimal("0.1")),
        (pool, "S", Decimal("0.3")),
    }

    # Going back: an app's price is its price in every category.
    apps = migrate(BEFORE)
    ListingPrice = apps.get_model("catalogue", "ListingPrice")
    assert dict(ListingPrice.objects.filter(listing_id=app).values_list("category", "price")) == {
        category: Decimal("0.05") for category in ("XS", "S", "M", "L", "XL")
    }
    migrate(AFTER)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_older_ratings_are_kept_verified_by_a_finished_deal_when_there_is_one_and_counted_so():
    apps = migrate(UNVERIFIED)
    User = apps.get_model("auth", "User")
    Listing = apps.get_model("catalogue", "Listing")
    Rating = apps.get_model("catalogue", "Rating")
    Wallet = apps.get_model("wallets", "Wallet")
    Deal, Task = apps.get_model("indexer", "Deal"), apps.get_model("indexer", "Task")
    owner, buyer, visitor = (User.objects.create(username=n) for n in ("o", "b", "v"))
    pool_address, wallet = "0x" + "ab" * 20, "0x" + "cd" * 20
    Wallet.objects.create(user=buyer, address=wallet)
    pool = Listing.objects.create(
        kind="pool",
        name="pool",
        slug="pool",
        summary="s",
        owner=owner,
        chain_address=pool_address.upper().replace("0X", "0x"),
        rating_avg=Decimal("3.00"),
        rating_count=2,
        rating_histogram=[0, 1, 0, 1, 0],
    )
    deal = DealFactory.build(payer=wallet, workerpool=pool_address)
    Deal.objects.create(**{f.name: getattr(deal, f.name) for f in deal._meta.concrete_fields})
    Task.objects.create(
        chain_id=31337,
        block_number=1,
        taskid="0x" + "1" * 64,
        dealid=deal.dealid,
        workerpool=pool_address,
        status="completed",
    )
    verified = Rating.objects.create(listing=pool, user=buyer, stars=4).pk
    kept = Rating.objects.create(listing=pool, user=visitor, stars=2).pk

    apps = migrate(VERIFIED)
    Listing = apps.get_model("catalogue", "Listing")
    Rating = apps.get_model("catalogue", "Rating")

    assert dict(Rating.objects.values_list("pk", "dealid")) == {verified: deal.dealid, kept: ""}
    assert Rating.objects.get(pk=verified).wallet == wallet
    pool = Listing.objects.get(slug="pool")
    assert (pool.rating_count, pool.rating_avg, pool.rating_histogram) == (
        1,
        Decimal("4.00"),
        [0, 0, 0, 1, 0],
    )

    # Going back: every rating counts again, as it did.
    apps = migrate(UNVERIFIED)
    pool = apps.get_model("catalogue", "Listing").objects.get(slug="pool")
    assert (pool.rating_count, pool.rating_avg) == (2, Decimal("3.00"))
    migrate(VERIFIED)
