from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.catalogue import selectors
from marketplace.catalogue.models import CurationStatus, Listing, Market, Rating
from marketplace.catalogue.pagination import CappedPaginator
from marketplace.catalogue.selectors import ListingFilters
from marketplace.indexer.models import TaskStatus
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import (
    ListingFactory,
    TagFactory,
    WorkerpoolFactory,
)
from tests.factories.reviews import purchase

pytestmark = pytest.mark.django_db


def _names(queryset) -> list[str]:
    return [listing.name for listing in queryset]


def test_listing_list_shows_only_public_listings_of_the_market():
    ListingFactory(name="Approved app")
    ListingFactory(name="Featured app", status=CurationStatus.FEATURED)
    for status in ("pending", "changes_requested", "delisted", "revoked"):
        ListingFactory(name=f"{status} app", status=status)
    ListingFactory(name="A dataset", kind=Market.DATASET)

    result = selectors.listing_list(kind=Market.APP, filters=ListingFilters())

    assert sorted(_names(result)) == ["Approved app", "Featured app"]


def test_search_matches_every_word_as_prefix_in_name_summary_tags_and_description():
    ListingFactory(name="resvg renderer", summary="SVG to PNG")
    ListingFactory(name="Graphviz", summary="graphs", tags=[TagFactory(name="diagrams")])
    ListingFactory(name="Other", description="Renders **vector** drawings")

    def search(q: str) -> list[str]:
        return sorted(_names(selectors.listing_list(kind=Market.APP, filters=ListingFilters(q=q))))

    assert search("res png") == ["resvg renderer"]
    assert search("diagram") == ["Graphviz"]
    assert search("vector") == ["Other"]
    assert search("render") == ["Other", "resvg renderer"]
    assert search("nothing-like-this") == []
    # Query-language characters are plain text, never syntax errors.
    assert search('"* ( ) : ^ -') == ["Graphviz", "Other", "resvg renderer"]
    assert search('png" OR') == []
    assert search('png"*') == ["resvg renderer"]


def test_search_words_never_match_the_market_and_visibility_facets():
    ListingFactory(name="Public thing")
    for q in ("public", "kindapp", "kind"):
        assert (
            _names(selectors.listing_list(kind=Market.APP, filters=ListingFilters(q=q)))
            == ["Public thing"][: int(q == "public")]
        )


def test_plain_search_newest_first_lists_the_newest_matches():
    for i in range(5):
        ListingFactory(name=f"Renderer {i}")
    ListingFactory(name="Renderer dataset", kind=Market.DATASET)

    plain = selectors.listing_list(kind=Market.APP, filters=ListingFilters(q="render"))
    by_rating = selectors.listing_list(
        kind=Market.APP, filters=ListingFilters(q="render", sort="rating")
    )

    assert _names(plain) == [f"Renderer {i}" for i in (4, 3, 2, 1, 0)]
    assert sorted(_names(by_rating)) == sorted(_names(plain))


def test_search_index_follows_curation():
    """Curation changes what the index knows as public; on SQLite a search hinted to public
    listings of a market is narrowed inside the index, so the index must follow."""
    from django.db import connection

    from marketplace.catalogue import search, services
    from marketplace.catalogue.models import Listing

    staff = UserFactory(is_staff=True)
    kept = ListingFactory(name="Renderer kept")
    delisted = ListingFactory(name="Renderer delisted")
    pending = ListingFactory(name="Renderer pending", status=CurationStatus.PENDING)
    services.listing_curate(listing=delisted, actor=staff, action="delist", reason="Broken")
    services.listing_curate(listing=pending, actor=staff, action="approve")

    hinted = search.filter_by_search(Listing.objects.all(), "renderer", public_kind=Market.APP)

    expected = {kept.pk, pending.pk}
    if connection.vendor != "sqlite":  # PostgreSQL has no such hint: the queryset filters
        expected.add(delisted.pk)
    assert set(hinted.values_list("pk", flat=True)) == expected


def test_search_sees_edits():
    from marketplace.catalogue import services

    listing = ListingFactory(name="Old name")
    services.listing_update(
        listing=listing,
        actor=listing.owner,
        name="Brand new",
        summary="s",
        description="",
        tags=[],
        price=Decimal(1),
    )
    services.listing_curate(listing=listing, actor=UserFactory(is_staff=True), action="approve")

    assert _names(selectors.listing_list(kind=Market.APP, filters=ListingFilters(q="brand"))) == [
        "Brand new"
    ]
    assert _names(selectors.listing_list(kind=Market.APP, filters=ListingFilters(q="old"))) == []


def test_filters_by_tag_price_and_rating_and_sorts():
    svg = TagFactory(name="svg")
    ListingFactory(name="cheap", price_from=Decimal("0.1"), rating_avg=Decimal("4.5"), tags=[svg])
    ListingFactory(name="mid", price_from=Decimal("1"), rating_avg=Decimal("3.0"), tags=[svg])
    ListingFactory(name="dear", price_from=Decimal("10"), rating_avg=Decimal("5"))

    def run(**kw) -> list[str]:
        return _names(selectors.listing_list(kind=Market.APP, filters=ListingFilters(**kw)))

    assert sorted(run(tag="svg")) == ["cheap", "mid"]
    assert run(price_min=Decimal("0.5"), price_max=Decimal("5")) == ["mid"]
    assert sorted(run(rating_min=4)) == ["cheap", "dear"]
    assert run(sort="price_asc") == ["cheap", "mid", "dear"]
    assert run(sort="price_desc") == ["dear", "mid", "cheap"]
    assert run(sort="rating") == ["dear", "cheap", "mid"]


def test_pool_attribute_filters():
    WorkerpoolFactory(
        listing__name="small", cpu_cores=2, memory_mb=2048, location="eu-west", energy_class="A"
    )
    WorkerpoolFactory(
        listing__name="big",
        cpu_cores=32,
        memory_mb=65536,
        location="us-east",
        energy_class="D",
        visibility="private",
    )

    def run(**kw) -> list[str]:
        return sorted(
            _names(selectors.listing_list(kind=Market.POOL, filters=ListingFilters(**kw)))
        )

    assert run(cores_min=8) == ["big"]
    assert run(memory_min_gib=4) == ["big"]
    assert run(location="eu-west") == ["small"]
    assert run(energy_class="B") == ["small"]
    assert run(visibility="private") == ["big"]
    assert run() == ["big", "small"]


def test_provider_listings_hide_unpublished_from_others():
    owner = UserFactory()
    ListingFactory(owner=owner, name="public")
    ListingFactory(owner=owner, name="pending", status=CurationStatus.PENDING)

    assert _names(selectors.provider_listings(owner=owner, viewer=UserFactory())) == ["public"]
    assert sorted(_names(selectors.provider_listings(owner=owner, viewer=owner))) == [
        "pending",
        "public",
    ]


def test_list_query_count_is_constant_as_listings_grow(django_assert_max_num_queries, client):
    """The page costs the same number of queries with 3 or 30 listings (no N+1)."""

    def count_for_page() -> int:
        from django.core.cache import cache
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/pools/").status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        WorkerpoolFactory(listing__tags=[TagFactory(name="a"), TagFactory(name="b")])
    small = count_for_page()
    for _ in range(27):
        WorkerpoolFactory(listing__tags=[TagFactory(name="c")])
    large = count_for_page()

    assert small == large
    assert large <= 8


def _queries(client, url: str) -> int:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_detail_page_query_count_does_not_grow_with_comments_and_replies(client):
    from tests.factories.catalogue import AppFactory, CommentFactory

    listing = AppFactory().listing
    top = CommentFactory(listing=listing)
    CommentFactory(listing=listing, parent=top)
    few = _queries(client, listing.get_absolute_url())
    for _ in range(5):
        parent = CommentFactory(listing=listing)
        CommentFactory(listing=listing, parent=parent)
        CommentFactory(listing=listing, parent=parent)
    assert _queries(client, listing.get_absolute_url()) == few


def test_provider_and_home_query_counts_do_not_grow(client):
    from tests.factories.catalogue import AppFactory

    owner = UserFactory()
    WorkerpoolFactory(listing__owner=owner, listing__status=CurationStatus.FEATURED)
    AppFactory(listing__owner=owner, listing__status=CurationStatus.FEATURED)
    url = f"/providers/{owner.username}/"
    few_provider, few_home = _queries(client, url), _queries(client, "/")
    for _ in range(6):
        WorkerpoolFactory(listing__owner=owner, listing__status=CurationStatus.FEATURED)
        AppFactory(listing__owner=owner, listing__tags=[TagFactory(name="x")])
    assert _queries(client, url) == few_provider
    assert _queries(client, "/") == few_home


def test_reported_comments_lists_only_comments_with_open_reports():
    from marketplace.catalogue import services
    from tests.factories.catalogue import CommentFactory

    quiet = CommentFactory(body="quiet")
    reported = CommentFactory(body="reported")
    resolved = CommentFactory(body="resolved")
    services.comment_report(comment=reported, reporter=UserFactory(), reason="spam")
    services.comment_report(comment=resolved, reporter=UserFactory(), reason="spam")
    services.comment_moderate(comment=resolved, actor=UserFactory(is_staff=True), hide=False)

    assert [c.body for c in selectors.reported_comments()] == ["reported"]
    assert quiet.pk not in [c.pk for c in selectors.reported_comments()]


def test_short_words_match_whole_words_only():
    ListingFactory(name="re render")
    ListingFactory(name="rendering")

    def search(q: str) -> list[str]:
        return sorted(_names(selectors.listing_list(kind=Market.APP, filters=ListingFilters(q=q))))

    assert search("re") == ["re render"]
    assert search("ren") == ["re render", "rendering"]


def test_plain_search_pages_walk_the_matches_newest_first():
    for i in range(7):
        ListingFactory(name=f"Renderer {i}")
    ListingFactory(name="Compiler")
    results = selectors.listing_list(
        kind=Market.APP, filters=ListingFilters(q="render"), capped=True
    )

    paginator = CappedPaginator(results, 3)

    assert paginator.count == 7 and paginator.num_pages == 3
    assert [_names(paginator.page(n).object_list) for n in (1, 2, 3)] == [
        ["Renderer 6", "Renderer 5", "Renderer 4"],
        ["Renderer 3", "Renderer 2", "Renderer 1"],
        ["Renderer 0"],
    ]
    assert results[0].name == "Renderer 6"


def test_a_listing_that_leaves_the_market_after_the_search_is_left_out():
    kept = ListingFactory(name="Renderer kept")
    gone = ListingFactory(name="Renderer gone")
    ids = [gone.pk, kept.pk]
    Listing.objects.filter(pk=gone.pk).update(is_public=False, status=CurationStatus.DELISTED)

    in_order = selectors.ListingsInOrder(
        Listing.objects.filter(kind=Market.APP, is_public=True), ids
    )

    assert _names(in_order[0:2]) == ["Renderer kept"]
    assert in_order[-1].name == "Renderer kept" and len(in_order) == 2
    with pytest.raises(IndexError):
        in_order[0]  # gone


def test_pool_filters_by_location_and_by_broad_attributes_agree_with_python():
    pools = [
        WorkerpoolFactory(location=location, cpu_cores=cores, energy_class=energy)
        for location, cores, energy in [
            ("eu-west", 16, "A"),
            ("eu-west", 4, "A"),
            ("eu-west", 16, "C"),
            ("us-east", 16, "A"),
        ]
    ]

    def names(**kw) -> set[str]:
        found = selectors.listing_list(kind=Market.POOL, filters=ListingFilters(**kw))
        return {listing.name for listing in found}

    def expected(check) -> set[str]:
        return {pool.listing.name for pool in pools if check(pool)}

    assert names(location="eu-west", cores_min=8, energy_class="B") == expected(
        lambda p: p.location == "eu-west" and p.cpu_cores >= 8 and p.energy_class <= "B"
    )
    assert names(cores_min=8) == expected(lambda p: p.cpu_cores >= 8)


def test_an_uncapped_caller_gets_every_match_of_a_plain_search(monkeypatch):
    """The API pages through every match: the capped shortcut must not truncate its results."""
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for i in range(5):
        ListingFactory(name=f"Renderer {i}")

    uncapped = selectors.listing_list(kind=Market.APP, filters=ListingFilters(q="render"))
    capped = selectors.listing_list(
        kind=Market.APP, filters=ListingFilters(q="render"), capped=True
    )

    assert len(list(uncapped)) == 5
    assert len(list(capped)) in (3, 5)  # SQLite reads COUNT_CAP + 1; PostgreSQL filters


@pytest.mark.parametrize(
    ("name", "other", "close"),
    [
        ("resvg", "ResVG", True),
        ("resvg", "res-vg ", True),
        ("resvg", "resvg2", True),
        ("Graphviz", "Grapviz", True),
        ("resvg", "usvg", False),
        ("Graphviz", "Graphviz DOT drawings", False),
    ],
)
def test_close_names_in_the_same_market_are_pointed_out(name, other, close):
    under_review = ListingFactory(name=name, status=CurationStatus.PENDING)
    existing = ListingFactory(name=other, status=CurationStatus.REVOKED)
    ListingFactory(name=name, kind=Market.DATASET)  # another market: not a rival

    found = selectors.listing_resemblances([under_review])[under_review.pk]

    assert [(r.reason, r.pk, r.status_label) for r in found] == (
        [("close_name", existing.pk, "revoked")] if close else []
    )


def test_a_buyers_right_to_rate_names_their_first_finished_deal_or_the_one_kept(settings):
    listing = ListingFactory()
    user = UserFactory()
    first = purchase(listing, user=user)
    second = purchase(listing, user=user)  # another wallet of theirs
    purchase(listing, user=user, status=TaskStatus.FAILED)
    settings.CHAIN_ID = 1  # deals of another chain do not count
    elsewhere = selectors.rating_right(listing=listing, user=user)
    settings.CHAIN_ID = 31337

    assert selectors.rating_right(listing=listing, user=user).deal == first
    assert selectors.rating_right(listing=listing, user=user, keep=second.dealid).deal == second
    assert not elsewhere.allowed and "none of your wallets paid" in elsewhere.refusal


def test_reviews_come_verified_first_newest_first_then_the_unverified_ones():
    listing = ListingFactory()
    old = Rating.objects.create(listing=listing, user=UserFactory(), stars=3)
    early = Rating.objects.create(listing=listing, user=UserFactory(), stars=4, dealid="0x1")
    late = Rating.objects.create(listing=listing, user=UserFactory(), stars=5, dealid="0x2")

    assert selectors.listing_reviews(listing=listing) == [late, early, old]
