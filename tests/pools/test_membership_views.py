"""The pool's Members page: its policy for everyone; requests, invitations, removals, the policy
and the history for its owner only; a form for workers to ask to join with their own wallet."""

from __future__ import annotations

import pytest
from eth_utils import to_checksum_address

from marketplace.catalogue.models import Market
from marketplace.indexer.models import Asset
from pools import membership
from pools.models import (
    Admission,
    MembershipAction,
    MembershipDecision,
    MemberStatus,
    PoolMember,
    PoolPolicy,
)
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import WorkerpoolFactory

pytestmark = pytest.mark.django_db

POOL = to_checksum_address("0x" + "7" * 40)
OWNER = to_checksum_address("0x" + "a" * 40)
WORKER = to_checksum_address("0x" + "b" * 40)


@pytest.fixture
def pool():
    """A registered pool whose owner's wallet is linked to a site user."""
    owner = UserFactory()
    WalletFactory(user=owner, address=OWNER)
    listing = WorkerpoolFactory(listing__owner=owner, listing__chain_address=POOL).listing
    Asset.objects.create(
        chain_id=31337,
        address=POOL,
        kind=Market.POOL,
        owner=OWNER,
        name=listing.name,
        registered_block=1,
        block_number=1,
    )
    return listing


def _page(client, listing):
    return client.get(f"/pools/{listing.slug}/members/")


def _post(client, listing, **data):
    return client.post(f"/pools/{listing.slug}/members/", data, follow=True)


def test_anyone_reads_the_policy_and_is_asked_to_sign_in(client, pool):
    page = _page(client, pool)
    assert page.status_code == 200
    text = page.content.decode()
    assert "By hand" in text and "Sign in" in text
    assert "Requests to join" not in text and "Admission policy" not in text


def test_the_listing_page_leads_to_the_members_page(client, pool):
    assert f"/pools/{pool.slug}/members/" in client.get(pool.get_absolute_url()).content.decode()


def test_a_worker_asks_to_join_with_its_own_wallet_and_the_owner_approves(client, pool):
    worker = UserFactory()
    WalletFactory(user=worker, address=WORKER)
    client.force_login(worker)

    asked = _post(client, pool, do="apply", wallet=WORKER, note="A quiet machine in Lyon")
    assert "asked to join" in asked.content.decode()
    member = PoolMember.objects.get(worker=WORKER)
    assert member.status == MemberStatus.REQUESTED and member.note == "A quiet machine in Lyon"
    # A wallet that is not the user's is not offered, nor taken.
    other = _post(client, pool, do="apply", wallet="0x" + "C" * 40)
    assert "Select a valid choice" in other.content.decode()
    assert not PoolMember.objects.filter(worker="0x" + "C" * 40).exists()
    # Nor does a worker decide.
    _post(client, pool, do="decide", member=member.pk, action="approved")
    assert PoolMember.objects.get(pk=member.pk).status == MemberStatus.REQUESTED

    client.force_login(pool.owner)
    page = _page(client, pool).content.decode()
    assert "Requests to join" in page and WORKER in page and "A quiet machine in Lyon" in page
    done = _post(client, pool, do="decide", member=member.pk, action="approved")
    assert "member" in done.content.decode()
    assert PoolMember.objects.get(pk=member.pk).status == MemberStatus.ACTIVE
    decision = MembershipDecision.objects.get(action=MembershipAction.APPROVED)
    assert (decision.decided_by, decision.decided_by_wallet) == (pool.owner, OWNER)
    assert "Request approved" in _page(client, pool).content.decode()


def test_the_owner_invites_removes_and_sets_the_policy(client, pool):
    client.force_login(pool.owner)
    bad = _post(client, pool, do="invite", worker="0x123")
    assert "0x and 40 hex digits" in bad.content.decode()
    assert not PoolMember.objects.exists()

    _post(client, pool, do="invite", worker=WORKER.lower(), reason="Our own machine")
    member = PoolMember.objects.get()
    assert (member.worker, member.status, member.admitted_via) == (WORKER, "active", "hand")

    unexplained = _post(client, pool, do="decide", member=member.pk, action="removed")
    assert "Say why" in unexplained.content.decode()
    _post(client, pool, do="decide", member=member.pk, action="removed", reason="Sold it")
    assert PoolMember.objects.get().status == MemberStatus.REMOVED

    _post(
        client,
        pool,
        do="policy",
        admission=Admission.AUTOMATIC,
        bond_min="12.5",
        score_min="3",
        seize_bond_on_contradiction="on",
    )
    policy = PoolPolicy.objects.get()
    assert (policy.admission, int(policy.bond_min), policy.score_min) == (
        "automatic",
        12_500_000_000,
        3,
    )
    assert policy.seize_bond_on_contradiction
    refused = _post(client, pool, do="policy", admission=Admission.AUTOMATIC, bond_min="0")
    assert "needs a condition" in refused.content.decode()
    assert PoolPolicy.objects.get().bond_min == 12_500_000_000
    history = _page(client, pool).content.decode()
    assert "Admission policy changed" in history and "Sold it" in history


def test_a_stranger_cannot_decide_for_the_pool(client, pool):
    member = membership.member_request(chain_id=31337, workerpool=POOL, worker=WORKER)
    client.force_login(UserFactory())
    refused = _post(client, pool, do="decide", member=member.pk, action="approved")
    assert "decides who works for it" in refused.content.decode()
    _post(client, pool, do="invite", worker="0x" + "D" * 40)
    _post(client, pool, do="policy", admission=Admission.AUTOMATIC, score_min="1")
    assert PoolMember.objects.get().status == MemberStatus.REQUESTED
    assert PoolMember.objects.count() == 1 and not PoolPolicy.objects.exists()
    assert "Requests to join" not in _page(client, pool).content.decode()


def test_an_unregistered_pool_says_so(client):
    listing = WorkerpoolFactory().listing
    page = _page(client, listing)
    assert page.status_code == 200 and "not registered on chain yet" in page.content.decode()
