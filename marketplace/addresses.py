"""Ethereum addresses: the one definition of their format (0x followed by 40 hexadecimal
digits) and of their EIP-55 checksummed form.

The Django validator, form field and DRF field are built on it (marketplace.fields), and so are
the chain layer's, Sign-In with Ethereum's and the APIs' checks. No Django, no web3 (eth_utils
for the checksum's keccak): the worker agent may import it.
"""

from __future__ import annotations

import re

from eth_utils import is_checksum_address, to_checksum_address

# The whole value: match it with fullmatch, or anchor it (^...$) where a pattern is given out.
ADDRESS_PATTERN = "0x[0-9a-fA-F]{40}"
ADDRESS_LENGTH = 42
ADDRESS_HINT = "0x followed by 40 hexadecimal digits"
_ADDRESS = re.compile(ADDRESS_PATTERN)


class InvalidAddress(ValueError):
    """Not an address; str(error) says what is expected."""


def is_address(value: object) -> bool:
    """Whether `value` is a string of 0x and 40 hexadecimal digits (in any letter case)."""
    return isinstance(value, str) and _ADDRESS.fullmatch(value) is not None


def checksum_matches(address: str) -> bool:
    """Whether the letter case of `address` (an address, is_address) is one a wallet writes:
    one case throughout, or EIP-55's mix. A wrong mix is a typo."""
    digits = address[2:]
    return digits in (digits.lower(), digits.upper()) or is_checksum_address(address)


def normalize(value: object) -> str:
    """`value`, spaces around it ignored, in its EIP-55 checksummed form (the one the index,
    the book and the chain's events keep); InvalidAddress when it is no address."""
    text = value.strip() if isinstance(value, str) else value
    if not is_address(text):
        raise InvalidAddress(
            f"{str(value)[:60]!r} is not an Ethereum address: expected {ADDRESS_HINT}."
        )
    return to_checksum_address(text)
