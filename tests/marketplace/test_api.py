"""What every JSON API answer shares: here, the serializers' address field."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from marketplace.api import AddressField

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


class _Input(serializers.Serializer):
    sent = AddressField()
    checksummed = AddressField(checksummed=True, required=False, allow_blank=True)


def test_an_address_field_takes_an_address_as_sent_or_checksummed():
    given = _Input(data={"sent": ADDRESS.lower(), "checksummed": ADDRESS.lower()})
    blank = _Input(data={"sent": ADDRESS, "checksummed": ""})

    assert given.is_valid() and given.validated_data == {
        "sent": ADDRESS.lower(),
        "checksummed": ADDRESS,
    }
    assert blank.is_valid() and blank.validated_data["checksummed"] == ""


def test_an_address_field_refuses_anything_else_saying_what_it_expects():
    refused = _Input(data={"sent": "0x1234", "checksummed": ADDRESS + "0"})

    assert not refused.is_valid()
    assert {name: [str(e) for e in errors] for name, errors in refused.errors.items()} == {
        "sent": ["Enter an address: 0x followed by 40 hexadecimal digits."],
        "checksummed": ["Enter an address: 0x followed by 40 hexadecimal digits."],
    }


def test_the_schema_documents_an_address_fields_pattern():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    quote = schema["components"]["schemas"]["QuoteInput"]["properties"]

    assert quote["app"]["pattern"] == "^0x[0-9a-fA-F]{40}$"


def test_the_schema_describes_every_part_of_the_api():
    info = SchemaGenerator().get_schema(request=None, public=True)["info"]

    assert info["title"] == "SuperEdge API"
    for part in ("catalogue", "order book", "escrow", "deals", "worker API", "accounts"):
        assert part in info["description"]
