"""Prepared queries give what the ORM gives, built once per shape, and refuse what they
cannot replay."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db.models import Count, Max, Sum

from marketplace.orders.models import Order, OrderStatus
from marketplace.prepared import Prepared

pytestmark = pytest.mark.django_db

ASSETS = ("0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40)


def _order(n: int, asset: str, price: str, *, status: str = OrderStatus.OPEN, **fields) -> Order:
    return Order.objects.create(
        chain_id=31337, hub="0x" + "1" * 40, digest=f"0x{n:064x}", kind="app", asset=asset,
        signer="0x" + "3" * 40, price=Decimal(price), volume=10, remaining=10 - n % 3,
        tag="0x" + "0" * 64, status=status, message={}, unpublished=n % 2 == 0, **fields,
    )  # fmt: skip


@pytest.fixture
def book():
    _order(1, ASSETS[0], "5")
    _order(2, ASSETS[0], "3", expires_at=datetime.datetime(2030, 1, 2, 3, 4, tzinfo=datetime.UTC))
    _order(3, ASSETS[1], "123456789012345678")  # beyond a double's exact integers
    _order(4, ASSETS[1], "3", status=OrderStatus.FILLED)
    _order(5, ASSETS[2], "7")


def _open(asset, status=OrderStatus.OPEN):
    return Order.objects.filter(asset=asset, status=status).order_by("price", "id")


SHAPES = {
    "a datetime compared": lambda asset, status: _open(asset, status)
    .filter(expires_at__gt=datetime.datetime(2029, 12, 31, tzinfo=datetime.UTC))
    .values_list("digest", "expires_at"),
    "columns of every type": lambda asset, status: _open(asset, status).values_list(
        "price", "unpublished", "expires_at", "digest", "category"
    ),
    "flat": lambda asset, status: _open(asset, status).values_list("price", flat=True),
    "grouped, in another order than selected": lambda asset, status: _open(asset, status)
    .order_by()
    .values("price")
    .annotate(tasks=Sum("remaining"), orders=Count("*"))
    .order_by("-price")
    .values_list("orders", "price", "tasks"),
    "an aggregate alone": lambda asset, status: _open(asset, status)
    .order_by()
    .values("asset")
    .annotate(dearest=Max("price"))
    .values_list("dearest", flat=True),
}


@pytest.mark.usefixtures("book")
@pytest.mark.parametrize("shape", SHAPES)
def test_a_prepared_query_gives_what_the_orm_gives_for_any_values(shape):
    build = SHAPES[shape]
    prepared = Prepared(build)
    for asset in (*ASSETS, "0x" + "d" * 40):
        for status in (OrderStatus.OPEN, OrderStatus.FILLED):
            assert prepared(asset=asset, status=status) == list(build(asset, status))


@pytest.mark.usefixtures("book")
def test_a_shape_is_built_once_and_tuples_of_values_once_per_power_of_two():
    built = []

    def build(assets, chain_id):
        built.append(len(assets))
        return (
            Order.objects.filter(asset__in=assets, chain_id=chain_id)
            .order_by("digest")
            .values_list("digest", flat=True)
        )

    prepared = Prepared(build)
    digests = {asset: Order.objects.get(asset=asset, status="open").digest for asset in ASSETS[1:]}

    assert prepared(assets=(ASSETS[1],), chain_id=31337) == [digests[ASSETS[1]], f"0x{4:064x}"]
    assert prepared(assets=(ASSETS[2],), chain_id=31337) == [digests[ASSETS[2]]]
    assert prepared(assets=(ASSETS[2],), chain_id=1) == []
    assert len(prepared(assets=ASSETS, chain_id=31337)) == 5
    assert len(prepared(assets=ASSETS[:2], chain_id=31337)) == 4
    assert len(prepared(assets=(*ASSETS, *ASSETS), chain_id=31337)) == 5
    assert prepared(assets=(), chain_id=31337) == []  # no SQL at all: Django's empty `__in`
    # Each shape built twice (Prepared._shape says why); tuples padded to a power of two.
    assert built == [1, 1, 4, 4, 2, 2, 8, 8, 0, 0]


def test_a_value_turned_into_a_pattern_is_refused():
    prepared = Prepared(lambda word: Order.objects.filter(asset__contains=word).values_list("id"))
    with pytest.raises(ValueError, match="changed on its way to the SQL"):
        prepared(word="abc")


def test_a_value_not_in_the_sql_is_refused():
    prepared = Prepared(lambda n: Order.objects.values_list("id")[:n])
    with pytest.raises(ValueError, match="does not reach the SQL"):
        prepared(n=3)


def test_values_and_querysets_of_other_kinds_are_refused():
    with pytest.raises(ValueError, match="values_list queryset or one of models"):
        Prepared(lambda asset: Order.objects.filter(asset=asset).values("id"))(asset="0x")
    with pytest.raises(ValueError, match="str, int and aware datetime values"):
        Prepared(lambda open: Order.objects.filter(unpublished=open).values_list("id"))(open=True)


def test_a_constant_of_the_query_equal_to_a_stand_in_is_refused():
    prepared = Prepared(
        lambda chain_id: Order.objects.filter(chain_id=chain_id, volume=1_000_000_007).values_list(
            "id"
        )
    )
    with pytest.raises(ValueError, match="otherwise than as a parameter"):
        prepared(chain_id=1)


@pytest.mark.usefixtures("book")
def test_a_datetime_value_compares_as_the_orm_compares_it():
    def build(since):
        return Order.objects.filter(expires_at__gt=since).values_list("digest", flat=True)

    prepared = Prepared(build)
    for since in (
        datetime.datetime(2030, 1, 2, 3, 3, tzinfo=datetime.UTC),
        datetime.datetime(2030, 1, 2, 3, 4, tzinfo=datetime.UTC),
        datetime.datetime(2030, 1, 2, 4, 3, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),
    ):
        assert prepared(since=since) == list(build(since))
    assert prepared(since=datetime.datetime(2030, 1, 2, 3, 3, tzinfo=datetime.UTC)) == [
        f"0x{2:064x}"
    ]


def test_models_come_with_their_related_objects_annotations_and_prefetches(
    django_assert_num_queries,
):
    from django.db.models import Case, Prefetch, When

    from marketplace.catalogue.models import Comment
    from tests.factories.catalogue import AppFactory, CommentFactory

    app = AppFactory()
    first = CommentFactory(listing=app.listing, body="first")
    CommentFactory(listing=app.listing, parent=first, body="a reply")
    CommentFactory(listing=app.listing, body="second", is_hidden=True)

    def build(listing_id):
        return (
            Comment.objects.filter(listing_id=listing_id, parent__isnull=True)
            .select_related("author", "listing__owner")
            .prefetch_related(Prefetch("replies", queryset=Comment.objects.order_by("id")))
            .annotate(hidden=Case(When(is_hidden=True, then=1), default=0))
            .order_by("id")
        )

    prepared = Prepared(build)
    prepared(listing_id=app.listing.pk)  # built (twice) and run once
    with django_assert_num_queries(2):  # the comments, and their replies
        found = prepared(listing_id=app.listing.pk)
    expected = list(build(app.listing.pk))
    assert [c.pk for c in found] == [c.pk for c in expected]
    with django_assert_num_queries(0):
        for comment, orm in zip(found, expected, strict=True):
            assert (comment.body, comment.hidden, comment.created_at) == (
                orm.body,
                orm.hidden,
                orm.created_at,
            )
            assert comment.author.username == orm.author.username
            assert comment.listing.owner == app.listing.owner
            assert [r.body for r in comment.replies.all()] == [r.body for r in orm.replies.all()]
    assert prepared(listing_id=app.listing.pk + 1000) == []


def test_a_listing_page_reads_its_tags_and_prices_with_the_listing(django_assert_num_queries):
    from marketplace.catalogue import selectors
    from marketplace.catalogue.models import Listing, ListingPrice, Tag
    from tests.factories.catalogue import WorkerpoolFactory

    listing = WorkerpoolFactory().listing
    listing.tags.set([Tag.objects.create(name=name, slug=name) for name in ("gpu", "edge")])
    for category, price in (("S", "0.3"), ("XS", "0.1")):
        ListingPrice.objects.update_or_create(
            listing=listing, category=category, defaults={"price": Decimal(price)}
        )
    orm = Listing.objects.prefetch_related("tags", "prices").get(pk=listing.pk)

    found = selectors.listing_detail(kind="pool", slug=listing.slug)
    with django_assert_num_queries(0):
        assert [tag.slug for tag in found.tags.all()] == [tag.slug for tag in orm.tags.all()]
        assert [(p.category, p.price) for p in found.prices.all()] == [
            (p.category, p.price) for p in orm.prices.all()
        ]
        assert [p.category for p in found.prices_in_order][:2] == ["XS", "S"]
    assert selectors.listing_detail(kind="pool", slug="no-such-pool") is None
