"""The demo catalogue `make run` seeds, and its life on the development chain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from eth_account import Account

from marketplace.accounts.models import Wallet
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Listing, Rating
from marketplace.chain.keys import DEV_ADDRESSES
from marketplace.demo.listings import (
    APPS,
    DATASETS,
    POOLS,
    RATER_WALLETS,
    RATINGS,
    REVIEW_REPLIES,
)
from marketplace.demo.onchain import RATER_KEYS
from marketplace.indexer.models import Asset, Deal, Task, TaskStatus
from marketplace.orders.models import Order
from marketplace.orders.purchases import purchase_quote
from marketplace.orders.selectors import Wanted
from pools.models import MembershipDecision, PoolMember
from tests.marketplace.demo.deployments import record_deployment
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


def test_without_a_deployment_the_demo_stays_off_chain(capsys):
    call_command("seed_demo")
    assert Listing.objects.filter(is_public=True).count() == len(APPS) + len(DATASETS) + len(POOLS)
    assert "not deployed" in capsys.readouterr().out
    assert not Listing.objects.exclude(chain_address="").exists()


def test_on_the_dev_chain_the_demo_is_registered_and_sells_its_first_tasks(
    chain, hub_deployment, capsys
):
    record_deployment(hub_deployment)
    call_command("seed_demo")
    out = capsys.readouterr().out
    listed = len(APPS) + len(DATASETS) + len(POOLS)
    assert f"registered on chain: {listed} new" in out
    assert "A first deal of 3 tasks: 2 completed here, the rest left for the pool's worker" in out
    published = Order.objects.exclude(kind="request").count()
    assert f"Sell orders in the book: {published} new" in out
    # and one standing request, waiting for a class A pool at 0.05 ECT a task
    standing = Order.objects.get(kind="request")
    assert standing.requirements == {"max_price": "0.05", "energy_class": "A"}
    assert standing.preferences["preset"] == "greenest" and standing.expires_at is not None
    assert "A standing request waits in the book" in out
    # Every demo rating is a verified buyer's: its rater's wallet paid for a finished run of it.
    ratings = [(name, *rating) for name, rated in RATINGS.items() for rating in rated]
    assert "Reviews by verified buyers: 10 of 10 posted, after 5 small deals of theirs" in out
    assert sorted(
        Rating.objects.values_list("listing__name", "user__username", "stars", "title", "body")
    ) == sorted(ratings)
    for rating in Rating.objects.select_related("listing", "user"):
        deal = Deal.objects.get(dealid=rating.dealid)
        assert rating.wallet == deal.payer == RATER_WALLETS[rating.user.username]
        role = str(MARKETS[rating.listing.kind].order_kind)
        assert getattr(deal, role) == rating.listing.chain_address
        assert Task.objects.filter(dealid=deal.dealid, status=TaskStatus.COMPLETED).exists()
    renderer = Listing.objects.get(name="resvg SVG renderer")
    assert (renderer.rating_count, renderer.rating_avg) == (3, Decimal("4.67"))
    answered = Rating.objects.get(listing__name="usvg SVG normalizer", user__username="bob")
    assert answered.reply == REVIEW_REPLIES[("usvg SVG normalizer", "bob")]
    deals = Deal.objects.count()
    call_command("seed_demo")  # again: nothing new, nothing sent twice
    out = capsys.readouterr().out
    assert "registered on chain: 0 new" in out and "Sell orders in the book: 0 new" in out
    assert "Reviews" not in out
    assert Order.objects.count() == published + 1
    assert Rating.objects.count() == len(ratings)
    # The demo pools admitted `make run`'s two agents by hand, once, as their owners' decision.
    pools = Listing.objects.filter(kind="pool")
    assert PoolMember.objects.filter(status="active", admitted_via="hand").count() == (
        2 * pools.count()
    )
    decisions = MembershipDecision.objects.filter(action="invited")
    assert decisions.count() == 2 * pools.count()
    assert {d.decided_by_wallet for d in decisions} == {p.owner_wallet for p in pools}
    assert {m.worker for m in PoolMember.objects.all()} == {DEV_ADDRESSES[6], DEV_ADDRESSES[7]}

    index_to_head(hub_deployment)
    assert Deal.objects.count() == deals  # the second seeding bought nothing
    assert Asset.objects.count() == Listing.objects.count() == listed  # no pending duplicates
    asset = Asset.objects.get(address=renderer.chain_address)
    assert asset.listing_id == renderer.pk
    # The first deal (3 tasks, 2 run here) and the three raters' one-task runs of it.
    assert (asset.deals, asset.volume_sold, asset.tasks_completed) == (4, 6, 5)
    assert asset.owner == renderer.owner_wallet
    assert renderer.__class__.objects.get(pk=renderer.pk).reputation > 0

    # Every demo app can be bought at once: an app order, a pool offer, and the poster
    # drawing for the SVG renderer.
    assert set(Order.objects.filter(kind="app").values_list("asset", flat=True)) == set(
        Listing.objects.filter(kind="app").values_list("chain_address", flat=True)
    )
    assert all(order.status == "open" for order in Order.objects.all())
    wanted = Wanted(
        app=renderer.chain_address,
        dataset=Listing.objects.get(name="Single poster drawing").chain_address,
        category=0,
        trust=1,
        requester=DEV_ADDRESSES[7],
    )
    quote = purchase_quote(wanted=wanted, params="{}")
    assert quote.failures == [] and quote.total > 0


def test_the_demo_ratings_wait_for_their_raters_purchases_off_chain(capsys):
    call_command("seed_demo", "--no-chain")

    assert not Rating.objects.exists()
    for username, address in RATER_WALLETS.items():
        assert Wallet.objects.get(address=address).user.username == username


def test_the_raters_keys_are_their_wallets_and_no_other_demo_role_uses_them():
    for address, key in RATER_KEYS.items():
        assert Account.from_key(key).address == address
    assert set(RATER_KEYS) == set(RATER_WALLETS.values())
    assert not set(RATER_KEYS) & set(DEV_ADDRESSES)  # the dev accounts the demo and server use


def test_every_demo_dataset_is_one_well_formed_svg_document():
    from xml.etree import ElementTree

    # The demo's own generated files, not untrusted input.
    for spec in DATASETS:
        root = ElementTree.fromstring(spec["content"]())  # noqa: S314 (raises on a 2nd document)
        assert root.tag == "{http://www.w3.org/2000/svg}svg", spec["name"]
        assert spec["filename"].endswith(".svg")
    drawings = next(s for s in DATASETS if s["name"] == "Geometric SVG drawings")
    sheet = ElementTree.fromstring(drawings["content"]())  # noqa: S314
    assert len(sheet.findall("{http://www.w3.org/2000/svg}svg")) == 64  # as its summary says


def test_signing_in_with_a_demo_providers_dev_account_opens_its_account():
    call_command("seed_demo", "--no-chain")
    for listing in Listing.objects.all():
        wallet = Wallet.objects.get(address=listing.owner_wallet)
        assert wallet.user == listing.owner, listing.name
