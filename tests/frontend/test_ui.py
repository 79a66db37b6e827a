from __future__ import annotations

import pytest
from django import forms
from django.test.html import parse_html

from frontend.templatetags.ui import listing_card
from marketplace.catalogue.forms import QuickSelect
from marketplace.catalogue.selectors import ListingFilters, listing_list
from tests.factories.catalogue import AppFactory, TagFactory, WorkerpoolFactory

CHOICES = [("", "Any rating"), ("4", "★ 4 and up"), ("3", "<b>3</b> & up")]


@pytest.mark.parametrize("value", [None, "", "4", 3, "nonsense"])
def test_quick_select_renders_the_same_markup_as_djangos_select(value):
    attrs = {"id": "id_rating", "required": True, "aria-label": "Rating"}
    quick = QuickSelect(choices=CHOICES).render("rating", value, attrs=attrs)
    django = forms.Select(choices=CHOICES).render("rating", value, attrs=attrs)
    assert parse_html(quick) == parse_html(django)


@pytest.mark.django_db
def test_listing_card_escapes_every_value_from_the_database():
    tag = TagFactory(name="<i>tag</i>", slug="tag")
    app = AppFactory(
        listing__name='<script>alert("name")</script>',
        listing__summary="<img src=x onerror=alert(1)>",
        listing__owner__username="<b>owner</b>",
        listing__tags=[tag],
    )
    html = listing_card(_card_listing(app.listing.kind))
    assert "<script>" not in html and "<img src=x" not in html and "<b>owner" not in html
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in html
    assert "&lt;i&gt;tag&lt;/i&gt;" in html
    assert f'href="/apps/{app.listing.slug}/"' in html
    assert 'href="/apps/?tag=tag"' in html


@pytest.mark.django_db
def test_pool_card_shows_the_pools_attributes():
    WorkerpoolFactory(cpu_cores=16, memory_mb=1536, location="eu-west", energy_class="B")
    html = listing_card(_card_listing("pool"))
    parsed = parse_html(html)
    assert parse_html('<li title="CPU cores per worker">16 cores</li>') in parsed
    assert parse_html('<li title="Memory per worker">1.5 GiB</li>') in parsed
    assert parse_html('<li title="Energy class" class="energy energy-B">B</li>') in parsed


def _card_listing(kind: str):
    """The listing as the list page loads it (owner selected, tags prefetched)."""
    return listing_list(kind=kind, filters=ListingFilters()).get()
