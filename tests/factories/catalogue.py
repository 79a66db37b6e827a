from __future__ import annotations

from decimal import Decimal

import factory
from django.core.files.base import ContentFile

from dappstore.models import App
from datamarket.models import Dataset
from marketplace.catalogue import search
from marketplace.catalogue.markdown import render_markdown
from marketplace.catalogue.models import (
    PUBLIC_STATUSES,
    Comment,
    CurationStatus,
    Listing,
    ListingPrice,
    Market,
    Tag,
)
from pools.models import Workerpool
from tests.factories.accounts import UserFactory


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"tag{n}")
    slug = factory.LazyAttribute(lambda tag: tag.name.lower().replace(" ", "-"))


class ListingFactory(factory.django.DjangoModelFactory):
    """A published listing (approved) unless `status` says otherwise; indexed for search."""

    class Meta:
        model = Listing
        skip_postgeneration_save = True

    kind = Market.APP
    name = factory.Sequence(lambda n: f"Listing {n}")
    slug = factory.Sequence(lambda n: f"listing-{n}")
    summary = "A useful thing"
    description = "Some **markdown**."
    description_html = factory.LazyAttribute(lambda listing: render_markdown(listing.description))
    owner = factory.SubFactory(UserFactory)
    status = CurationStatus.APPROVED
    is_public = factory.LazyAttribute(lambda listing: listing.status in PUBLIC_STATUSES)
    rating_histogram = factory.LazyFunction(lambda: [0, 0, 0, 0, 0])
    price_from = Decimal("1")
    # Apps and datasets ask one price per task; pools a price per category (`prices`).
    price = factory.LazyAttribute(
        lambda listing: None if listing.kind == Market.POOL else listing.price_from
    )

    @factory.post_generation
    def prices(listing, create, extracted, **kwargs):
        if not create or listing.kind != Market.POOL:
            return
        for category, price in (extracted or {"S": listing.price_from}).items():
            ListingPrice.objects.create(listing=listing, category=category, price=price)

    @factory.post_generation
    def tags(listing, create, extracted, **kwargs):
        if create and extracted:
            listing.tags.set(extracted)

    @factory.post_generation
    def index(listing, create, extracted, **kwargs):
        if create:
            search.index_listings([listing.pk])


class AppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = App

    listing = factory.SubFactory(ListingFactory, kind=Market.APP)
    wasm = factory.LazyFunction(lambda: ContentFile(b"\0asm\1\0\0\0", name="app.wasm"))
    wasm_sha256 = "0" * 64
    wasm_size = 8


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    listing = factory.SubFactory(ListingFactory, kind=Market.DATASET)
    encrypted_file = factory.LazyFunction(lambda: ContentFile(b"SEDS", name="d.seds"))
    encrypted_sha256 = "0" * 64
    encrypted_size = 4
    plain_size = 1
    original_name = "data.csv"
    wrapped_key = b"\x01" * 61


class WorkerpoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workerpool

    listing = factory.SubFactory(ListingFactory, kind=Market.POOL)
    cpu_cores = 4
    memory_mb = 8192
    location = "eu-west"
    energy_class = "B"


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    listing = factory.SubFactory(ListingFactory)
    author = factory.SubFactory(UserFactory)
    body = "Nice."
