"""Texts with a limit in a real browser: a longer paste is kept whole, counted, and refused
before it is posted, instead of being cut by the browser's maxlength without a word."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from playwright.sync_api import expect

from marketplace.catalogue.models import Comment
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import AppFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _sign_in(page, server: str, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server}]
    )


def test_a_5000_character_comment_is_kept_counted_and_refused_before_posting(live_server, page):
    listing = AppFactory(listing__name="resvg").listing
    _sign_in(page, live_server.url, UserFactory())
    page.goto(live_server.url + listing.get_absolute_url())
    box = page.locator("#id_body")
    counter = page.locator("#id_body + .counter")
    expect(counter).to_have_text("0 / 4,000 characters")

    box.fill("x" * 5000)

    expect(counter).to_have_text("5,000 / 4,000 characters: 1,000 too many")
    expect(counter).to_have_class(re.compile(r"\bover\b"))
    assert box.evaluate("b => b.value.length") == 5000  # nothing cut
    assert box.get_attribute("maxlength") is None
    page.get_by_role("button", name="Post comment").click()
    assert box.evaluate("b => b.validationMessage") == (
        "At most 4,000 characters; this has 5,000: shorten it by 1,000."
    )

    box.fill("y" * 4000)
    expect(counter).to_have_text("4,000 / 4,000 characters")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".msg-success")).to_have_text("Your comment is posted.")
    assert list(Comment.objects.values_list("body", flat=True)) == ["y" * 4000]


def test_the_submission_form_counts_its_name_summary_and_description(live_server, page):
    _sign_in(page, live_server.url, UserFactory())
    page.goto(live_server.url + "/apps/new/")

    page.fill("#id_name", "N" * 85)
    page.fill("#id_summary", "One line")
    page.fill("#id_description", "line\n" * 3)

    expect(page.locator("#id_name + .counter")).to_have_text("85 / 80 characters: 5 too many")
    expect(page.locator("#id_summary + .counter")).to_have_text("8 / 160 characters")
    expect(page.locator("#id_description + .counter")).to_have_text("15 / 20,000 characters")
    described = page.locator("#id_name").get_attribute("aria-describedby") or ""
    assert page.locator("#id_name + .counter").get_attribute("id") in described.split()


def test_a_comment_the_server_refuses_comes_back_in_view_in_its_form_with_the_text(
    live_server, page, settings
):
    settings.COMMENT_RATE = "1/min"
    listing = AppFactory(listing__name="resvg", listing__description="Long.\n\n" * 80).listing
    _sign_in(page, live_server.url, UserFactory())
    page.goto(live_server.url + listing.get_absolute_url())
    page.fill("#id_body", "First")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".msg-success")).to_have_text("Your comment is posted.")

    second = "A second thought, written at length.\n" * 40
    page.fill("#id_body", second)
    page.get_by_role("button", name="Post comment").click()

    error = page.locator("#comment-error")
    expect(error).to_have_text(
        re.compile(r"You are posting comments too fast \(at most 1 a minute\): wait .+, then try")
    )
    expect(error).to_be_in_viewport()
    expect(page.locator("#id_body")).to_be_focused()
    assert page.locator("#id_body").input_value() == second
    assert list(Comment.objects.values_list("body", flat=True)) == ["First"]
