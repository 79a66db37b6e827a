"""Standing requests: signed requests that wait in the book for an offer that fits, and the
matcher that sends matchOrders for them with a server key, exactly once, on anvil."""

from __future__ import annotations

import datetime
import json

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.chain.orders import RequestOrder, WorkerpoolOrder, hub_domain, typed_data
from marketplace.chain.selectors import current_hub
from marketplace.indexer.models import Deal
from marketplace.orders import selectors, standing
from marketplace.orders.models import MatchStatus, Order, OrderStatus, StandingMatch
from marketplace.orders.parsing import OrderError
from marketplace.orders.services import NotYourOrder
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.marketplace.orders.standing_helpers import (
    PARAMS,
    match_round,
    open_book,
    pool_offer,
    publish,
    sent_by_matcher,
    signed,
    stand,
)
from tests.pools.members import admit

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(market):
    return open_book(market)


@pytest.fixture
def requester(book):
    return WalletFactory(address=book.requester.address).user


def test_a_standing_request_keeps_what_the_buyer_asked(book, requester):
    before = timezone.now()
    order = stand(
        book,
        requester,
        requirements={"region": "eu-west", "max_price": "2.5"},
        preferences={"preset": "fastest"},
    )
    order.refresh_from_db()
    assert (order.kind, order.status, order.remaining) == ("request", OrderStatus.OPEN, 2)
    assert order.requirements == {"region": "eu-west", "max_price": "2.5"}
    assert order.preferences["preset"] == "fastest"
    assert order.preferences["weights"] == standing.PRESETS["fastest"].as_dict()
    assert before + standing.DEFAULT_EXPIRY <= order.expires_at
    assert order.expires_at <= timezone.now() + standing.DEFAULT_EXPIRY


def test_a_standing_request_with_nothing_fitting_stays_open(book, requester):
    order = stand(book, requester)
    sent = sent_by_matcher(book)

    done = match_round(book)

    assert (done.matched, done.waiting, done.problems) == ([], 1, [])
    assert not StandingMatch.objects.exists()
    assert sent_by_matcher(book) == sent
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    why = standing.standing_waiting_for(standing.standing_market(order))
    assert why == ["No pool is offering work right now."]


def test_an_offer_published_later_is_matched_once(book, requester, index):
    order = stand(book, requester)
    assert match_round(book).matched == []

    pool_offer(book, price=3)
    done = match_round(book)

    (dealid,) = done.matched
    match = StandingMatch.objects.get()
    assert (match.status, match.dealid, match.volume, match.consumed_before) == (
        MatchStatus.CONFIRMED,
        dealid,
        2,
        0,
    )
    assert match.tx_hash.startswith("0x") and len(match.tx_hash) == 66
    hub = current_hub()
    assert hub.consumed(order.digest) == 2
    assert (hub.deal(dealid).volume, hub.deal(dealid).payer) == (2, book.requester.address)
    # Nothing is left to match: another round sends nothing.
    sent = sent_by_matcher(book)
    assert match_round(book).matched == []
    assert sent_by_matcher(book) == sent
    index()
    assert list(Deal.objects.filter(request_order=order.digest).values_list("dealid", flat=True))
    assert Deal.objects.filter(request_order=order.digest).count() == 1
    order.refresh_from_db()
    assert (order.status, order.remaining) == (OrderStatus.FILLED, 0)
    assert standing.standing_deals(order) == [dealid]


def test_a_restarted_matcher_finds_its_sent_match_on_chain_and_sends_nothing_more(
    book, requester, index
):
    # Given a match sent and mined, whose outcome the matcher died before writing down (and
    # that the index has not seen yet: the book still shows the request open)
    order = stand(book, requester)
    pool_offer(book, price=3)
    (dealid,) = match_round(book).matched
    StandingMatch.objects.update(status=MatchStatus.PENDING, tx_hash="")
    sent = sent_by_matcher(book)

    # When a new matcher runs its round
    done = match_round(book)

    # Then it finds the deal on chain and sends nothing: one deal, the request's volume
    assert (done.resolved, done.matched) == ([dealid], [])
    assert StandingMatch.objects.get().status == MatchStatus.CONFIRMED
    assert sent_by_matcher(book) == sent
    assert current_hub().consumed(order.digest) == 2
    index()
    assert Deal.objects.filter(request_order=order.digest).count() == 1


def test_a_match_that_never_left_blocks_the_request_until_it_settles(book, requester, index):
    # Given a match written down whose process died before sending it
    order = stand(book, requester)
    offer = pool_offer(book, price=3)
    app_order = Order.objects.get(kind="app")
    now = timezone.now()
    StandingMatch.objects.create(
        chain_id=settings.CHAIN_ID,
        request=order,
        request_digest=order.digest,
        app_order=app_order.digest,
        workerpool_order=offer.digest,
        volume=2,
        consumed_before=0,
        dealid="0x" + "00" * 32,
        status=MatchStatus.PENDING,
    )
    sent = sent_by_matcher(book)

    # While it may still be mined, nothing else is sent for the request
    done = match_round(book, now=now)
    assert (done.matched, done.failed) == ([], 0)
    assert sent_by_matcher(book) == sent
    assert StandingMatch.objects.get().status == MatchStatus.PENDING

    # Once it cannot be any more, it failed, and the request is matched anew, once
    later = now + datetime.timedelta(seconds=settings.STANDING_MATCH_SETTLE_SECONDS + 1)
    done = match_round(book, now=later)
    assert done.failed == 1 and len(done.matched) == 1
    first, second = StandingMatch.objects.order_by("id")
    assert first.status == MatchStatus.FAILED
    assert first.reason.startswith("Not on chain ")
    assert (second.status, second.dealid) == (MatchStatus.CONFIRMED, done.matched[0])
    assert current_hub().consumed(order.digest) == 2
    index()
    assert Deal.objects.filter(request_order=order.digest).count() == 1


def test_a_second_match_while_one_is_unresolved_is_refused_by_the_database(book, requester):
    order = stand(book, requester)
    fields = {
        "chain_id": settings.CHAIN_ID,
        "request": order,
        "request_digest": order.digest,
        "app_order": "0x" + "01" * 32,
        "workerpool_order": "0x" + "02" * 32,
        "volume": 1,
        "consumed_before": 0,
        "dealid": "0x" + "03" * 32,
    }
    StandingMatch.objects.create(status=MatchStatus.SENT, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        StandingMatch.objects.create(status=MatchStatus.PENDING, **fields)
    StandingMatch.objects.create(status=MatchStatus.FAILED, **fields)  # resolved ones: any number
    assert StandingMatch.objects.count() == 2


def test_an_offer_above_the_signed_pool_price_is_not_matched(book, requester):
    order = stand(book, requester)
    pool_offer(book, price=4)
    sent = sent_by_matcher(book)

    done = match_round(book)

    assert (done.matched, done.waiting) == ([], 1)
    assert sent_by_matcher(book) == sent
    why = standing.standing_waiting_for(standing.standing_market(order))
    assert why == ["Of 1 pool, 1 costs more than 3 ECT per task; none can run it."]


def test_a_request_whose_escrow_goes_is_dead_skipped_and_back_once_covered(book, requester, index):
    # Given a standing request for 2 tasks at up to 4 ECT (8 ECT), and a fitting offer
    order = stand(book, requester)
    pool_offer(book, price=3)
    buyer = book.sender(book.requester)

    # When the requester's escrow no longer covers it
    book.hub.withdraw(sender=buyer, amount=995 * ECT)
    index()
    order.refresh_from_db()
    assert order.status == OrderStatus.DEAD
    assert "free but the order needs" in order.status_reason

    # Then the matcher leaves it
    sent = sent_by_matcher(book)
    assert match_round(book).matched == []
    assert sent_by_matcher(book) == sent and not StandingMatch.objects.exists()

    # And once deposited again it is back, and matched
    book.hub.approve_and_deposit(sender=buyer, amount=995 * ECT)
    index()
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    (dealid,) = match_round(book).matched
    assert current_hub().deal(dealid).volume == 2


def test_an_expired_request_leaves_the_book_unmatched(book, requester, index):
    now = timezone.now()
    order = stand(book, requester, expires_at=now + datetime.timedelta(hours=1))
    pool_offer(book, price=3)
    sent = sent_by_matcher(book)

    done = match_round(book, now=now + datetime.timedelta(hours=2))

    assert (done.expired, done.matched) == (1, [])
    assert sent_by_matcher(book) == sent
    order.refresh_from_db()
    assert (order.status, order.status_reason, order.unpublished) == (
        OrderStatus.CANCELLED,
        standing.EXPIRED,
        True,
    )
    index()  # the refresh follows the chain, where it is still valid: it stays off the book
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_the_request_is_matched_by_its_own_preferences_among_pools(book, requester):
    # Given the market's pool at 3 ECT and a second pool at 2 ECT, whose offer is for trust 1
    # too: the cheapest first takes the second
    second = book.add_workerpool(owner=book.other_scheduler, description="Pool B")
    admit(second, book.workers)
    pool_offer(book, price=3)
    cheaper = WorkerpoolOrder(
        workerpool=second, workerpoolprice=2 * ECT, volume=50, category=0, trust=1
    )
    publish(book, cheaper, book.other_scheduler.key)
    stand(book, requester, preferences={"preset": "cheapest"})

    (dealid,) = match_round(book).matched

    assert current_hub().deal(dealid).workerpool == second


# ---------------------------------------------------------------------- refused


def _stand_refused(**inputs) -> OrderError:
    """What standing_publish says of `inputs` for a request of a wallet of the caller's (the
    inputs are refused before the book checks anything on chain)."""
    wallet = WalletFactory()
    request = RequestOrder(
        app="0x" + "11" * 20,
        appmaxprice=ECT,
        workerpoolmaxprice=3 * ECT,
        requester=wallet.address,
        beneficiary=wallet.address,
        category=0,
        params=PARAMS,
    )
    domain = hub_domain(chain_id=settings.CHAIN_ID, hub_address="0x" + "22" * 20)
    arguments = {
        "user": wallet.user,
        "message": typed_data(request, domain)["message"],
        "signature": "0x" + "11" * 65,
        "requirements": {},
        "preferences": {},
        **inputs,
    }
    before = Order.objects.count()
    with pytest.raises(OrderError) as refused:
        standing.standing_publish(**arguments)
    assert Order.objects.count() == before
    return refused.value


@pytest.mark.parametrize(
    ("inputs", "field", "words"),
    [
        ({"requirements": {"region": "mars"}}, "requirements.region", "Region is one of "),
        ({"requirements": {"cores": "many"}}, "requirements.cores", "Cores is a whole number"),
        ({"requirements": ["eu"]}, "requirements", "requirements must be a JSON object"),
        ({"preferences": {"preset": "fast"}}, "preferences.preset", "There is no preset 'fast'"),
        (
            {"preferences": {"weights": {"price": -1}}},
            "preferences.weights.price",
            "The price weight is negative",
        ),
        ({"preferences": {"order": "asc"}}, "preferences.order", "preferences has no field"),
        (
            {"requirements": {"max_price": "3.5"}},
            "requirements.max_price",
            "Your max pool price (3.5 ECT) is above the pool price the request is signed for",
        ),
    ],
)
def test_bad_requirements_and_preferences_are_refused_naming_the_field(inputs, field, words):
    refused = _stand_refused(**inputs)
    assert refused.field == field
    assert str(refused).startswith(words)


def test_an_expiry_in_the_past_or_too_far_is_refused():
    now = timezone.now()
    past = _stand_refused(expires_at=now - datetime.timedelta(minutes=1))
    assert past.field == "expires_at"
    assert "is past: choose a time in the future, at most 30 days ahead." in str(past)
    far = _stand_refused(expires_at=now + standing.MAX_EXPIRY + datetime.timedelta(hours=1))
    assert far.field == "expires_at"
    assert "is more than 30 days ahead" in str(far)


def test_a_request_of_someone_elses_wallet_is_refused(book):
    stranger = WalletFactory().user
    message, signature = signed(book)
    with pytest.raises(NotYourOrder) as refused:
        standing.standing_publish(
            user=stranger,
            message=message,
            signature=signature,
            requirements={},
            preferences={},
        )
    assert refused.value.status == 403
    assert not Order.objects.filter(kind="request").exists()


def test_a_request_whose_task_cannot_work_is_refused(book, requester):
    with pytest.raises(OrderError) as refused:
        stand(book, requester, params='{"args":"{dataset}"}')
    assert [f.check for f in refused.value.failures] == ["NeedsDataset"]
    assert not Order.objects.filter(kind="request").exists()


def test_a_request_for_a_category_the_hub_lacks_is_refused(book, requester):
    known = "choose one of 0 (XS), 1 (S), 2 (M), 3 (L), 4 (XL)."

    with pytest.raises(standing.StandingRefused) as refused:
        stand(book, requester, category=99)

    assert refused.value.field == "category"
    assert str(refused.value) == f"The Hub has no such category: {known}"
    assert not Order.objects.filter(kind="request").exists()
    # Nor is one drafted for the buyer to sign.
    with pytest.raises(standing.StandingRefused) as drafted:
        standing.standing_draft(
            wanted=selectors.Wanted(app=book.app, category=5, requester=book.requester.address),
            params=PARAMS,
            workerpool_max=3 * ECT,
        )
    assert (drafted.value.field, str(drafted.value)) == (
        "category",
        f"The Hub has no such category: {known}",
    )


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"trust": 5000}, "trust", "Trust 5,000 is above the most a buyer may ask here, 1,000"),
        (
            {"params": json.dumps({"args": "x" * 4001})},
            "params",
            "The arguments have 4,001 characters; at most 4,000 are accepted.",
        ),
        (
            {"params": json.dumps({"iexec_args": "x" * 5000})},
            "params",
            "The arguments have 5,000 characters; at most 4,000 are accepted.",
        ),
        ({"app": "0x" + "00" * 19 + "01"}, "app", "No app is registered at 0x0000"),
        ({"dataset": "0x" + "ab" * 20}, "dataset", "No dataset is registered at 0x"),
        ({"workerpool": "0x" + "cd" * 20}, "workerpool", "No pool is registered at 0x"),
    ],
)
def test_what_the_form_bounds_the_api_bounds_too(book, requester, fields, field, words):
    with pytest.raises(standing.StandingRefused) as refused:
        stand(book, requester, **fields)

    assert refused.value.field == field
    assert str(refused.value).startswith(words)
    assert not Order.objects.filter(kind="request").exists()
