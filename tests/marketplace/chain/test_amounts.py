"""ECT and ETH amounts: whole units for people, integer base units for the chain."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.chain.amounts import (
    InvalidAmount,
    format_amount,
    format_ect,
    from_units,
    plain_amount,
    to_units,
)


@pytest.mark.parametrize(
    ("amount", "decimals", "units"),
    [
        (Decimal("1000"), 9, 1000 * 10**9),
        (Decimal("0.000000001"), 9, 1),
        ("2.5", 18, 25 * 10**17),
        (0, 9, 0),
        (f"{str(2**256 - 1)[:-9]}.{str(2**256 - 1)[-9:]}", 9, 2**256 - 1),
    ],
)
def test_to_units_is_exact(amount, decimals, units):
    assert to_units(amount, decimals=decimals, currency="ECT") == units


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        (Decimal("-1"), "zero or more"),
        (Decimal("0.0000000001"), "finer than its smallest unit"),
        ("lots", "is not an amount of ECT"),
        (Decimal("NaN"), "zero or more"),
        ("٣", "is not an amount of ECT"),  # an Arabic-Indic 3, which Decimal() reads
        ("\uff11", "is not an amount of ECT"),  # a full-width 1
        ("1e999999999", "more than the chain counts"),  # beyond the context: no Overflow
        ("1e99999", "more than the chain counts"),  # no integer of 100,000 digits
        (str(2**256), "more than the chain counts"),
    ],
)
def test_to_units_refuses_what_is_not_an_amount(amount, error):
    with pytest.raises(InvalidAmount, match=error):
        to_units(amount, decimals=9, currency="ECT")


def test_from_units_is_exact():
    assert from_units(1, decimals=9) == Decimal("0.000000001")
    assert from_units(123 * 10**18, decimals=18) == Decimal(123)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1000"), "1,000"),
        (Decimal("100000000.000000000"), "100,000,000"),
        (Decimal("0.250000000"), "0.25"),
        (Decimal("1234.5"), "1,234.5"),
        (Decimal("0E-9"), "0"),
    ],
)
def test_format_amount_separates_thousands_and_drops_trailing_zeros(amount, text):
    assert format_amount(amount) == text


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (0, "0 ECT"),
        (1, "0.000000001 ECT"),
        (300_000_000, "0.3 ECT"),
        (1_500_000_000, "1.5 ECT"),
        (2_000_000_000, "2 ECT"),
        (1_000_000 * 10**9 + 250_000_000, "1,000,000.25 ECT"),
    ],
)
def test_format_ect_gives_base_units_in_whole_ect(units, text):
    assert format_ect(units) == text


def test_long_amounts_are_converted_exactly_never_rounded():
    assert (
        to_units("12345678901.123456789012345678", decimals=18, currency="ETH")
        == 12345678901_123456789012345678
    )
    assert str(from_units(2**256 - 1, decimals=9)) == (
        "115792089237316195423570985008687907853269984665640564039457584007913.129639935"
    )


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("0.070000000"), "0.07"),
        (Decimal("100.000000000"), "100"),
        (Decimal("0E-9"), "0"),
        (Decimal("1E+3"), "1000"),
        (from_units(1, decimals=9), "0.000000001"),
        (Decimal("12"), "12"),
    ],
)
def test_plain_amount_is_written_as_people_type_it(amount, text):
    assert plain_amount(amount) == text
