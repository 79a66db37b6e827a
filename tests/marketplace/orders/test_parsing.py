"""Refusals of malformed orders repeat enough of the input to find it, never all of it."""

from __future__ import annotations

import pytest

from marketplace.orders.parsing import InvalidOrder, order_kind, parse_order


def test_a_short_wrong_kind_is_repeated_whole():
    with pytest.raises(InvalidOrder) as refusal:
        order_kind("apps")
    assert str(refusal.value).endswith('not "apps".')
    assert refusal.value.field == "kind"


def test_a_huge_wrong_kind_is_cut_and_its_length_given():
    with pytest.raises(InvalidOrder) as refusal:
        order_kind("x" * 3_000_000)
    message = str(refusal.value)
    assert len(message) < 200
    assert message.endswith(f'not "{"x" * 59}… (3,000,002 characters).')


@pytest.mark.parametrize(
    ("kind", "article"), [("app", "An"), ("dataset", "A"), ("workerpool", "A"), ("request", "A")]
)
def test_an_unknown_field_is_named_with_the_orders_kind_and_its_article(kind, article):
    with pytest.raises(InvalidOrder) as refusal:
        parse_order(kind, {"colour": "red"})
    assert str(refusal.value).startswith(f"{article} {kind} order has no field colour: ")
    assert refusal.value.field == "colour"
