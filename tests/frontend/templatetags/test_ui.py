from __future__ import annotations

from types import SimpleNamespace

import pytest
from django import forms
from django.test.html import parse_html

from frontend.templatetags.ui import bar_width, listing_card, listing_icon, stars
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


@pytest.mark.parametrize(
    ("value", "whole", "expected"),
    [
        (42.4, 100, "w-42"),
        (99.6, 100, "w-100"),
        (0.5, 1, "w-50"),
        (3.7, 5, "w-74"),
        (140, 100, "w-100"),
        (-3, 100, "w-0"),
        (None, 100, "w-0"),
        ("nan", 100, "w-0"),
        (1, 0, "w-0"),
    ],
)
def test_bar_width_names_the_stylesheets_class_for_a_fill(value, whole, expected):
    assert bar_width(value, whole) == expected


def test_stars_and_generated_icons_need_no_inline_style():
    # The Content-Security-Policy (style-src 'self') would drop a style attribute.
    rating = stars(3.7)
    icon = listing_icon(SimpleNamespace(icon=None, name="Word count"), 52)

    assert "style=" not in rating and "style=" not in icon
    assert 'class="stars-on w-74"' in rating
    assert icon.startswith('<svg class="icon icon-generated icon-palette-')
    assert 'width="52" height="52" viewBox="0 0 100 100" aria-hidden="true"' in icon
    assert 'dominant-baseline="central">WC</text></svg>' in icon


@pytest.mark.django_db
def test_a_card_heading_has_the_level_its_grid_asks_for():
    AppFactory(listing__name="Word count")
    listing = _card_listing("app")

    assert "<h3>Word count</h3>" in listing_card(listing)
    assert "<h2>Word count</h2>" in listing_card(listing, 2)
    with pytest.raises(ValueError, match="heading level is 2 to 6"):
        listing_card(listing, 1)


@pytest.mark.django_db
def test_a_cards_run_names_its_partners_escaped_and_a_card_without_one_says_so():
    from marketplace.orders.selectors import Run

    app = AppFactory(listing__name="Graphviz")
    listing = _card_listing("app")
    pool = SimpleNamespace(pk=-1, name="<i>Lyon</i>")
    run = Run(price=130_000_000, category="XS", app=app.listing, dataset=None, workerpool=pool)

    html = listing_card(listing, 3, {listing.pk: run})

    assert "from <strong>0.13 ECT</strong> per task with &lt;i&gt;Lyon&lt;/i&gt;, XS" in html
    assert "No open offer" in listing_card(listing, 3, {listing.pk: None})
    assert "offer" not in listing_card(listing)  # no runs read: no price shown
