from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketplace.catalogue import services
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import (
    Comment,
    CommentReport,
    CurationDecision,
    CurationStatus,
    Listing,
    ListingPrice,
    Market,
    Rating,
    RatingReport,
)
from marketplace.indexer.models import Deal, TaskStatus
from marketplace.notifications.models import Notification
from tests.chain_scaffold import ECT, new_digest
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import CommentFactory, ListingFactory
from tests.factories.deals import DealFactory, TaskFactory
from tests.factories.reviews import buyer, on_chain, purchase
from tests.marketplace.indexer.helpers import index_to_head

pytestmark = pytest.mark.django_db


def _new_listing(owner, **overrides) -> Listing:
    fields = {
        "kind": Market.APP,
        "owner": owner,
        "name": "Edge Renderer",
        "summary": "Renders",
        "tags": ["Graphics", "svg", "graphics"],
        "price": Decimal("0.25"),
    }
    fields.update(overrides)
    return services.listing_create(**fields)


def test_listing_create_waits_for_curation_with_its_price_and_tags():
    listing = _new_listing(UserFactory())

    assert listing.status == CurationStatus.PENDING
    assert listing.is_public is False
    assert listing.slug == "edge-renderer"
    assert sorted(t.slug for t in listing.tags.all()) == ["graphics", "svg"]
    listing.refresh_from_db()
    assert (listing.price, listing.price_from) == (Decimal("0.25"), Decimal("0.25"))
    assert not listing.prices.exists()  # one price per task, no category rows


def test_a_pool_is_priced_per_category():
    listing = _new_listing(
        UserFactory(),
        kind=Market.POOL,
        price=None,
        prices={"XS": Decimal("0.5"), "S": Decimal("0.25"), "M": None},
    )

    assert dict(listing.prices.values_list("category", "price")) == {
        "XS": Decimal("0.5"),
        "S": Decimal("0.25"),
    }
    listing.refresh_from_db()
    assert (listing.price, listing.price_from) == (None, Decimal("0.25"))


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (Market.APP, {"prices": {"XS": Decimal(1)}}, "An app has one price per task"),
        (Market.DATASET, {"prices": {"S": Decimal(1)}}, "A dataset has one price per task"),
        (Market.POOL, {"price": Decimal(1)}, "A worker pool has a price per task category"),
    ],
)
def test_a_price_of_the_wrong_shape_is_refused_and_nothing_is_stored(kind, fields, message):
    owner = UserFactory()
    with pytest.raises(services.CatalogueError, match=message):
        _new_listing(owner, kind=kind, **{"price": None, **fields})
    assert not Listing.objects.filter(owner=owner).exists()
    assert not ListingPrice.objects.exists()


def test_listing_create_gives_unique_slugs_for_equal_names():
    owner = UserFactory()
    first, second = _new_listing(owner), _new_listing(owner)
    assert (first.slug, second.slug) == ("edge-renderer", "edge-renderer-2")


def test_listing_update_by_owner_sends_published_listing_back_to_review():
    listing = ListingFactory(status=CurationStatus.APPROVED)

    services.listing_update(
        listing=listing,
        actor=listing.owner,
        name="New name",
        summary="s",
        description="d",
        tags=["x"],
        price=Decimal("3"),
    )

    listing.refresh_from_db()
    assert (listing.name, listing.status, listing.is_public) == (
        "New name",
        CurationStatus.PENDING,
        False,
    )
    assert (listing.price, listing.price_from) == (Decimal("3"), Decimal("3"))
    decision = CurationDecision.objects.get(listing=listing)
    assert (decision.from_status, decision.to_status, decision.actor) == (
        CurationStatus.APPROVED,
        CurationStatus.PENDING,
        listing.owner,
    )


def test_listing_update_by_someone_else_is_refused_and_changes_nothing():
    listing = ListingFactory(name="Original")

    with pytest.raises(services.NotAllowed):
        services.listing_update(
            listing=listing,
            actor=UserFactory(),
            name="Hijacked",
            summary="s",
            description="",
            tags=[],
            price=Decimal(1),
        )

    listing.refresh_from_db()
    assert listing.name == "Original"
    assert listing.status == CurationStatus.APPROVED


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (CurationStatus.PENDING, "approve", CurationStatus.APPROVED),
        (CurationStatus.PENDING, "feature", CurationStatus.FEATURED),
        (CurationStatus.APPROVED, "feature", CurationStatus.FEATURED),
        (CurationStatus.FEATURED, "unfeature", CurationStatus.APPROVED),
        (CurationStatus.DELISTED, "relist", CurationStatus.APPROVED),
        (CurationStatus.CHANGES_REQUESTED, "approve", CurationStatus.APPROVED),
    ],
)
def test_listing_curate_moves_status_and_records_decision(start, action, end):
    listing = ListingFactory(status=start)
    curator = UserFactory(is_staff=True)

    services.listing_curate(listing=listing, actor=curator, action=action, reason="ok")

    listing.refresh_from_db()
    assert listing.status == end
    assert listing.is_public == (end in (CurationStatus.APPROVED, CurationStatus.FEATURED))
    decision = listing.decisions.get()
    assert (decision.actor, decision.from_status, decision.to_status, decision.reason) == (
        curator,
        start,
        end,
        "ok",
    )


@pytest.mark.parametrize("action", ["request_changes", "delist", "revoke"])
def test_listing_curate_needs_a_reason_to_reject(action):
    listing = ListingFactory(status=CurationStatus.APPROVED)

    with pytest.raises(services.CatalogueError, match="Say why"):
        services.listing_curate(
            listing=listing, actor=UserFactory(is_staff=True), action=action, reason="  "
        )

    listing.refresh_from_db()
    assert listing.status == CurationStatus.APPROVED
    assert not CurationDecision.objects.exists()


def test_listing_curate_rejects_illegal_transition():
    listing = ListingFactory(status=CurationStatus.REVOKED)

    with pytest.raises(services.IllegalTransition, match="revoked"):
        services.listing_curate(listing=listing, actor=UserFactory(is_staff=True), action="approve")

    assert not CurationDecision.objects.exists()


def test_listing_curate_by_non_staff_is_refused():
    listing = ListingFactory(status=CurationStatus.PENDING)

    with pytest.raises(services.NotAllowed):
        services.listing_curate(listing=listing, actor=UserFactory(), action="approve")

    listing.refresh_from_db()
    assert listing.status == CurationStatus.PENDING


def test_a_buyers_rating_is_verified_by_their_deal_and_editable_in_place():
    listing = ListingFactory()
    user = buyer(listing)
    deal = Deal.objects.get()

    first = services.rating_set(listing=listing, user=user, stars=2)
    again = services.rating_set(
        listing=listing, user=user, stars=5, title="  Fast  and\nexact ", body=" Rendered 40. "
    )
    services.rating_set(listing=listing, user=buyer(listing), stars=4)

    assert again.pk == first.pk and first.edited_at is None
    rating = Rating.objects.get(listing=listing, user=user)
    assert (rating.stars, rating.title, rating.body) == (5, "Fast and exact", "Rendered 40.")
    assert (rating.dealid, rating.wallet) == (deal.dealid, deal.payer)
    assert rating.edited_at is not None
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_avg, listing.rating_histogram) == (
        2,
        Decimal("4.50"),
        [0, 0, 0, 1, 1],
    )


@pytest.mark.parametrize("kind", [Market.APP, Market.DATASET, Market.POOL])
def test_a_deal_verifies_the_listing_in_its_markets_field_only(kind):
    listing, other = ListingFactory(kind=kind), on_chain(ListingFactory(kind=kind))
    user = buyer(other)  # bought another listing of the market
    purchase(listing, user=user)

    rating = services.rating_set(listing=listing, user=user, stars=3)

    deal = Deal.objects.get(**{str(MARKETS[kind].order_kind): listing.chain_address})
    assert rating.dealid == deal.dealid


def test_a_rating_without_a_wallet_is_refused_with_what_to_do():
    listing = ListingFactory(name="Edge Renderer")

    with pytest.raises(services.NotABuyer) as refused:
        services.rating_set(listing=listing, user=UserFactory(), stars=4)

    assert str(refused.value) == (
        "Only buyers can rate: no wallet is linked to your account. Link the wallet you bought "
        "Edge Renderer with (on your Wallets page), or buy a run, and rate it once a task is "
        "finalized."
    )
    assert not Rating.objects.exists()


def test_a_rating_without_a_finished_task_is_refused_and_counts_nothing():
    listing = on_chain(ListingFactory(name="Edge Renderer"))
    stranger = WalletFactory().user
    buyer(listing)  # a buyer, but not the one who rates
    running = UserFactory()
    purchase(listing, user=running, status=TaskStatus.ACTIVE)
    failed = UserFactory()
    purchase(listing, user=failed, status=TaskStatus.FAILED)
    payee = UserFactory()  # the beneficiary of a finished deal someone else paid for
    beneficiary = WalletFactory(user=payee).address
    TaskFactory(
        deal=DealFactory(
            app=listing.chain_address,
            requester=beneficiary,
            beneficiary=beneficiary,
            payer=WalletFactory().address,
        )
    )

    with pytest.raises(services.NotABuyer) as refused:
        services.rating_set(listing=listing, user=stranger, stars=5)
    assert str(refused.value) == (
        "Only buyers can rate: none of your wallets paid for a finished task of Edge Renderer. "
        "Buy a run, and rate it once a task is finalized."
    )
    for user in (running, failed):
        with pytest.raises(services.NotABuyer) as refused:
            services.rating_set(listing=listing, user=user, stars=5)
        assert str(refused.value) == (
            "Only buyers can rate: your purchase of Edge Renderer has no finalized task yet. "
            "Rate it once a task is finalized (its deal page follows it)."
        )
    with pytest.raises(services.NotABuyer, match="none of your wallets paid"):
        services.rating_set(listing=listing, user=payee, stars=5)

    assert not Rating.objects.exists()
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_histogram) == (0, [0, 0, 0, 0, 0])


def test_a_listing_not_on_chain_cannot_be_rated_yet():
    listing = ListingFactory(name="Edge Renderer")

    with pytest.raises(services.NotABuyer) as refused:
        services.rating_set(listing=listing, user=WalletFactory().user, stars=4)

    assert str(refused.value) == (
        "Only buyers can rate: Edge Renderer is not on chain yet, so no one has bought it. "
        "Rate it once you bought a run and a task is finalized."
    )
    assert not Rating.objects.exists()


@pytest.mark.parametrize("stars", [0, 6, -1, 3.5, "4", True])
def test_rating_outside_one_to_five_is_refused(stars):
    listing = ListingFactory()

    with pytest.raises(services.CatalogueError, match="1 to 5"):
        services.rating_set(listing=listing, user=buyer(listing), stars=stars)

    assert not Rating.objects.exists()


def test_a_review_too_long_is_refused_whole():
    listing = ListingFactory()
    user = buyer(listing)

    with pytest.raises(services.CatalogueError) as refused:
        services.rating_set(listing=listing, user=user, stars=4, body="x" * 4001)
    assert str(refused.value) == (
        "A review is at most 4,000 characters; this one has 4,001: shorten it by 1."
    )
    with pytest.raises(services.CatalogueError, match="A review title is at most 120"):
        services.rating_set(listing=listing, user=user, stars=4, title="t" * 121)

    assert not Rating.objects.exists()


def test_owner_cannot_rate_own_listing():
    listing = ListingFactory()
    purchase(listing, user=listing.owner)
    with pytest.raises(services.NotAllowed):
        services.rating_set(listing=listing, user=listing.owner, stars=5)
    assert not Rating.objects.exists()


def test_ratings_from_before_verification_are_kept_but_not_counted_until_rated_again():
    listing = ListingFactory()
    user = UserFactory()
    old = Rating.objects.create(listing=listing, user=user, stars=1)
    services.rating_set(listing=listing, user=buyer(listing), stars=5)
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_histogram) == (1, [0, 0, 0, 0, 1])

    purchase(listing, user=user)
    services.rating_set(listing=listing, user=user, stars=3)

    old.refresh_from_db()
    assert old.is_verified and old.stars == 3
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_avg) == (2, Decimal("4.00"))


def test_an_edit_keeps_the_deal_its_badge_links_to():
    listing = ListingFactory()
    user = buyer(listing)
    first = Deal.objects.get()
    services.rating_set(listing=listing, user=user, stars=4)
    purchase(listing, user=user)

    rating = services.rating_set(listing=listing, user=user, stars=5)

    assert rating.dealid == first.dealid


def test_the_owner_answers_a_review_once_and_may_edit_it():
    listing = ListingFactory()
    rating = services.rating_set(listing=listing, user=buyer(listing), stars=2)

    services.review_reply(rating=rating, actor=listing.owner, body=" Fixed in 1.2. ")
    rating.refresh_from_db()
    first_reply_at = rating.replied_at
    services.review_reply(rating=rating, actor=listing.owner, body="Fixed in 1.3.")

    rating.refresh_from_db()
    assert (rating.reply, rating.replied_at) == ("Fixed in 1.3.", first_reply_at)
    assert rating.reply_edited_at is not None
    with pytest.raises(services.NotAllowed, match="Only the owner of"):
        services.review_reply(rating=rating, actor=rating.user, body="Me too")
    with pytest.raises(services.CatalogueError, match="Write your answer"):
        services.review_reply(rating=rating, actor=listing.owner, body="  ")
    rating.refresh_from_db()
    assert rating.reply == "Fixed in 1.3."


def test_a_hidden_review_stops_counting_takes_no_answer_nor_edit_until_restored():
    listing = ListingFactory()
    author = buyer(listing)
    rating = services.rating_set(listing=listing, user=author, stars=1, body="Spam spam")
    services.rating_set(listing=listing, user=buyer(listing), stars=5)
    services.review_report(rating=rating, reporter=UserFactory(), reason="spam")
    with pytest.raises(services.NotAllowed):
        services.review_moderate(rating=rating, actor=UserFactory(), hide=True)

    services.review_moderate(
        rating=rating, actor=UserFactory(is_staff=True), hide=True, reason="Spam"
    )

    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_avg) == (1, Decimal("5.00"))
    assert not RatingReport.objects.filter(resolved_at__isnull=True).exists()
    with pytest.raises(services.CatalogueError, match=r"A moderator hid your review \(Spam\)"):
        services.rating_set(listing=listing, user=author, stars=5)
    with pytest.raises(services.CatalogueError, match="takes no answer"):
        services.review_reply(rating=rating, actor=listing.owner, body="Hm")

    services.review_moderate(rating=rating, actor=UserFactory(is_staff=True), hide=False)
    listing.refresh_from_db()
    assert (listing.rating_count, listing.rating_avg) == (2, Decimal("3.00"))
    rating.refresh_from_db()
    assert (rating.is_hidden, rating.hidden_reason, rating.stars) == (False, "", 1)


def test_a_review_is_reported_once_per_user_and_never_by_its_author():
    listing = ListingFactory()
    rating = services.rating_set(listing=listing, user=buyer(listing), stars=1)
    reporter = UserFactory()

    services.review_report(rating=rating, reporter=reporter, reason="abuse")
    with pytest.raises(services.CatalogueError, match="already reported"):
        services.review_report(rating=rating, reporter=reporter, reason="again")
    with pytest.raises(services.CatalogueError, match="This review is yours"):
        services.review_report(rating=rating, reporter=rating.user, reason="oops")

    rating.refresh_from_db()
    assert rating.report_count == 1
    assert list(RatingReport.objects.values_list("reporter", "reason")) == [(reporter.pk, "abuse")]


def test_comment_replies_are_one_level_deep():
    listing = ListingFactory()
    top = services.comment_create(listing=listing, author=UserFactory(), body="Q?")
    reply = services.comment_create(listing=listing, author=UserFactory(), body="A", parent=top)

    with pytest.raises(services.CatalogueError, match="one level"):
        services.comment_create(listing=listing, author=UserFactory(), body="A2", parent=reply)

    assert Comment.objects.count() == 2


def test_comment_on_pending_listing_is_refused():
    listing = ListingFactory(status=CurationStatus.PENDING)
    with pytest.raises(services.CatalogueError, match="published"):
        services.comment_create(listing=listing, author=UserFactory(), body="hi")
    assert not Comment.objects.exists()


def test_comment_edit_only_by_author_within_window(settings):
    settings.COMMENT_EDIT_WINDOW_SECONDS = 600
    comment = CommentFactory(body="first")

    services.comment_edit(comment=comment, actor=comment.author, body="second")
    with pytest.raises(services.NotAllowed):
        services.comment_edit(comment=comment, actor=UserFactory(), body="third")
    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    with pytest.raises(services.CatalogueError, match="10 minutes"):
        services.comment_edit(comment=comment, actor=comment.author, body="late")

    comment.refresh_from_db()
    assert comment.body == "second"
    assert comment.edited_at is not None


def test_comment_report_once_per_user_and_counted():
    comment = CommentFactory()
    reporter = UserFactory()

    services.comment_report(comment=comment, reporter=reporter, reason="spam")
    with pytest.raises(services.CatalogueError, match="already reported"):
        services.comment_report(comment=comment, reporter=reporter, reason="spam again")
    services.comment_report(comment=comment, reporter=UserFactory(), reason="")

    comment.refresh_from_db()
    assert comment.report_count == 2
    assert CommentReport.objects.filter(comment=comment).count() == 2


def test_comment_moderate_hides_and_resolves_reports():
    comment = CommentFactory()
    services.comment_report(comment=comment, reporter=UserFactory(), reason="abuse")

    services.comment_moderate(
        comment=comment, actor=UserFactory(is_staff=True), hide=True, reason="abusive"
    )

    comment.refresh_from_db()
    assert (comment.is_hidden, comment.hidden_reason) == (True, "abusive")
    assert not CommentReport.objects.filter(resolved_at__isnull=True).exists()


def test_comment_moderate_by_non_staff_refused():
    comment = CommentFactory()
    with pytest.raises(services.NotAllowed):
        services.comment_moderate(comment=comment, actor=UserFactory(), hide=True)
    comment.refresh_from_db()
    assert comment.is_hidden is False


def test_listing_report_needs_reason_and_is_once_per_user():
    listing = ListingFactory()
    user = UserFactory()
    with pytest.raises(services.CatalogueError, match="Say what is wrong"):
        services.listing_report(listing=listing, reporter=user, reason=" ")
    services.listing_report(listing=listing, reporter=user, reason="malware")
    with pytest.raises(services.CatalogueError, match="already reported"):
        services.listing_report(listing=listing, reporter=user, reason="malware")
    assert listing.reports.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "<i>Renderer</i>"}, "A name is plain text, without HTML: remove “<i>”"),
        ({"name": "n" * 81}, "A name is at most 80 characters; this one has 81"),
        ({"summary": "s" * 161}, "A summary is at most 160 characters; this one has 161"),
        ({"description": "d" * 20_001}, "A description is at most 20,000 characters"),
    ],
)
def test_listing_texts_are_refused_whole_by_the_service_too(overrides, message):
    owner = UserFactory()

    with pytest.raises(services.CatalogueError, match=message):
        _new_listing(owner, **overrides)
    assert not Listing.objects.exists()

    listing = _new_listing(owner)
    with pytest.raises(services.CatalogueError, match=message):
        services.listing_update(
            listing=listing,
            actor=owner,
            tags=[],
            prices={"S": Decimal(1)},
            **{"name": "Kept", "summary": "Kept", "description": "", **overrides},
        )
    listing.refresh_from_db()
    assert (listing.name, listing.slug) == ("Edge Renderer", "edge-renderer")


def test_texts_are_stored_with_line_breaks_as_they_were_counted():
    # Given a summary at its limit once each CRLF counts as one character, as a browser counts
    summary = "abc\r\n" * 40  # 160 characters counted, 200 as sent
    listing = _new_listing(UserFactory(), summary=summary, description="one\r\ntwo")

    listing.refresh_from_db()
    assert listing.summary == "abc\n" * 40 and len(listing.summary) == 160
    assert listing.description == "one\ntwo"


def test_a_review_is_refused_before_the_purchase_and_accepted_once_its_task_is_final(
    chain, opened_market, hub_deployment
):
    # Given the market's app, published, and its future buyer signed in with their wallet
    market = opened_market.copy()
    index_to_head(hub_deployment)  # the registered assets get their listings
    app = services.listing_curate(
        listing=Listing.objects.get(chain_address=market.app),
        actor=UserFactory(is_staff=True),
        action="approve",
    )
    wallet = WalletFactory(address=market.requester.address)

    def rate():
        return services.rating_set(listing=app, user=wallet.user, stars=4, body="Counted words.")

    with pytest.raises(services.NotABuyer, match="none of your wallets paid"):
        rate()

    # When they buy a run: refused while its task runs
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT)
    dealid = market.match(orders)
    taskid = market.initialize(dealid)
    index_to_head(hub_deployment)
    with pytest.raises(services.NotABuyer, match="has no finalized task yet"):
        rate()
    assert not Rating.objects.exists()

    # Then accepted once the task is finalized and indexed, naming the deal
    digest = new_digest()
    market.contribute(market.workers[0], taskid, digest)
    market.reveal(market.workers[0], taskid, digest)
    market.finalize(taskid)
    index_to_head(hub_deployment)
    rating = rate()

    assert (rating.dealid, rating.wallet) == ("0x" + dealid.hex(), market.requester.address)
    app.refresh_from_db()
    assert (app.rating_count, app.rating_avg, app.rating_histogram) == (
        1,
        Decimal("4.00"),
        [0, 0, 0, 1, 0],
    )


def test_the_provider_hears_of_a_new_review_once_and_the_author_of_the_first_answer_once():
    listing = ListingFactory(name="Edge Renderer")
    author = buyer(listing)

    rating = services.rating_set(listing=listing, user=author, stars=4, title="Fast")
    services.rating_set(listing=listing, user=author, stars=5, title="Faster")  # an edit
    services.review_reply(rating=rating, actor=listing.owner, body="Thanks!")
    services.review_reply(rating=rating, actor=listing.owner, body="Thanks a lot!")  # an edit

    to_owner = Notification.objects.get(user=listing.owner)
    assert to_owner.title == f"{author.username} reviewed Edge Renderer (4 of 5 stars)"
    assert to_owner.url == f"{listing.get_absolute_url()}#review-{rating.pk}"
    to_author = Notification.objects.get(user=author)
    assert to_author.title == f"{listing.owner.username} replied to your review of Edge Renderer"
    assert to_author.body == "“Thanks!”"


def test_a_refused_review_tells_nobody():
    listing = ListingFactory()

    with pytest.raises(services.NotABuyer):
        services.rating_set(listing=listing, user=WalletFactory().user, stars=4)

    assert not Notification.objects.exists()
