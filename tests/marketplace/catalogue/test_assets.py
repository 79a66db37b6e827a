"""Listings of the assets seen on chain: linked (and unlinked when a reorganization takes the
asset back), and ranked by the asset's task record."""

from __future__ import annotations

import pytest

from marketplace.catalogue.assets import PENDING_SUMMARY, link_listing, rank_listings
from marketplace.catalogue.models import CurationStatus, Listing
from marketplace.indexer import changes as journal
from marketplace.indexer.changes import Changes
from marketplace.indexer.models import Asset, reputation
from pools.models import PoolRecord
from tests.factories.catalogue import ListingFactory

pytestmark = pytest.mark.django_db

CHAIN = 31337
POOL = "0x" + "a1" * 20
OWNER = "0x" + "b2" * 20
APP = "0x" + "d4" * 20


def _register(block: int, address: str = POOL, *, kind: str = "pool", **record) -> Listing:
    """Project the registration of a pool (or an app) in unconfirmed `block`, as the indexer
    does."""
    changes = Changes(chain_id=CHAIN, journal_block=block)
    asset = changes.create(
        Asset,
        address,
        kind=kind,
        checksum="0x" + "ee" * 32 if kind == "app" else "",
        owner=OWNER,
        name="Render farm",
        registered_block=block,
        block_number=block,
        **record,
    )
    link_listing(asset, changes)
    changes.flush()
    return Listing.objects.get(pk=asset.listing_id)


def test_an_asset_nobody_announced_gets_a_pending_listing_for_its_owner():
    listing = _register(7)
    assert (listing.name, listing.summary, listing.status) == (
        "Render farm",
        PENDING_SUMMARY,
        CurationStatus.PENDING,
    )
    assert (listing.chain_address, listing.owner_wallet) == (POOL, OWNER)
    assert listing.owner.wallets.get().address == OWNER


def test_a_reorganization_unlinks_the_listing_it_made_and_keeps_what_its_owner_wrote():
    listing = _register(7)
    Listing.objects.filter(pk=listing.pk).update(summary="Eight GPUs in Lisbon.")

    journal.undo(chain_id=CHAIN, from_block=7)

    listing.refresh_from_db()
    assert (listing.chain_address, listing.summary) == ("", "Eight GPUs in Lisbon.")
    assert not Asset.objects.exists()
    # The asset coming back (the same owner registers it again) finds the same listing.
    again = _register(8)
    assert again.pk == listing.pk
    assert Listing.objects.count() == 1


def test_a_reorganization_unlinks_a_listing_its_owner_had_announced():
    announced = ListingFactory(kind="pool", owner_wallet=OWNER, name="Render farm")
    assert _register(9).pk == announced.pk

    journal.undo(chain_id=CHAIN, from_block=9)

    announced.refresh_from_db()
    assert announced.chain_address == ""


def test_apps_rank_by_their_assets_records_blended_with_their_rating():
    listing = _register(7, APP, kind="app", tasks_completed=9, tasks_failed=1, revenue=9 * 10**9)
    other = _register(7, "0x" + "c3" * 20, kind="app", tasks_completed=1)
    Listing.objects.filter(pk=listing.pk).update(rating_avg=5, rating_count=2)

    assert rank_listings(chain_id=CHAIN, assets=[APP]) is True
    listing.refresh_from_db()
    other.refresh_from_db()
    # By hand: record = Wilson 9 of 10 = 596; usage = 1000 log10(10) / 4 = 250; revenue =
    # 1000 log10(10) / 5 = 200 (9 ECT); rating = Wilson 2 of 2 (two 5s) = 342.
    assert (reputation(9, 1), reputation(2, 0)) == (596, 342)
    assert listing.reputation == round(0.4 * 596 + 0.2 * 250 + 0.2 * 200 + 0.2 * 342) == 397
    assert other.reputation == 0  # not named: not ranked yet
    assert rank_listings(chain_id=CHAIN, assets=[APP]) is False  # nothing changed


def test_pools_rank_by_their_reliability_record_not_their_assets_counts():
    listing = _register(7, tasks_completed=9, tasks_failed=1)
    assert rank_listings(chain_id=CHAIN, assets=[POOL]) is False  # no record yet: 0
    PoolRecord.objects.create(chain_id=CHAIN, workerpool=POOL, finalized=9, reliability=612)

    assert rank_listings(chain_id=CHAIN, assets=[POOL]) is True
    listing.refresh_from_db()
    assert listing.reputation == 612


def test_ranking_everything_sets_a_listing_without_an_asset_back_to_nothing():
    listing = _register(7, APP, kind="app", tasks_completed=4)
    rank_listings(chain_id=CHAIN, assets=None)
    listing.refresh_from_db()
    assert listing.reputation > 0
    Asset.objects.all().delete()  # the chain forgotten, or its block taken back

    assert rank_listings(chain_id=CHAIN, assets=None) is True
    listing.refresh_from_db()
    assert listing.reputation == 0
