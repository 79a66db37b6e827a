"""The Data market's adapter: a dataset is sold to the apps its provider allows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from datamarket.models import Dataset
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.indexer.models import Asset
from marketplace.orders.selectors import Run
from tests.factories.catalogue import AppFactory, DatasetFactory, ListingFactory

pytestmark = pytest.mark.django_db

DATASETS = MARKETS["dataset"]
ADDRESS = "0x" + "ab" * 20
APP_A, APP_B = "0x" + "0a" * 20, "0x" + "0b" * 20


def test_a_dataset_offer_is_one_order_per_allowed_app_on_chain():
    dataset = DatasetFactory(listing__chain_address=ADDRESS)
    dataset.allowed_apps.set(
        [
            AppFactory(listing__chain_address=APP_B),
            AppFactory(listing__chain_address=APP_A),
            AppFactory(),  # not on chain
        ]
    )

    orders = DATASETS.sell_orders(dataset.listing, volume=3, price=Decimal("0.25"))

    common = {"volume": 3, "dataset": ADDRESS, "datasetprice": 250_000_000}
    assert orders == [{**common, "apprestrict": APP_A}, {**common, "apprestrict": APP_B}]
    assert DATASETS.sell_refusal(dataset.listing) == ""


def test_a_dataset_no_app_on_chain_may_read_cannot_be_offered():
    dataset = DatasetFactory(listing__chain_address=ADDRESS)
    dataset.allowed_apps.set([AppFactory()])

    assert DATASETS.sell_orders(dataset.listing, volume=3, price=Decimal(1)) == []
    assert DATASETS.sell_refusal(dataset.listing).startswith("No app allowed to use this dataset")


def test_a_dataset_is_bought_with_the_public_apps_on_chain_it_allows():
    dataset = DatasetFactory(listing__chain_address=ADDRESS)
    beta = AppFactory(listing__name="Beta", listing__chain_address=APP_B)
    alpha = AppFactory(listing__name="Alpha", listing__chain_address=APP_A)
    unpublished = AppFactory(listing__status="pending", listing__chain_address="0x" + "0c" * 20)
    not_on_chain = AppFactory()
    AppFactory(listing__chain_address="0x" + "0d" * 20)  # not allowed
    dataset.allowed_apps.set([beta, alpha, unpublished, not_on_chain])

    assert DATASETS.buy_with(dataset.listing) == [alpha.listing, beta.listing]


def test_a_task_reads_a_dataset_under_its_original_name():
    DatasetFactory(listing__chain_address=ADDRESS, original_name="poster.svg")
    DatasetFactory(listing__chain_address=APP_A, original_name="")

    assert DATASETS.task_file_name(ADDRESS) == "poster.svg"
    assert DATASETS.task_file_name(APP_A) == "dataset"
    assert DATASETS.task_file_name(APP_B) == "dataset"  # no listing here


def test_a_dataset_seen_first_on_chain_gets_an_empty_file_row_its_registration_is_matched_by():
    listing = ListingFactory(kind="dataset")
    asset = Asset(kind="dataset", address=ADDRESS, checksum="0x" + "34" * 32)

    DATASETS.create_placeholder(listing=listing, asset=asset)

    dataset = Dataset.objects.get(listing=listing)
    assert (dataset.encrypted_sha256, dataset.plain_size, dataset.wrapped_key) == (
        "34" * 32,
        0,
        b"",
    )
    assert list(Listing.objects.filter(DATASETS.unlinked_match(asset))) == [listing]


def test_a_datasets_card_names_the_app_and_pool_it_runs_with():
    run = Run(1, "XS", Listing(name="resvg"), Listing(name="Poster"), Listing(name="Lyon"))

    assert DATASETS.run_partners(run) == "resvg on Lyon"
