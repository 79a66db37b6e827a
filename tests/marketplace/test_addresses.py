"""The one definition of an Ethereum address and of its checksummed form."""

from __future__ import annotations

import pytest

from marketplace.addresses import InvalidAddress, checksum_matches, is_address, normalize

# anvil's first dev account, as EIP-55 writes it
CHECKSUMMED = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


@pytest.mark.parametrize(
    "value", [CHECKSUMMED, CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper(), "0x" + "0" * 40]
)
def test_an_address_is_0x_and_40_hexadecimal_digits_in_any_case(value):
    assert is_address(value)


@pytest.mark.parametrize(
    "value",
    [
        CHECKSUMMED[2:],  # no 0x
        "0X" + CHECKSUMMED[2:],
        CHECKSUMMED[:-1],
        CHECKSUMMED + "0",
        CHECKSUMMED + "\n",
        " " + CHECKSUMMED,
        "0x" + "g" * 40,
        "0x" + "\u0661" * 40,  # another script's digits
        None,
        42,
        CHECKSUMMED.encode(),
    ],
)
def test_anything_else_is_not(value):
    assert not is_address(value)


def test_a_mixed_case_must_be_eip55s():
    assert checksum_matches(CHECKSUMMED)
    assert checksum_matches(CHECKSUMMED.lower())
    assert checksum_matches("0x" + CHECKSUMMED[2:].upper())
    assert not checksum_matches(CHECKSUMMED[:2] + CHECKSUMMED[2:].swapcase())


def test_normalize_gives_the_checksummed_form_spaces_around_ignored():
    assert normalize(f"  {CHECKSUMMED.lower()}\n") == CHECKSUMMED


@pytest.mark.parametrize("value", ["0x1234", "", None])
def test_normalize_refuses_what_is_no_address_saying_what_is_expected(value):
    with pytest.raises(InvalidAddress, match="expected 0x followed by 40 hexadecimal digits"):
        normalize(value)
