from __future__ import annotations

import pytest

from marketplace.chain.keys import DEV_ADDRESSES
from marketplace.indexer.models import Asset
from marketplace.orders.selectors import listings_by_address
from pools.ads import pool_profiles, stored_expression
from pools.models import MemberStatus, PoolMember, PoolRecord
from tests.factories.catalogue import WorkerpoolFactory
from tests.pools.members import admit

pytestmark = pytest.mark.django_db
POOL = "0x" + "c3" * 20


def _registered(*, name: str, owner: str = "0x" + "d4" * 20, listing=None) -> Asset:
    """POOL as the indexer records its registration (owned by `owner`, listed as `listing`)."""
    return Asset.objects.create(
        chain_id=31337,
        address=POOL,
        kind="pool",
        owner=owner,
        listing=listing,
        name=name,
        registered_block=1,
        block_number=1,
    )


def test_a_listed_pools_profile_carries_its_attributes_and_its_operators_expressions():
    pool = WorkerpoolFactory(
        listing__name="Lyon Edge", requirements="TARGET.Volume >= 2", rank="TARGET.Volume"
    )
    _registered(listing=pool.listing, name="lyon")
    profile = pool_profiles(chain_id=31337, addresses=[POOL])[POOL]
    assert profile.listed and profile.name == "Lyon Edge"
    assert profile.attributes == {
        "Name": "Lyon Edge",
        "Pool": POOL,
        "Owner": "0x" + "d4" * 20,
        "Cores": 4,
        "Memory": 8192,
        "Region": "eu-west",
        "EnergyClass": "B",
        "Runtime": "wasm",
        "Visibility": "public",
    }  # no Workers: this site does not schedule it, so its members are not known here
    assert profile.requirements.text == "TARGET.Volume >= 2"
    assert profile.rank.text == "TARGET.Volume"


def test_a_pool_only_on_chain_has_its_name_and_owner_and_no_requirements():
    _registered(name="somewhere")
    profile = pool_profiles(chain_id=31337, addresses=[POOL])[POOL]
    assert (profile.listed, profile.name, profile.requirements) == (False, "somewhere", None)
    assert set(profile.attributes) == {"Name", "Pool", "Owner"}


def test_a_stored_expression_that_no_longer_reads_takes_nothing_rather_than_everything():
    assert stored_expression("", pool=POOL) is None
    assert stored_expression("TARGET.Volume >= 2", pool=POOL).text == "TARGET.Volume >= 2"
    assert stored_expression("TARGET.Gone >= 2", pool=POOL).text == "false"


def test_a_pool_this_site_schedules_says_how_many_members_in_good_standing_it_has():
    owner = DEV_ADDRESSES[3]  # a dev account: on the dev chain, this site schedules its pools
    _registered(owner=owner, name="scheduled here")
    assert pool_profiles(chain_id=31337, addresses=[POOL])[POOL].attributes["Workers"] == 0
    admit(POOL, [DEV_ADDRESSES[5], DEV_ADDRESSES[6], DEV_ADDRESSES[7]])
    PoolMember.objects.filter(worker=DEV_ADDRESSES[7]).update(status=MemberStatus.REMOVED)
    assert pool_profiles(chain_id=31337, addresses=[POOL])[POOL].attributes["Workers"] == 2


def test_a_pool_waiting_for_review_is_named_as_on_chain_not_by_its_unreviewed_name():
    pool = WorkerpoolFactory(listing__name="Renamed, not reviewed", listing__status="pending")
    _registered(listing=pool.listing, name="lyon")

    profile = pool_profiles(chain_id=31337, addresses=[POOL])[POOL]

    assert profile.attributes["Name"] == "lyon"
    assert listings_by_address(chain_id=31337, addresses=[POOL]) == {}


def _record(**fields) -> PoolRecord:
    return PoolRecord.objects.create(chain_id=31337, workerpool=POOL, **fields)


def test_a_pools_record_gives_its_ad_the_reliability_and_the_median_of_the_requests_category():
    _registered(name="somewhere")
    _record(
        finalized=30,
        reliability=812,
        categories=[
            {
                "catid": 0,
                "time_ref": 300,
                "finalized": 20,
                "in_time": 19,
                "median": 40.0,
                "p95": 90,
            },
            {
                "catid": 2,
                "time_ref": 3600,
                "finalized": 10,
                "in_time": 10,
                "median": 900,
                "p95": 2e3,
            },
        ],
    )
    timed = {
        category: pool_profiles(chain_id=31337, addresses=[POOL], category=category)[POOL]
        for category in (0, 2, 4, None)
    }
    assert {k: v for k, v in timed[0].attributes.items() if k not in ("Name", "Pool", "Owner")} == {
        "Reliability": 0.812,
        "TasksFinalized": 30,
        "MedianSeconds": 40.0,
    }
    assert timed[2].attributes["MedianSeconds"] == 900
    assert "MedianSeconds" not in timed[4].attributes  # none of XL finalized: no speed known
    assert timed[None].attributes["MedianSeconds"] == 40.0  # the category it ran most


def test_a_pool_whose_tasks_never_ended_leaves_its_record_undefined_in_its_ad():
    _registered(name="somewhere")
    _record(workers_seen=2, reliability=None)
    profile = pool_profiles(chain_id=31337, addresses=[POOL], category=0)[POOL]
    assert set(profile.attributes) == {"Name", "Pool", "Owner"}
