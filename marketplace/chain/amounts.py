"""Amounts of ECT and ETH: whole-unit Decimals for people, integer base units for the chain.

ECT has 9 decimals (1 ECT = 10**9 units), ETH 18 (1 ETH = 10**18 wei). Plain Python: this
module imports nothing from web3, so templates and views can use it cheaply.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation, localcontext

ECT_DECIMALS = 9
ETH_DECIMALS = 18


# Enough digits for any uint256 (78 digits) with its decimals: exact, never rounded.
_PRECISION = 100
UINT256_MAX = 2**256 - 1


class InvalidAmount(ValueError):
    """An amount that is not a non-negative number with at most the currency's decimals."""


def to_units(amount: Decimal | int | str, *, decimals: int, currency: str) -> int:
    """`amount` whole units as integer base units; InvalidAmount when it is negative, not a
    number (in ASCII), finer than the currency's smallest unit, or more than a uint256."""
    try:
        # Decimal() reads other scripts' digits too ("٣" is 3): amounts are written in ASCII.
        if isinstance(amount, str) and not amount.isascii():
            raise ValueError(amount)
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidAmount(f"{amount!r} is not an amount of {currency}.") from None
    if not value.is_finite() or value < 0:
        raise InvalidAmount(f"An amount of {currency} must be zero or more, not {amount}.")
    # Before scaling: 1e999999999 would overflow the context, 1e99999 make a huge integer.
    if value and value.adjusted() + decimals > len(str(UINT256_MAX)):
        raise InvalidAmount(
            f"{amount} {currency} is more than the chain counts (2^256 - 1 base units)."
        )
    with localcontext() as context:
        context.prec = _PRECISION  # the default 28 digits would round long amounts silently
        units = value.scaleb(decimals)
    if units != units.to_integral_value():
        raise InvalidAmount(
            f"{currency} has {decimals} decimals: {amount} is finer than its smallest unit."
        )
    if units > UINT256_MAX:
        raise InvalidAmount(
            f"{amount} {currency} is more than the chain counts (2^256 - 1 base units)."
        )
    return int(units)


def from_units(units: int, *, decimals: int) -> Decimal:
    """Integer base units as a whole-unit Decimal, exactly."""
    with localcontext() as context:
        context.prec = _PRECISION
        return Decimal(units).scaleb(-decimals)


def format_amount(amount: Decimal) -> str:
    """1000 → "1,000"; 0.250000000 → "0.25": thousands separated, no trailing zeros."""
    whole, _, fraction = f"{Decimal(amount):f}".partition(".")
    fraction = fraction.rstrip("0")
    text = f"{int(whole):,}" if whole not in ("-0", "") else whole
    return f"{text}.{fraction}" if fraction else text


def plain_amount(amount: Decimal) -> str:
    """An amount as people type it into a form: 0.070000000 → "0.07", 100.000000000 → "100"
    (no exponent, no separators)."""
    text = f"{Decimal(amount):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_ect(units: int) -> str:
    """ECT base units for people: 1_500_000_000 → "1.5 ECT", 10**15 → "1,000,000 ECT",
    1 → "0.000000001 ECT"."""
    return f"{format_amount(from_units(units, decimals=ECT_DECIMALS))} ECT"
