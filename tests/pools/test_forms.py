from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from marketplace.catalogue.models import Listing
from marketplace.chain.amounts import ECT_DECIMALS, from_units
from marketplace.matchmaking.attributes import pool_expression
from marketplace.matchmaking.classads import ExpressionRefused
from pools.forms import PolicyForm, WorkerpoolForm
from pools.models import Workerpool
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import TagFactory, WorkerpoolFactory


def test_the_bond_asked_is_written_as_people_write_it():
    form = PolicyForm(initial={"bond_min": from_units(5 * 10**9, decimals=ECT_DECIMALS)})

    assert 'value="5"' in str(form["bond_min"])


def test_a_fraction_of_an_ect_keeps_only_its_digits():
    form = PolicyForm(initial={"bond_min": from_units(70_000_000, decimals=ECT_DECIMALS)})

    assert 'value="0.07"' in str(form["bond_min"])


# ---------------------------------------------------------------------- Requirements and Rank

POOL = {
    "name": "Edge",
    "summary": "Fast",
    "price_S": "0.3",
    "cpu_cores": "4",
    "memory_mb": "8192",
    "runtime": "wasm",
    "location": "eu-west",
    "energy_class": "A",
    "visibility": "public",
}


def _refusal(text: str) -> str:
    try:
        pool_expression(text)
    except ExpressionRefused as refused:
        return str(refused)
    raise AssertionError(f"{text!r} reads")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("TARGET.Volume >=", "Not a ClassAd expression"),
        ('TARGET.Colour == "red"', "the request's ad has no Colour"),
        ("time() > 0", "The function time cannot be used here"),
        ("TARGET.Volume >= 1 || " * 60 + "true", "at most 1000 are accepted"),
        ("(" * 13 + "true" + ")" * 13, "nests brackets 13 deep; at most 12 levels"),
    ],
    ids=["syntax", "unknown attribute", "function", "huge", "deeply nested"],
)
@pytest.mark.django_db
def test_a_bad_requirements_or_rank_is_refused_with_the_parsers_message(text, words):
    for field in ("requirements", "rank"):
        form = WorkerpoolForm({**POOL, field: text}, user=UserFactory())

        assert not form.is_valid()
        assert form.errors[field] == [_refusal(text)]
        assert words in form.errors[field][0]


@pytest.mark.django_db
def test_a_refused_requirement_saves_nothing(client):
    client.force_login(UserFactory())

    response = client.post(reverse("pool_submit"), {**POOL, "requirements": "TARGET.Volume >="})

    assert response.status_code == 200
    assert escape(_refusal("TARGET.Volume >=")) in response.content.decode()
    assert not Listing.objects.exists() and not Workerpool.objects.exists()


@pytest.mark.django_db
def test_good_requirements_and_rank_are_stored_as_typed(client):
    client.force_login(UserFactory())
    requirements = 'member("image", TARGET.AppTags)  &&  TARGET.RequesterDeals >= 1'

    response = client.post(
        reverse("pool_submit"),
        {**POOL, "requirements": f"  {requirements}\n", "rank": " TARGET.Volume "},
    )

    assert response.status_code == 302
    pool = Workerpool.objects.get()
    assert (pool.requirements, pool.rank) == (requirements, "TARGET.Volume")


@pytest.mark.django_db
def test_an_edit_shows_the_stored_expressions_and_a_refused_one_keeps_them(client):
    pool = WorkerpoolFactory(requirements="TARGET.Volume >= 10", rank="TARGET.Trust")
    listing = pool.listing
    client.force_login(listing.owner)
    url = reverse("pool_edit", args=[listing.slug])

    page = client.get(url).content.decode()
    refused = client.post(url, {**POOL, "name": "Renamed", "requirements": "MY.Colour > 1"})

    assert ">\nTARGET.Volume &gt;= 10</textarea>" in page
    assert ">\nTARGET.Trust</textarea>" in page
    assert refused.status_code == 200
    assert escape(_refusal("MY.Colour > 1")) in refused.content.decode()
    pool.refresh_from_db()
    assert (pool.requirements, pool.rank, pool.listing.name) == (
        "TARGET.Volume >= 10",
        "TARGET.Trust",
        listing.name,
    )


@pytest.mark.django_db
def test_the_requirements_box_asks_its_own_check_as_the_operator_types():
    listing = WorkerpoolFactory().listing
    new = WorkerpoolForm(user=UserFactory())
    edit = WorkerpoolForm(user=listing.owner, listing=listing)

    new_box, edit_box = str(new["requirements"]), str(edit["requirements"])

    assert f'hx-post="{reverse("pool_requirements_check_new")}"' in new_box
    assert f'hx-post="{reverse("pool_requirements_check", args=[listing.slug])}"' in edit_box
    assert 'hx-trigger="load, keyup changed delay:500ms, change from:closest form"' in new_box
    assert 'hx-target="#id_requirements-check"' in new_box
    assert '<div class="demand-check" id="id_requirements-check" aria-live="polite">' in new_box
    assert "TARGET.RequesterDeals" in new_box and "MY.Memory" in new_box  # what it can read


@pytest.mark.django_db
def test_a_refused_requirements_box_does_not_repeat_its_error_until_changed():
    form = WorkerpoolForm({**POOL, "requirements": "42"}, user=UserFactory())

    assert not form.is_valid()
    box = str(form["requirements"])
    assert 'hx-trigger="keyup changed delay:500ms, change from:closest form"' in box


def test_the_help_names_what_each_side_reads_with_examples():
    help_text = WorkerpoolForm.base_fields["requirements"].help_text

    assert "TARGET.Requester, TARGET.App, TARGET.AppName, TARGET.AppTags" in help_text
    assert "MY.Name, MY.Pool, MY.Owner, MY.Cores, MY.Memory" in help_text
    assert 'member("image", TARGET.AppTags)' in help_text
    assert "TARGET.RequesterDeals >= 1" in help_text and "TARGET.Volume >= 10" in help_text


def _as_posted(listing: Listing, **changes: str) -> dict[str, str]:
    """The pool form as a browser sends it back unchanged (line breaks as CRLF), then
    `changes`."""
    initial = WorkerpoolForm.initial_for(listing)
    data = {name: "" if value is None else str(value) for name, value in initial.items()}
    data["description"] = data["description"].replace("\n", "\r\n")
    return {**data, **changes}


@pytest.mark.django_db
def test_editing_only_the_requirements_and_rank_keeps_a_published_pool_public(client):
    pool = WorkerpoolFactory(requirements="TARGET.Volume >= 10")
    listing = pool.listing
    listing.description = "Line one.\nLine two."
    listing.save()
    listing.tags.set([TagFactory(name="GPU", slug="gpu"), TagFactory(name="eu", slug="eu")])
    client.force_login(listing.owner)
    url = reverse("pool_edit", args=[listing.slug])

    form_page = client.get(url).content.decode()
    response = client.post(
        url, _as_posted(listing, requirements="TARGET.Volume >= 20", rank="TARGET.Volume")
    )

    assert response.status_code == 302
    listing.refresh_from_db()
    pool.refresh_from_db()
    assert (pool.requirements, pool.rank) == ("TARGET.Volume >= 20", "TARGET.Volume")
    assert (listing.status, listing.is_public) == ("approved", True)
    assert (
        "Saved: the change applies now, and the listing stays public."
        in client.get(response.url).content.decode()
    )
    assert "Requirements and Rank alone applies at once and keeps it public." in form_page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [{"name": "Renamed"}, {"cpu_cores": "8"}, {"price_S": "0.4"}, {"tags": "gpu"}],
)
def test_editing_anything_else_with_them_sends_the_pool_back_to_review(client, change):
    pool = WorkerpoolFactory()
    listing = pool.listing
    listing.tags.set([TagFactory(name="GPU", slug="gpu"), TagFactory(name="eu", slug="eu")])
    client.force_login(listing.owner)

    response = client.post(
        reverse("pool_edit", args=[listing.slug]),
        _as_posted(listing, requirements="TARGET.Volume >= 20", **change),
    )

    assert response.status_code == 302
    listing.refresh_from_db()
    assert (listing.status, listing.is_public) == ("pending", False)
    assert Workerpool.objects.get(pk=pool.pk).requirements == "TARGET.Volume >= 20"
    assert "waits for review again" in client.get(response.url).content.decode()
