"""What the site's templates owe assistive technologies beyond what axe-core rates serious
(tests/e2e/test_accessibility.py checks them all in Chromium): heading levels that never skip
one, and table headers that all say something."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from itertools import pairwise

import pytest

from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db


class _Outline(HTMLParser):
    """The page's heading levels in order, and the text of each table header cell."""

    def __init__(self) -> None:
        super().__init__()
        self.levels: list[int] = []
        self.headers: list[str] = []
        self._header: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if re.fullmatch(r"h[1-6]", tag):
            self.levels.append(int(tag[1]))
        if tag == "th":
            self._header = []

    def handle_endtag(self, tag):
        if tag == "th" and self._header is not None:
            self.headers.append("".join(self._header).strip())
            self._header = None

    def handle_data(self, data):
        if self._header is not None:
            self._header.append(data)


def _outline(client, path: str) -> _Outline:
    response = client.get(path)
    assert response.status_code == 200
    outline = _Outline()
    outline.feed(response.content.decode())
    return outline


def _skips(levels: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for a, b in pairwise(levels) if b > a + 1]


@pytest.mark.parametrize("path", ["/", "/apps/", "/pools/", "/providers/ada/"])
def test_headings_of_the_market_pages_skip_no_level(client, path):
    AppFactory(listing__owner__username="ada", listing__status="featured")
    AppFactory(listing__owner__username="bob")
    WorkerpoolFactory()

    outline = _outline(client, path)

    assert outline.levels[0] == 1
    assert _skips(outline.levels) == []


def test_every_header_of_the_wallets_table_says_what_its_column_holds(client):
    wallet = WalletFactory()
    client.force_login(wallet.user)

    outline = _outline(client, "/accounts/wallets/")

    assert outline.headers[:2] == ["Address", "ECT"]
    assert "" not in outline.headers
    assert outline.headers[-1] == "Actions"  # visually hidden: the column of buttons
