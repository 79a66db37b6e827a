"""The dataset owner's Key releases page: its conditions on who receives the key, and every
release, for the owner only."""

from __future__ import annotations

import pytest

from datamarket.models import KeyRelease
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import DatasetFactory

pytestmark = pytest.mark.django_db


def _release(dataset, n: int) -> KeyRelease:
    return KeyRelease.objects.create(
        dataset=dataset,
        chain_id=31337,
        worker=f"0x{n:040x}",
        workerpool="0x" + "7" * 40,
        dealid="0x" + "d" * 64,
        taskid="0x" + f"{n:064x}",
        admitted_via="hand",
        worker_score=n,
    )


def test_the_owner_sees_every_release_page_by_page(client):
    dataset = DatasetFactory()
    for n in range(1, 53):
        _release(dataset, n)
    client.force_login(dataset.listing.owner)

    first = client.get(f"/datasets/{dataset.listing.slug}/keys/").content.decode()
    assert 'Releases <span class="muted">(52)</span>' in first
    assert f"0x{52:040x}" in first and f"0x{1:040x}" not in first  # newest first
    second = client.get(f"/datasets/{dataset.listing.slug}/keys/?page=2").content.decode()
    assert f"0x{1:040x}" in second
    assert "Key releases" in client.get(dataset.listing.get_absolute_url()).content.decode()


def test_nobody_else_sees_them(client):
    dataset = DatasetFactory()
    _release(dataset, 1)
    assert client.get(f"/datasets/{dataset.listing.slug}/keys/").status_code == 302  # sign in
    client.force_login(UserFactory())
    assert client.get(f"/datasets/{dataset.listing.slug}/keys/").status_code == 404


def test_the_owner_sets_its_conditions(client):
    dataset = DatasetFactory()
    client.force_login(dataset.listing.owner)
    url = f"/datasets/{dataset.listing.slug}/keys/"

    client.post(url, {"hand_admitted_only": "on", "min_score": "4"})
    dataset.refresh_from_db()
    assert (dataset.key_hand_admitted_only, dataset.key_min_score) == (True, 4)

    refused = client.post(url, {"min_score": "-1"})
    assert "greater than or equal to 0" in refused.content.decode()
    dataset.refresh_from_db()
    assert dataset.key_min_score == 4


def test_once_on_chain_the_wallet_that_owns_the_dataset_reads_them(client):
    from marketplace.indexer.models import Asset
    from tests.factories.accounts import WalletFactory

    owner_wallet = "0x" + "C" * 40
    dataset = DatasetFactory(listing__chain_address="0x" + "d" * 40)
    Asset.objects.create(
        chain_id=31337,
        address=dataset.listing.chain_address,
        kind="dataset",
        owner=owner_wallet,
        name="d",
        registered_block=1,
        block_number=1,
    )
    holder = WalletFactory(address=owner_wallet).user
    client.force_login(holder)
    assert client.get(f"/datasets/{dataset.listing.slug}/keys/").status_code == 200
    # Once the dataset is on chain, its listing's provider without that wallet has no say.
    client.force_login(dataset.listing.owner)
    assert client.get(f"/datasets/{dataset.listing.slug}/keys/").status_code == 404
