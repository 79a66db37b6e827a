"""Addresses as Django takes them: the models' validator and the forms' field."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError

from marketplace.fields import AddressFormField, wallet_address_validator

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def test_the_models_validator_is_the_one_the_migrations_name():
    # Its pattern and message are in the migrations: changing them is a schema change.
    assert wallet_address_validator.deconstruct() == (
        "django.core.validators.RegexValidator",
        ("^0x[0-9a-fA-F]{40}$", "Enter a wallet address: 0x followed by 40 hexadecimal digits."),
        {},
    )
    wallet_address_validator(ADDRESS)
    with pytest.raises(ValidationError):
        wallet_address_validator("0x1234")


class _Invite(forms.Form):
    worker = AddressFormField(error_messages={"invalid": "A wallet address is 0x and 40 hex."})
    payee = AddressFormField(required=False)


def test_the_form_field_takes_an_address_as_typed_and_says_what_it_expects():
    taken = _Invite({"worker": f" {ADDRESS.lower()} "})
    refused = _Invite({"worker": ADDRESS, "payee": "me"})
    worded = _Invite({"worker": "0x12"})

    assert taken.is_valid() and taken.cleaned_data == {"worker": ADDRESS.lower(), "payee": ""}
    assert not refused.is_valid()
    assert refused.errors == {
        "payee": ["Enter a wallet address: 0x followed by 40 hexadecimal digits."]
    }
    assert not worded.is_valid()
    assert worded.errors == {"worker": ["A wallet address is 0x and 40 hex."]}
