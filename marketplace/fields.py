"""Ethereum addresses as Django takes them, on marketplace.addresses' one pattern: the models'
validator and the forms' field. (The API's serializer field is marketplace.api.AddressField.)"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator

from marketplace.addresses import ADDRESS_HINT, ADDRESS_PATTERN

# Models' validator (the migrations name it, with this very pattern and message).
wallet_address_validator = RegexValidator(
    f"^{ADDRESS_PATTERN}$", f"Enter a wallet address: {ADDRESS_HINT}."
)


class AddressFormField(forms.CharField):
    """A form's address field: 0x and 40 hexadecimal digits, as typed (spaces around trimmed)."""

    default_error_messages = {"invalid": f"Enter a wallet address: {ADDRESS_HINT}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(wallet_address_validator)
