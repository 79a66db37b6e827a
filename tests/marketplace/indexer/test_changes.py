"""The unit of work of a stretch of events, and its undo journal."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from marketplace.catalogue.models import Listing
from marketplace.indexer import changes as journal
from marketplace.indexer.changes import Changes
from marketplace.indexer.models import Deal, EscrowAccount, UndoRecord
from tests.factories.catalogue import ListingFactory

pytestmark = pytest.mark.django_db

ADDRESS = "0x" + "11" * 20
WHEN = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.UTC)


def _deal(**fields) -> dict:
    return {
        "block_number": 5,
        "tx_hash": "0x" + "ab" * 32,
        "app": ADDRESS,
        "workerpool": ADDRESS,
        "requester": ADDRESS,
        "beneficiary": ADDRESS,
        "payer": ADDRESS,
        "app_owner": ADDRESS,
        "workerpool_owner": ADDRESS,
        "bot_first": 0,
        "volume": 3,
        "category": 0,
        "trust": 1,
        "tag": "0x" + "00" * 32,
        "scheduler_reward_ratio": 1,
        "start_time": WHEN,
        "time_ref": 300,
        **fields,
    }


def test_an_unconfirmed_blocks_changes_are_taken_back_exactly():
    settled = Changes(chain_id=1)
    settled.create(EscrowAccount, ADDRESS, block_number=4, stake=Decimal(10**30), locked=0)
    settled.create(Deal, "0x01", **_deal(app_price=Decimal(2**200)))
    settled.flush()
    before = {
        "escrow": list(EscrowAccount.objects.values()),
        "deal": list(Deal.objects.values()),
    }

    block = Changes(chain_id=1, journal_block=9)
    account = block.edit(block.get(EscrowAccount, ADDRESS))
    account.stake -= 7
    account.locked += 7
    deal = block.edit(block.get(Deal, "0x01"))
    deal.tasks_completed += 1
    deal.start_time = WHEN + datetime.timedelta(days=1)
    deal.callback = ADDRESS
    block.create(Deal, "0x02", **_deal())
    block.flush()
    assert EscrowAccount.objects.get().locked == 7
    assert Deal.objects.count() == 2

    assert journal.undo(chain_id=1, from_block=9) == 3
    assert {
        "escrow": list(EscrowAccount.objects.values()),
        "deal": list(Deal.objects.values()),
    } == before
    assert not UndoRecord.objects.exists()


def test_a_row_edited_in_some_fields_is_taken_back_in_those_alone():
    listing = ListingFactory(chain_address="", name="Renderer")
    block = Changes(chain_id=1, journal_block=3)
    block.edit(block.get(Listing, listing.pk), ["chain_address"]).chain_address = ADDRESS
    block.flush()
    Listing.objects.filter(pk=listing.pk).update(name="Renamed by its owner")

    journal.undo(chain_id=1, from_block=3)
    listing.refresh_from_db()
    assert (listing.chain_address, listing.name) == ("", "Renamed by its owner")


def test_a_model_is_edited_in_one_set_of_fields():
    listing = ListingFactory()
    changes = Changes(chain_id=1)
    changes.edit(changes.get(Listing, listing.pk), ["chain_address"])
    with pytest.raises(ValueError, match="one set per model"):
        changes.edit(changes.get(Listing, listing.pk))
