"""The book's data migrations, run on rows written as they were before."""

from __future__ import annotations

import pytest

from tests.schema import latest_schema_after, migrate  # noqa: F401 (a fixture)

BEFORE = [("orders", "0006_spending_caps")]
AFTER = [("orders", "0007_request_max_prices")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("latest_schema_after")
def test_requests_already_in_the_book_get_their_max_prices_from_their_signed_messages():
    apps = migrate(BEFORE)
    Order = apps.get_model("orders", "Order")

    def order(kind, digest, message):
        return Order.objects.create(
            chain_id=31337, hub="0x" + "1" * 40, digest=digest, kind=kind, asset="0x" + "2" * 40,
            signer="0x" + "3" * 40, price=7, volume=1, remaining=1, tag="0x" + "0" * 64,
            message=message, status="open",
        ).pk  # fmt: skip

    request = order(
        "request",
        "0x01",
        {"appmaxprice": "3", "datasetmaxprice": 0, "workerpoolmaxprice": 4 * 10**27},
    )
    offer = order("app", "0x02", {"appprice": 7})

    apps = migrate(AFTER)
    Order = apps.get_model("orders", "Order")
    fields = ("app_max_price", "dataset_max_price", "workerpool_max_price")
    assert Order.objects.values_list(*fields).get(pk=request) == (3, 0, 4 * 10**27)
    assert Order.objects.values_list(*fields).get(pk=offer) == (0, 0, 0)
