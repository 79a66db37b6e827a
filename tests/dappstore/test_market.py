"""The DApp Store's adapter: what registering, selling and indexing an app take."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dappstore.models import App
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing
from marketplace.indexer.models import Asset
from marketplace.orders.selectors import Run
from tests.factories.catalogue import AppFactory, ListingFactory

pytestmark = pytest.mark.django_db

APPS = MARKETS["app"]
WALLET = "0x" + "11" * 20
ADDRESS = "0x" + "ab" * 20
POOL = "0x" + "cd" * 20


def test_an_app_registers_where_workers_download_its_program_with_its_checksum():
    app = AppFactory(listing__slug="resvg", listing__owner_wallet=WALLET, wasm_sha256="12" * 32)

    registration = APPS.registration(app.listing)

    assert (registration.owner, registration.name) == (WALLET, app.listing.name)
    assert registration.multiaddr == b"/files/app/resvg/"
    assert registration.checksum == bytes.fromhex("12" * 32)


def test_an_app_offer_is_one_order_at_its_price_with_the_restrictions_given():
    listing = AppFactory(listing__chain_address=ADDRESS).listing

    orders = APPS.sell_orders(
        listing,
        volume=10,
        price=Decimal("0.5"),
        restrictions={"requester_restrict": "", "workerpool_restrict": POOL},
    )

    assert orders == [
        {"volume": 10, "app": ADDRESS, "appprice": 500_000_000, "workerpoolrestrict": POOL}
    ]
    assert APPS.sell_orders(listing, volume=10, price=None) == []  # not priced: no offer


def test_an_app_seen_first_on_chain_gets_a_program_row_its_registration_is_matched_by():
    listing = ListingFactory(kind="app", owner_wallet=WALLET)
    asset = Asset(kind="app", address=ADDRESS, owner=WALLET, checksum="0x" + "34" * 32)

    APPS.create_placeholder(listing=listing, asset=asset)

    app = App.objects.get(listing=listing)
    assert (app.wasm_sha256, app.wasm_size, app.wasm.name) == ("34" * 32, 0, "")
    assert list(Listing.objects.filter(APPS.unlinked_match(asset))) == [listing]
    other = Asset(kind="app", checksum="0x" + "56" * 32)
    assert not Listing.objects.filter(APPS.unlinked_match(other)).exists()


def test_an_apps_card_names_the_dataset_and_pool_it_runs_with():
    app, dataset, pool = Listing(name="resvg"), Listing(name="Poster"), Listing(name="Lyon")

    assert APPS.run_partners(Run(1, "XS", app, dataset, pool)) == "Poster on Lyon"
    assert APPS.run_partners(Run(1, "XS", app, None, pool)) == "Lyon"
