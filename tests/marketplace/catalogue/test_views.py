from __future__ import annotations

import re

import pytest
from django.urls import reverse

from marketplace import ratelimit
from marketplace.catalogue import services
from marketplace.catalogue.models import (
    Comment,
    CurationDecision,
    CurationStatus,
    Listing,
    Market,
    Rating,
)
from marketplace.indexer.models import Deal
from tests.factories.accounts import UserFactory, WalletFactory
from tests.factories.catalogue import (
    AppFactory,
    CommentFactory,
    DatasetFactory,
    ListingFactory,
    TagFactory,
    WorkerpoolFactory,
)
from tests.factories.reviews import buyer, on_chain, purchase

pytestmark = pytest.mark.django_db


def test_home_shows_featured_counts_and_empty_states(client):
    AppFactory(listing__name="Star app", listing__status=CurationStatus.FEATURED)
    page = client.get("/").content.decode()
    assert "Star app" in page
    assert "1</strong> app" in page
    assert "Nothing listed here yet." in page  # datasets and pools are empty


def test_list_page_full_and_htmx_partial(client):
    AppFactory(listing__name="Renderer")
    full = client.get("/apps/?q=rend")
    partial = client.get("/apps/?q=rend", headers={"HX-Request": "true"})
    assert full.status_code == partial.status_code == 200
    assert "<html" in full.content.decode()
    body = partial.content.decode()
    assert "<html" not in body
    assert 'id="results"' in body
    assert "Renderer" in body


def test_list_page_reports_bad_filters_instead_of_failing(client):
    AppFactory(listing__name="Renderer")
    response = client.get("/apps/?price_min=abc&price_max=-1&rating_min=9&page=zero")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Min price: Enter a number." in page
    assert "Max price: Ensure this value is greater than or equal to 0." in page
    assert "Renderer" in page  # the valid part of the query still applies


def test_list_page_empty_state_and_pagination(client, settings):
    settings.CATALOGUE_PAGE_SIZE = 2
    for i in range(3):
        AppFactory(listing__name=f"App {i}")
    page1 = client.get("/apps/").content.decode()
    page2 = client.get("/apps/?page=2").content.decode()
    assert "Page 1 of 2" in page1
    assert 'rel="next"' in page1
    assert "App 0" in page2
    assert "No apps match" in client.get("/apps/?q=zzzz").content.decode()


def test_detail_page_renders_description_inert_and_prices(client):
    app = AppFactory(listing__description="<script>alert('x')</script>**Hello**")
    page = client.get(app.listing.get_absolute_url()).content.decode()
    assert "<strong>Hello</strong>" in page
    assert "<script>alert" not in page
    assert "Price per task" in page


def test_the_description_help_says_what_becomes_of_html_as_the_page_shows_it(client):
    """HTML in a description is shown as the text typed, not removed: the help says so."""
    user = UserFactory()
    client.force_login(user)
    form = client.get(reverse("app_submit")).content.decode()
    assert (
        "Markdown: headings, lists, links, tables, code. HTML tags are not run: they show as "
        "the text you typed."
    ) in form
    assert "removed" not in form
    app = AppFactory(listing__owner=user, listing__description="<b>bold?</b> **bold**")
    page = client.get(app.listing.get_absolute_url()).content.decode()
    assert "<p>&lt;b&gt;bold?&lt;/b&gt; <strong>bold</strong></p>" in page


def test_detail_of_pending_listing_only_for_owner_and_staff(client):
    app = AppFactory(listing__status=CurationStatus.PENDING)
    url = app.listing.get_absolute_url()
    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(app.listing.owner)
    assert client.get(url).status_code == 200
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("factory", [DatasetFactory, WorkerpoolFactory])
def test_detail_pages_of_other_markets(client, factory):
    row = factory()
    assert client.get(row.listing.get_absolute_url()).status_code == 200


def test_anonymous_rating_and_comment_redirect_to_login_and_write_nothing(client):
    listing = ListingFactory()
    rate = client.post(reverse("listing_rate", args=[listing.pk]), {"stars": 5})
    comment = client.post(reverse("comment_create", args=[listing.pk]), {"body": "hi"})
    assert rate.status_code == comment.status_code == 302
    assert "/accounts/login/" in rate["Location"]
    assert not Rating.objects.exists()
    assert not Comment.objects.exists()


def test_rating_out_of_range_is_refused_with_message(client):
    listing = AppFactory().listing
    client.force_login(UserFactory())
    response = client.post(reverse("listing_rate", args=[listing.pk]), {"stars": 7}, follow=True)
    assert "A rating is a whole number of stars from 1 to 5." in response.content.decode()
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("stars", "reason"),
    [
        ("7", "A rating is a whole number of stars from 1 to 5."),
        ("-1", "A rating is a whole number of stars from 1 to 5."),
        ("five", "A rating is a whole number of stars from 1 to 5."),
        ("", "Choose how many stars to give: a whole number from 1 to 5."),
    ],
)
def test_a_refused_rating_is_the_page_again_with_the_reason_in_its_rating_block(
    client, stars, reason
):
    listing = AppFactory().listing
    client.force_login(UserFactory())

    response = client.post(reverse("listing_rate", args=[listing.pk]), {"stars": stars})

    assert response.status_code == 400
    block = response.content.decode().split('id="rating-block"', 1)[1].split("</form>", 1)[0]
    assert f'<p class="msg msg-error" role="status">{reason}</p>' in block
    assert not Rating.objects.exists()


def test_rating_with_htmx_returns_the_updated_block(client):
    listing = AppFactory().listing
    client.force_login(buyer(listing, username="ann"))
    response = client.post(
        reverse("listing_rate", args=[listing.pk]),
        {"stars": 4, "title": "Sharp", "body": "Rendered <b>40</b> posters."},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="rating-block"') and "<html" not in body
    assert '<p class="msg msg-success" role="status">Thanks, your review is posted.</p>' in body
    assert "Your review: change it" in body
    assert 'value="4" aria-label="4 stars" required checked>' in body
    review = body.split('class="comment review"', 1)[1]
    assert (
        "<strong>Sharp</strong>" in review and "Rendered &lt;b&gt;40&lt;/b&gt; posters." in review
    )
    assert "<strong>ann</strong>" in review
    assert "from 1 verified review" not in body  # the page's head is not in the block
    assert "the 1 review of people whose wallet paid" in body


def test_a_non_buyer_is_refused_with_the_reason_in_the_rating_block_and_may_comment(client):
    listing = AppFactory(listing__name="Renderer").listing
    on_chain(listing)
    client.force_login(WalletFactory().user)
    reason = (
        "Only buyers can rate: none of your wallets paid for a finished task of Renderer. Buy "
        "a run, and rate it once a task is finalized."
    )

    page = client.get(listing.get_absolute_url()).content.decode()
    refused = client.post(
        reverse("listing_rate", args=[listing.pk]), {"stars": 5, "body": "Great, I guess"}
    )
    htmx = client.post(
        reverse("listing_rate", args=[listing.pk]),
        {"stars": 5},
        headers={"HX-Request": "true"},
    ).content.decode()

    assert f'<p class="msg" role="note">{reason} You can still comment below.</p>' in page
    assert 'name="stars"' not in page and 'action="/listings/' in page  # the comment form
    assert refused.status_code == 403
    block = refused.content.decode().split('id="rating-block"', 1)[1]
    assert f'<p class="msg msg-error" role="status">{reason}</p>' in block
    assert f'<p class="msg msg-error" role="status">{reason}</p>' in htmx
    assert not Rating.objects.exists()


def test_the_rating_form_is_for_buyers_and_says_which_deal_makes_them_one(client):
    listing = AppFactory().listing
    user = buyer(listing)
    dealid = Deal.objects.get().dealid
    anonymous = client.get(listing.get_absolute_url()).content.decode()
    client.force_login(listing.owner)
    owner = client.get(listing.get_absolute_url()).content.decode()
    client.force_login(user)

    page = client.get(listing.get_absolute_url()).content.decode()

    assert "to rate: buyers only." in anonymous and 'name="stars"' not in anonymous
    assert 'name="stars"' not in owner and "Only buyers can rate" not in owner
    assert "Rate it" in page and "Post review" in page
    assert f'<a href="/deals/{dealid}/">deal {dealid[:11]}…</a>' in page


def test_reviews_show_the_verified_purchase_badge_and_older_ratings_unverified(client):
    listing = AppFactory().listing
    review = services.rating_set(listing=listing, user=buyer(listing), stars=5, title="Exact")
    Rating.objects.create(listing=listing, user=UserFactory(username="early"), stars=1)

    page = client.get(listing.get_absolute_url()).content.decode()

    badge = f'<a class="badge ok" href="/deals/{review.dealid}/"'
    assert badge in page and ">Verified purchase</a>" in page
    assert page.index(badge) < page.index("<strong>early</strong>")  # verified ones first
    early = page.split("<strong>early</strong>", 1)[1].split("</article>", 1)[0]
    assert '<span class="badge muted">Not verified</span>' in early
    assert "Rated before ratings needed a purchase: shown, not counted." in early
    assert "from 1 verified review</a>" in page


def test_the_owner_answers_a_review_under_it_and_a_refusal_keeps_the_text(client):
    listing = AppFactory().listing
    review = services.rating_set(listing=listing, user=buyer(listing), stars=2)
    url = reverse("review_reply", args=[review.pk])
    client.force_login(review.user)
    assert client.post(url, {"body": "Me"}).status_code == 403
    client.force_login(listing.owner)

    long = client.post(url, {"body": "x" * 4001})
    posted = client.post(url, {"body": "Fixed in 1.2, thanks."})
    page = client.get(listing.get_absolute_url()).content.decode()

    assert long.status_code == 400
    form = long.content.decode().split(f'action="{url}"', 1)[1].split("</form>", 1)[0]
    assert "A reply is at most 4,000 characters; this one has 4,001" in form
    assert "x" * 4001 in form
    assert posted.status_code == 302 and posted["Location"].endswith(f"#review-{review.pk}")
    shown = page.split(f'id="review-{review.pk}"', 1)[1].split("</article>", 1)[0]
    assert '<span class="badge">Owner</span>' in shown and "Fixed in 1.2, thanks." in shown
    assert "Edit your answer" in shown


def test_staff_hide_a_review_with_a_reason_and_visitors_see_a_placeholder(client):
    listing = AppFactory().listing
    review = services.rating_set(listing=listing, user=buyer(listing), stars=1, body="rude words")
    reporter = UserFactory()
    client.force_login(reporter)
    reported = client.post(reverse("review_report", args=[review.pk]), {"reason": "abuse"})
    client.force_login(UserFactory(is_staff=True))
    queue = client.get(reverse("curation_queue") + "?status=reported").content.decode()

    hidden = client.post(
        reverse("review_moderate", args=[review.pk]), {"hide": "1", "reason": "Abuse"}
    )
    staff_page = client.get(listing.get_absolute_url()).content.decode()
    client.force_login(reporter)
    page = client.get(listing.get_absolute_url()).content.decode()

    assert reported.status_code == hidden.status_code == 302
    assert "rude words" in queue
    assert "rude words" in staff_page and "hidden: Abuse" in staff_page
    assert "rude words" not in page and "This review was hidden by a moderator." in page
    listing.refresh_from_db()
    assert listing.rating_count == 0
    client.force_login(UserFactory())
    refused = client.post(reverse("review_moderate", args=[review.pk]), {"hide": "0"})
    assert refused.status_code == 403
    review.refresh_from_db()
    assert review.is_hidden


def test_comment_html_is_escaped(client):
    listing = AppFactory().listing
    client.force_login(UserFactory())
    client.post(
        reverse("comment_create", args=[listing.pk]), {"body": "<img src=x onerror=alert(1)>hello"}
    )
    page = client.get(listing.get_absolute_url()).content.decode()
    assert "&lt;img src=x onerror=alert(1)&gt;hello" in page
    assert "<img src=x" not in page


def test_a_burst_of_comments_is_cut_at_the_users_rate_and_refusals_write_nothing(
    client, settings, monkeypatch
):
    settings.COMMENT_RATE = "5/min"
    # The burst takes no time on the limiter's clock, however loaded the machine: a full minute
    # is left to wait.
    monkeypatch.setattr(ratelimit, "_now", lambda: 1_700_000_000.0)
    listing = AppFactory().listing
    client.force_login(UserFactory())
    url = reverse("comment_create", args=[listing.pk])

    responses = [client.post(url, {"body": f"spam {n}"}, follow=True) for n in range(25)]

    assert Comment.objects.count() == 5
    assert "Your comment is posted." in responses[4].content.decode()
    refusal = responses[5].content.decode()
    assert (
        "You are posting comments too fast (at most 5 a minute): wait 1 min, then try again."
        in refusal
    )
    assert "spam 5</textarea>" in refusal  # kept in the form to post again later
    assert responses[5].status_code == 429
    assert '<div class="comment-body">spam 5' not in refusal


def test_new_users_share_the_comment_rate_of_their_address_whatever_they_forward(client, settings):
    settings.COMMENT_RATE = "3/min"
    settings.TRUSTED_PROXIES = []
    listing = AppFactory().listing
    url = reverse("comment_create", args=[listing.pk])

    def post_as_new_user(n: int, **extra):
        client.force_login(UserFactory())
        return client.post(url, {"body": f"hello {n}"}, follow=True, **extra)

    for n in range(3):
        post_as_new_user(n, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    refused = post_as_new_user(3, HTTP_X_FORWARDED_FOR="198.51.100.99")
    elsewhere = post_as_new_user(4, REMOTE_ADDR="203.0.113.7")

    assert "Your network is posting comments too fast (at most 3 a minute)" in (
        refused.content.decode()
    )
    assert "Your comment is posted." in elsewhere.content.decode()
    assert sorted(Comment.objects.values_list("body", flat=True)) == [
        "hello 0",
        "hello 1",
        "hello 2",
        "hello 4",
    ]


def test_a_comment_the_service_refuses_does_not_use_a_turn(client, settings):
    settings.COMMENT_RATE = "1/min"
    owner = UserFactory()
    unpublished = AppFactory(listing__owner=owner, listing__status=CurationStatus.PENDING).listing
    published = AppFactory(listing__owner=owner).listing
    client.force_login(owner)

    refused = client.post(reverse("comment_create", args=[unpublished.pk]), {"body": "hi"})
    posted = client.post(reverse("comment_create", args=[published.pk]), {"body": "hi"})

    assert refused.status_code == 400
    assert "Only published listings can be commented on." in refused.content.decode()
    assert posted.status_code == 302
    assert list(Comment.objects.values_list("listing", flat=True)) == [published.pk]


def test_ratings_are_limited_with_the_reason_in_the_htmx_block_and_the_page(client, settings):
    settings.RATING_RATE = "2/min"
    first, second, third = (AppFactory().listing for _ in range(3))
    user = buyer(first)
    for listing in (second, third):
        purchase(listing, user=user)
    client.force_login(user)
    for listing in (first, second):
        client.post(reverse("listing_rate", args=[listing.pk]), {"stars": 4})

    htmx = client.post(
        reverse("listing_rate", args=[third.pk]), {"stars": 5}, headers={"HX-Request": "true"}
    ).content.decode()
    page = client.post(reverse("listing_rate", args=[third.pk]), {"stars": 5}, follow=True)

    reason = "You are posting ratings too fast (at most 2 a minute): wait 1 min, then try again."
    assert page.status_code == 429
    page = page.content.decode()
    assert 'id="rating-block"' in htmx
    assert reason in htmx
    assert reason in page
    assert set(Rating.objects.values_list("listing", flat=True)) == {first.pk, second.pk}


def test_hidden_comment_shows_placeholder_to_public(client):
    comment = CommentFactory(listing=AppFactory().listing, body="rude words", is_hidden=True)
    page = client.get(comment.listing.get_absolute_url()).content.decode()
    assert "rude words" not in page
    assert "hidden by a moderator" in page


def test_curation_by_non_staff_is_forbidden_and_changes_nothing(client):
    listing = ListingFactory(status=CurationStatus.PENDING)
    client.force_login(UserFactory())
    response = client.post(reverse("curation_decide", args=[listing.pk]), {"action": "approve"})
    assert response.status_code == 403
    listing.refresh_from_db()
    assert listing.status == CurationStatus.PENDING
    assert not CurationDecision.objects.exists()
    assert client.get(reverse("curation_queue")).status_code == 403
    comment = CommentFactory(listing=AppFactory().listing)
    assert (
        client.post(reverse("comment_moderate", args=[comment.pk]), {"hide": "1"}).status_code
        == 403
    )
    comment.refresh_from_db()
    assert comment.is_hidden is False
    client.logout()
    assert "/accounts/login/" in client.get(reverse("curation_queue"))["Location"]


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (CurationStatus.PENDING, ["approve", "feature", "request_changes", "revoke"]),
        (CurationStatus.FEATURED, ["unfeature", "request_changes", "delist", "revoke"]),
        (CurationStatus.DELISTED, ["relist", "revoke"]),
        (CurationStatus.REVOKED, []),
    ],
)
def test_the_queue_offers_only_the_decisions_a_listings_status_allows(client, status, offered):
    ListingFactory(status=status, name="Waiting app")
    client.force_login(UserFactory(is_staff=True))

    page = client.get(reverse("curation_queue"), {"status": status}).content.decode()

    row = page.split(">Waiting app</a>", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<option value="(\w+)">', row) == offered
    if not offered:
        assert "No decision left: revoked." in row


def test_staff_approves_from_queue_and_owner_sees_the_decision(client):
    listing = ListingFactory(status=CurationStatus.PENDING, name="Waiting app")
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert "Waiting app" in client.get(reverse("curation_queue")).content.decode()
    client.post(
        reverse("curation_decide", args=[listing.pk]),
        {"action": "request_changes", "reason": "Add a screenshot"},
    )
    listing.refresh_from_db()
    assert listing.status == CurationStatus.CHANGES_REQUESTED

    client.force_login(listing.owner)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Changes requested" in dashboard
    assert "Add a screenshot" in dashboard


def test_editing_someone_elses_listing_is_forbidden(client):
    app = AppFactory()
    client.force_login(UserFactory())
    url = reverse("app_edit", args=[app.listing.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "x"}).status_code == 403


def test_provider_and_wallet_profiles(client):
    app = AppFactory(listing__owner_wallet="0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
    owner = app.listing.owner
    assert (
        app.listing.name
        in client.get(reverse("provider_profile", args=[owner.username])).content.decode()
    )
    assert (
        app.listing.name
        in client.get(
            reverse("wallet_profile", args=["0x70997970c51812dc3a010c7d01b50e0d17dc79c8"])
        ).content.decode()
    )
    assert client.get(reverse("provider_profile", args=["nobody-here"])).status_code == 404


def test_api_lists_and_validates(client):
    AppFactory(listing__name="Api app")
    ok = client.get("/api/v1/apps/?q=api").json()
    assert [row["name"] for row in ok["results"]] == ["Api app"]
    assert client.get("/api/v1/nopes/").status_code == 404
    assert client.get("/api/v1/apps/?price_min=x").status_code == 400


def test_market_kinds_all_have_pages(client):
    for kind in Market:
        assert client.get(reverse(f"{kind.value}_list")).status_code == 200


def test_edit_button_only_within_the_edit_window(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    comment = CommentFactory(listing=AppFactory().listing)
    client.force_login(comment.author)
    url = comment.listing.get_absolute_url()
    assert "<summary>Edit</summary>" in client.get(url).content.decode()
    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(hours=1))
    page = client.get(url).content.decode()
    assert "<summary>Edit</summary>" not in page
    assert "<summary>Report</summary>" not in page  # nobody reports their own comment


def test_list_results_are_cached_until_a_service_changes_the_catalogue(
    client, django_capture_on_commit_callbacks
):
    app = AppFactory(listing__name="Renderer")
    staff = UserFactory(is_staff=True)
    assert "Renderer" in client.get("/apps/").content.decode()
    # A write behind the services' back is not seen: the page comes from the cache...
    Listing.objects.filter(pk=app.listing.pk).update(name="Renamed quietly")
    assert "Renderer" in client.get("/apps/").content.decode()
    assert "Renderer" in client.get("/apps/", headers={"HX-Request": "true"}).content.decode()
    # ...and a service's change retires every cached page, now and again at commit.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.listing_curate(listing=app.listing, actor=staff, action="delist", reason="Spam")
    assert len(callbacks) == 1
    page = client.get("/apps/").content.decode()
    assert "Renamed quietly" not in page
    assert "No apps match" in page


def test_list_results_cache_follows_ratings(client):
    app = AppFactory(listing__name="Renderer")
    assert "(0)" in client.get("/apps/").content.decode()
    services.rating_set(listing=app.listing, user=buyer(app.listing), stars=4)
    assert "(1)" in client.get("/apps/").content.decode()


def test_equivalent_queries_share_one_cached_page_and_filters_do_not_leak(client):
    graphics_tag = TagFactory(name="graphics", slug="graphics")
    compilers_tag = TagFactory(name="compilers", slug="compilers")
    AppFactory(listing__name="Renderer", listing__tags=[graphics_tag])
    AppFactory(listing__name="Compiler", listing__tags=[compilers_tag])
    graphics = client.get("/apps/?tag=graphics&sort=newest&page=1").content.decode()
    assert "Renderer" in graphics and "Compiler" not in graphics
    compilers = client.get("/apps/?tag=compilers").content.decode()
    assert "Compiler" in compilers and "Renderer" not in compilers
    assert "Renderer" in client.get("/apps/?page=1&tag=graphics").content.decode()


# ---------------------------------------------------------------------- texts with a limit


def test_a_5000_character_comment_is_refused_next_to_its_form_with_the_text_kept(client):
    listing = AppFactory().listing
    client.force_login(UserFactory())

    response = client.post(reverse("comment_create", args=[listing.pk]), {"body": "x" * 5000})

    assert response.status_code == 400
    page = response.content.decode()
    error = "A comment is at most 4,000 characters; this one has 5,000: shorten it by 1,000."
    # The reason sits in the comment form, right above the box that still holds the text.
    assert (
        f'<p class="msg msg-error" id="comment-error" role="alert">{error}</p>\n'
        '          <textarea id="id_body" name="body"'
    ) in page
    assert 'aria-describedby="comment-error" autofocus>' + "x" * 5000 + "</textarea>" in page
    assert not list(response.context["messages"])  # not a second time out of view at the top
    assert not Comment.objects.exists()


def test_an_over_long_reply_is_refused_in_its_open_reply_form_with_the_text_kept(client):
    parent = CommentFactory(listing=AppFactory().listing)
    other = CommentFactory(listing=parent.listing)
    client.force_login(UserFactory())

    response = client.post(
        reverse("comment_create", args=[parent.listing.pk]),
        {"body": "r" * 4001, "parent": parent.pk},
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f'<p class="msg msg-error" id="reply-error-{parent.pk}" role="alert">A comment is at '
        "most 4,000 characters; this one has 4,001: shorten it by 1.</p>"
    ) in page
    assert f'aria-describedby="reply-error-{parent.pk}" autofocus>' + "r" * 4001 in page
    assert page.count("<details open><summary>Reply</summary>") == 1
    assert f"reply-error-{other.pk}" not in page and 'id="comment-error"' not in page
    assert Comment.objects.count() == 2


def test_a_reply_to_a_vanished_comment_is_kept_in_the_new_comment_form(client):
    listing = AppFactory().listing
    client.force_login(UserFactory())

    response = client.post(
        reverse("comment_create", args=[listing.pk]), {"body": "my answer", "parent": 999999}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "The comment you replied to no longer exists: post your text as a new comment" in page
    assert 'aria-describedby="comment-error" autofocus>my answer</textarea>' in page
    assert not Comment.objects.exists()


def test_a_comment_edited_past_its_limit_is_refused_in_its_form_and_kept_as_it_was(client):
    comment = CommentFactory(listing=AppFactory().listing, body="Fine")
    client.force_login(comment.author)

    response = client.post(reverse("comment_edit", args=[comment.pk]), {"body": "y" * 4001})

    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f'<p class="msg msg-error" id="edit-error-{comment.pk}" role="alert">A comment is at '
        "most 4,000 characters; this one has 4,001: shorten it by 1.</p>"
    ) in page
    assert f'aria-describedby="edit-error-{comment.pk}" autofocus>' + "y" * 4001 in page
    assert "<details open><summary>Edit</summary>" in page
    comment.refresh_from_db()
    assert comment.body == "Fine"


def test_an_edit_past_the_window_is_said_at_the_comment_since_its_form_is_gone(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    comment = CommentFactory(listing=AppFactory().listing, body="Fine")
    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(hours=1))
    client.force_login(comment.author)

    response = client.post(reverse("comment_edit", args=[comment.pk]), {"body": "Better"})

    assert response.status_code == 302
    assert response.url.endswith(f"#comment-{comment.pk}")
    comment.refresh_from_db()
    assert comment.body == "Fine"


def test_an_over_long_comment_report_is_refused_in_its_form_with_the_reason_kept(client):
    comment = CommentFactory(listing=AppFactory().listing)
    client.force_login(UserFactory())

    response = client.post(reverse("comment_report", args=[comment.pk]), {"reason": "s" * 201})

    assert response.status_code == 400
    page = response.content.decode()
    assert (
        f'<p class="msg msg-error" id="report-error-{comment.pk}" role="alert">A reason is at '
        "most 200 characters; this one has 201: shorten it by 1.</p>"
    ) in page
    assert 'value="' + "s" * 201 + '" aria-invalid="true"' in page
    assert "<details open><summary>Report</summary>" in page
    assert not comment.reports.exists()


def test_the_comment_boxes_are_counted_at_the_comment_limit(client):
    listing = AppFactory().listing
    CommentFactory(listing=listing)
    client.force_login(UserFactory())

    page = client.get(listing.get_absolute_url()).content.decode()

    assert page.count('maxlength="4000" data-counter') == 2  # a new comment, a reply
    assert 'maxlength="500" data-counter' in page  # a report of the listing
    assert 'maxlength="200" data-counter' in page  # a report of a comment
    assert "frontend/js/counter.js" in page


def test_an_over_long_report_is_refused_in_its_open_form_not_cut(client):
    listing = AppFactory().listing
    client.force_login(UserFactory())

    response = client.post(reverse("listing_report", args=[listing.pk]), {"reason": "z" * 600})

    assert response.status_code == 400
    page = response.content.decode()
    assert (
        '<p class="msg msg-error" id="listing-report-error" role="alert">A report is at most '
        "500 characters; this one has 600: shorten it by 100.</p>"
    ) in page
    assert 'aria-describedby="listing-report-error" autofocus>' + "z" * 600 in page
    assert '<details class="panel report" open>' in page
    assert not listing.reports.exists()


# ---------------------------------------------------------------------- curation checks


def test_the_queue_shows_each_program_and_data_file_with_copies_and_close_names(client):
    listed = AppFactory(
        listing__name="resvg", listing__owner__username="alice", wasm_sha256="a" * 64
    )
    copy = AppFactory(
        listing__name="Pixel pusher",
        listing__status=CurationStatus.PENDING,
        wasm_sha256="a" * 64,
        wasm_size=2_500_000,
    )
    lookalike = AppFactory(
        listing__name="Res VG", listing__status=CurationStatus.PENDING, wasm_sha256="b" * 64
    )
    own = AppFactory(
        listing__name="Graphviz", listing__status=CurationStatus.PENDING, wasm_sha256="c" * 64
    )
    data = DatasetFactory(listing__status=CurationStatus.PENDING, plain_size=4096)
    client.force_login(UserFactory(is_staff=True))

    page = client.get(reverse("curation_queue")).content.decode()

    rows = {
        name: row
        for row in page.split("<tr>")[2:]
        for name in ("Pixel pusher", "Res VG", "Graphviz", data.listing.name)
        if f">{name}</a>" in row.split("</td>")[0]
    }
    assert "Program: 2.4\xa0MB" in rows["Pixel pusher"]
    assert "a" * 64 in rows["Pixel pusher"]
    same = f'Same program as <a href="{listed.listing.get_absolute_url()}">resvg</a>'
    assert f"{same} (approved, by alice)" in rows["Pixel pusher"]
    assert "Name close to" not in rows["Pixel pusher"]
    assert "Name close to <a" in rows["Res VG"]
    assert ">resvg</a> (approved, by alice)" in rows["Res VG"]
    assert "Same program" not in rows["Res VG"]
    assert 'class="warn"' not in rows["Graphviz"]
    assert "c" * 64 in rows["Graphviz"]
    assert "Data: 4.0\xa0KB" in rows[data.listing.name]
    assert data.encrypted_sha256 in rows[data.listing.name]
    assert copy.listing.pk != lookalike.listing.pk != own.listing.pk


# ---------------------------------------------------------------------- the owner's next step


def _open_offer(asset: str) -> None:
    from marketplace.orders.models import Order, OrderStatus

    Order.objects.create(
        chain_id=31337, hub="0x" + "1" * 40, digest="0x" + "4" * 64, kind="app", asset=asset,
        signer="0x" + "3" * 40, price=1, volume=1, remaining=1, tag="0x" + "0" * 64,
        status=OrderStatus.OPEN, message={},
    )  # fmt: skip


def test_after_approval_the_owner_is_told_to_register_then_sell(client):
    listing = AppFactory(listing__owner_wallet="0x" + "5" * 40).listing
    url = listing.get_absolute_url()
    client.force_login(listing.owner)

    detail = client.get(url).content.decode()
    dashboard = client.get(reverse("dashboard")).content.decode()

    step = (
        f'<strong>Next:</strong>\n<a href="{url}#offers">register it on chain</a>, then '
        f'<a href="{url}#offers">publish an offer to sell</a>.'
    )
    assert step in detail
    assert step in dashboard


def test_a_registered_listing_without_an_offer_asks_for_one_and_on_sale_asks_nothing(client):
    asset = "0x" + "6" * 40
    listing = AppFactory(
        listing__owner_wallet="0x" + "5" * 40, listing__chain_address=asset
    ).listing
    client.force_login(listing.owner)
    offer_step = (
        f'<a href="{listing.get_absolute_url()}#offers">publish an offer to sell</a>, so that '
        "buyers can buy it."
    )

    assert offer_step in client.get(listing.get_absolute_url()).content.decode()
    assert offer_step in client.get(reverse("dashboard")).content.decode()

    _open_offer(asset)

    assert "Next:" not in client.get(listing.get_absolute_url()).content.decode()
    assert "Next:" not in client.get(reverse("dashboard")).content.decode()


def test_an_approved_listing_without_a_payout_wallet_asks_for_one_first(client):
    listing = AppFactory(listing__owner_wallet="").listing
    client.force_login(listing.owner)

    page = client.get(reverse("dashboard")).content.decode()

    assert f'<a href="{listing.get_edit_url()}">choose a payout wallet</a>' in page


def test_no_next_step_before_approval_nor_for_other_visitors(client):
    pending = AppFactory(listing__status=CurationStatus.PENDING).listing
    approved = AppFactory(listing__owner_wallet="0x" + "5" * 40).listing
    client.force_login(pending.owner)
    assert "Next:" not in client.get(pending.get_absolute_url()).content.decode()
    assert "Next:" not in client.get(reverse("dashboard")).content.decode()

    client.force_login(UserFactory(is_staff=True))
    assert "Next:" not in client.get(approved.get_absolute_url()).content.decode()
