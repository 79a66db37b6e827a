"""The sell form shows prices as people write them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.orders.forms import SellForm
from tests.factories.catalogue import AppFactory, WorkerpoolFactory

pytestmark = pytest.mark.django_db


def test_an_app_sell_form_starts_at_its_price_written_plainly():
    listing = AppFactory(listing__price=Decimal("0.070000000")).listing

    html = str(SellForm(listing=listing)["price"])

    assert 'value="0.07"' in html


def test_a_pool_sell_form_writes_each_category_price_plainly():
    listing = WorkerpoolFactory(
        listing__prices={"XS": Decimal("0.250000000"), "M": Decimal("3.000000000")}
    ).listing

    form = SellForm(listing=listing)

    assert 'value="0.25"' in str(form["price_XS"])
    assert 'value="3"' in str(form["price_M"])
    assert "value=" not in str(form["price_S"])


def test_a_price_typed_by_the_provider_is_given_back_as_typed():
    listing = AppFactory().listing

    form = SellForm({"volume": "x", "price": "0.50"}, listing=listing)

    assert not form.is_valid()
    assert 'value="0.50"' in str(form["price"])
