"""Publishing checks an order as the Hub would match it; the book follows the chain."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from marketplace.accounts.models import Wallet
from marketplace.chain.hub import OrderKind as ChainKind
from marketplace.chain.orders import (
    AppOrder,
    DatasetOrder,
    OrderOperation,
    RequestOrder,
    WorkerpoolOrder,
    hub_domain,
    sign_order,
    typed_data,
)
from marketplace.orders import services
from marketplace.orders.models import InputFile, Order, OrderStatus
from marketplace.orders.parsing import InvalidOrder, parse_order
from tests.chain_scaffold import ECT
from tests.factories.accounts import UserFactory
from tests.factories.deals import DealFactory

pytestmark = pytest.mark.django_db


def publish(market, order, key, **extra):
    signature = "0x" + sign_order(order, market.domain, key).hex() if key else ""
    kind = {AppOrder: "app", DatasetOrder: "dataset", WorkerpoolOrder: "workerpool"}.get(
        type(order), "request"
    )
    return services.order_publish(
        kind=kind,
        order=typed_data(order, market.domain)["message"],
        signature=signature,
        **extra,
    )


def app_order(market, **fields) -> AppOrder:
    return AppOrder(app=market.app, appprice=fields.pop("appprice", 2 * ECT), volume=10, **fields)


def pool_order(market, **fields) -> WorkerpoolOrder:
    return WorkerpoolOrder(
        workerpool=market.workerpool,
        workerpoolprice=fields.pop("workerpoolprice", ECT),
        volume=fields.pop("volume", 10),
        category=0,
        trust=fields.pop("trust", 1),
        **fields,
    )


def request_order(market, *, volume: int, price: int) -> RequestOrder:
    return RequestOrder(
        app=market.app,
        appmaxprice=price,
        workerpoolmaxprice=0,
        requester=market.requester.address,
        volume=volume,
        category=0,
        beneficiary=market.requester.address,
    )


def test_an_order_signed_by_the_assets_owner_is_open_with_its_fields(market):
    order = app_order(market)
    stored = publish(market, order, market.app_owner.key)
    assert stored.status == OrderStatus.OPEN
    assert (stored.kind, stored.asset, stored.signer) == (
        "app",
        market.app,
        market.app_owner.address,
    )
    assert (int(stored.price), stored.volume, stored.consumed, stored.remaining) == (
        2 * ECT,
        10,
        0,
        10,
    )
    assert stored.digest == "0x" + services.order_digest(order, market.domain).hex()
    assert Order.objects.get().message["salt"] == "0x" + order.salt.hex()


def test_a_signature_by_someone_else_is_refused_and_nothing_stored(market):
    with pytest.raises(services.OrderRefused, match=r"signature is by .* but the app's owner is"):
        publish(market, app_order(market), market.requester.key)
    assert not Order.objects.exists()


def test_an_order_signed_for_another_chain_or_hub_is_refused(market):
    order = app_order(market)
    for domain in (
        hub_domain(chain_id=1, hub_address=market.hub.address),
        hub_domain(chain_id=31337, hub_address=market.app),
    ):
        signature = "0x" + sign_order(order, domain, market.app_owner.key).hex()
        message = typed_data(order, domain)["message"]
        with pytest.raises(services.OrderRefused, match="signature is by"):
            services.order_publish(kind="app", order=message, signature=signature)
        # Told plainly when the client says which domain it signed for.
        with pytest.raises(services.OrderRefused, match=r"signed for (chain 1|the contract)"):
            services.order_publish(
                kind="app", order=message, signature=signature, domain=domain.as_typed_data()
            )
    assert not Order.objects.exists()


def test_a_claimed_chain_id_is_read_in_ascii_digits_only(market):
    order = app_order(market)
    domain = market.domain.as_typed_data()
    # int() reads 31337 in full-width or Arabic-Indic digits too; only these forms are ours.
    for chain_id in ("31337", "0x7a69", 31337):
        publish(market, order, market.app_owner.key, domain={**domain, "chainId": chain_id})
        Order.objects.all().delete()
    full_width = "".join(chr(0xFF10 + int(digit)) for digit in "31337")
    for chain_id in (full_width, "٣١٣٣٧", "9" * 5000):
        with pytest.raises(services.OrderRefused, match="signed for chain"):
            publish(market, order, market.app_owner.key, domain={**domain, "chainId": chain_id})
    assert not Order.objects.exists()


def test_a_duplicate_is_refused(market):
    order = app_order(market)
    publish(market, order, market.app_owner.key)
    with pytest.raises(services.DuplicateOrder, match="already in the book"):
        publish(market, order, market.app_owner.key)
    assert Order.objects.count() == 1


def test_a_batch_stores_the_good_orders_and_says_why_the_others_were_refused(market):
    good = [app_order(market, appprice=price) for price in (1, 2, 3)]
    bad = app_order(market, appprice=4)
    submissions = [
        services.Submission(
            kind="app",
            order=typed_data(order, market.domain)["message"],
            signature="0x" + sign_order(order, market.domain, key).hex(),
        )
        for order, key in [(good[0], market.app_owner.key), (bad, market.requester.key)]
        + [(o, market.app_owner.key) for o in good[1:]]
        + [(good[0], market.app_owner.key)]
    ]
    outcomes = services.orders_publish(submissions=submissions)
    assert [o.order is not None for o in outcomes] == [True, False, True, True, False]
    assert isinstance(outcomes[1].error, services.OrderRefused)
    assert isinstance(outcomes[4].error, services.DuplicateOrder)
    assert sorted(int(p) for p in Order.objects.values_list("price", flat=True)) == [1, 2, 3]


def test_an_unregistered_asset_is_refused(market):
    order = dataclasses.replace(app_order(market), app=market.requester.address)
    with pytest.raises(services.OrderRefused, match="is not registered on this chain"):
        publish(market, order, market.app_owner.key)


def test_a_malformed_order_names_its_field():
    with pytest.raises(InvalidOrder, match="volume must be at least 1"):
        parse_order("app", {**_message(), "volume": 0})
    with pytest.raises(InvalidOrder, match="appprice is above the largest uint256"):
        parse_order("app", {**_message(), "appprice": 2**256})
    with pytest.raises(InvalidOrder, match="appprice cannot be negative"):
        parse_order("app", {**_message(), "appprice": -1})
    with pytest.raises(InvalidOrder, match="appprice must be a whole number"):
        parse_order("app", {**_message(), "appprice": 1.5})
    with pytest.raises(InvalidOrder, match="has no field colour"):
        parse_order("app", {**_message(), "colour": "red"})
    with pytest.raises(InvalidOrder, match="lacks salt"):
        parse_order("app", {k: v for k, v in _message().items() if k != "salt"})


def _message() -> dict:
    order = AppOrder(app="0x" + "11" * 20, appprice=1, volume=1)
    return typed_data(order, hub_domain(chain_id=31337, hub_address="0x" + "22" * 20))["message"]


def test_a_request_must_be_covered_by_its_requesters_escrow(market):
    # 1,000 ECT staked: 100 tasks at 10 ECT are covered, 101 are not.
    publish(market, request_order(market, volume=100, price=10 * ECT), market.requester.key)
    with pytest.raises(
        services.OrderRefused, match=r"escrow holds 1,?000 ECT free.*deposit 10 ECT"
    ):
        publish(market, request_order(market, volume=101, price=10 * ECT), market.requester.key)
    assert Order.objects.count() == 1


def test_a_workerpool_order_must_be_covered_by_the_pools_stake(market):
    # The pool owner has 100 ECT staked; 30 % of 10 ECT for 33 tasks is 99 ECT, 34 are 102.
    publish(market, pool_order(market, workerpoolprice=10 * ECT, volume=33), market.scheduler.key)
    with pytest.raises(services.OrderRefused, match="the pool's stake for 34 task"):
        publish(
            market, pool_order(market, workerpoolprice=10 * ECT, volume=34), market.scheduler.key
        )


def test_a_presigned_order_needs_no_signature_and_an_unsigned_one_is_refused(market, index):
    order = app_order(market)
    with pytest.raises(services.OrderRefused, match="has not presigned it on chain"):
        publish(market, order, None)
    market.hub.manage_order_call(order=order, operation=OrderOperation.SIGN).send(
        market.sender(market.app_owner)
    )
    assert publish(market, order, None).signature == ""  # read from the chain, not indexed yet
    index()
    assert Order.objects.get().status == OrderStatus.OPEN


def test_closed_and_consumed_orders_are_refused(market, index):
    closed = app_order(market)
    market.hub.manage_order_call(order=closed, operation=OrderOperation.CLOSE).send(
        market.sender(market.app_owner)
    )
    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, volume=1)
    consumed = dataclasses.replace(orders.workerpool)  # volume 1, consumed by the match
    market.match(orders)
    index()
    with pytest.raises(services.OrderRefused, match="was closed on chain"):
        publish(market, closed, market.app_owner.key)
    with pytest.raises(services.OrderRefused, match="is fully consumed on chain"):
        publish(market, consumed, market.scheduler.key)
    assert not Order.objects.exists()


def test_matches_consume_the_book_and_fill_it(market, index):
    orders = market.sign_orders(
        app_price=ECT, dataset_price=None, workerpool_price=ECT, volume=2, workerpool_volume=3
    )
    stored = publish(market, orders.workerpool, market.scheduler.key)
    market.match(orders)
    index()
    stored.refresh_from_db()
    assert (stored.status, stored.consumed, stored.remaining) == (OrderStatus.OPEN, 2, 1)
    second = dataclasses.replace(orders.request, volume=1, salt=b"\x07" * 32)
    market.hub.match_orders(
        sender=market.sender(market.requester),
        **{
            **orders.match_arguments(),
            "request_order": second,
            "request_sign": sign_order(second, market.domain, market.requester.key),
        },
    )
    index()
    stored.refresh_from_db()
    assert (stored.status, stored.consumed, stored.remaining) == (OrderStatus.FILLED, 3, 0)


def test_an_order_dies_when_its_asset_changes_owner_and_revives_when_it_comes_back(market, index):
    stored = publish(market, app_order(market), market.app_owner.key)
    registry = market.hub.registry(ChainKind.APP)
    owner, other = market.app_owner, market.requester
    _transfer(market, registry, owner, other)
    index()
    stored.refresh_from_db()
    assert stored.status == OrderStatus.DEAD
    assert "now belongs to " + other.address in stored.status_reason
    _transfer(market, registry, other, owner)
    index()
    stored.refresh_from_db()
    assert (stored.status, stored.status_reason) == (OrderStatus.OPEN, "")


def _transfer(market, registry, source, target) -> None:
    from marketplace.chain.hub import _call

    _call(registry, "transferFrom", source.address, target.address, int(market.app, 16)).send(
        market.sender(source)
    )


def test_a_request_dies_when_the_escrow_no_longer_covers_it(market, index):
    stored = publish(
        market, request_order(market, volume=100, price=10 * ECT), market.requester.key
    )
    market.hub.withdraw(sender=market.sender(market.requester), amount=ECT)
    index()
    stored.refresh_from_db()
    assert stored.status == OrderStatus.DEAD
    assert "needs 1,000 ECT" in stored.status_reason or "needs 1000 ECT" in stored.status_reason


def test_unpublishing_cancels_and_says_the_order_is_still_valid_on_chain(market):
    stored = publish(market, app_order(market), market.app_owner.key)
    stranger = UserFactory()
    with pytest.raises(services.NotYourOrder, match="Only the order's signer"):
        services.order_unpublish(order=stored, user=stranger)
    # The indexer made the owner's account, as a first wallet sign-in would.
    owner = Wallet.objects.get(address=market.app_owner.address).user
    services.order_unpublish(order=stored, user=owner)
    stored.refresh_from_db()
    assert stored.status == OrderStatus.CANCELLED
    assert "still valid on chain" in stored.status_reason


def test_a_match_taken_back_by_a_reorganization_reopens_the_order(market, index):
    from marketplace.chain import client

    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT, volume=1)
    stored = publish(market, orders.workerpool, market.scheduler.key)
    fork = client.rpc("evm_snapshot", w3=market.w3)
    market.match(orders)
    index()
    stored.refresh_from_db()
    assert (stored.status, stored.remaining) == (OrderStatus.FILLED, 0)

    client.rpc("evm_revert", [fork], w3=market.w3)
    client.rpc("anvil_mine", [3], w3=market.w3)  # another chain from the fork on
    index()
    stored.refresh_from_db()
    assert (stored.status, stored.consumed, stored.remaining) == (OrderStatus.OPEN, 0, 1)


def test_only_the_signer_takes_an_order_off_the_book_and_puts_it_back(market):
    order = app_order(market)
    relayer = UserFactory()
    stored = services.order_publish(
        kind="app",
        order=typed_data(order, market.domain)["message"],
        signature="0x" + sign_order(order, market.domain, market.app_owner.key).hex(),
        user=relayer,
    )
    # Publishing someone's signed order does not make it yours to take off the book.
    with pytest.raises(services.NotYourOrder):
        services.order_unpublish(order=stored, user=relayer)
    signer = Wallet.objects.get(address=market.app_owner.address).user
    services.order_unpublish(order=stored, user=signer)
    with pytest.raises(services.DuplicateOrder, match="taken off the book by its signer"):
        services.order_publish(
            kind="app",
            order=typed_data(order, market.domain)["message"],
            signature="0x" + sign_order(order, market.domain, market.app_owner.key).hex(),
            user=relayer,
        )
    again = services.order_publish(
        kind="app",
        order=typed_data(order, market.domain)["message"],
        signature="0x" + sign_order(order, market.domain, market.app_owner.key).hex(),
        user=signer,
    )
    assert again.pk == stored.pk
    stored.refresh_from_db()
    assert (stored.status, stored.unpublished, stored.status_reason) == (
        OrderStatus.OPEN,
        False,
        "",
    )


def test_values_the_hub_or_the_book_cannot_hold_are_refused_in_words():
    cases = {
        "volume": (2**64, "volume is above the most tasks an order can sell"),
        "appprice": (2**96, "appprice is above the highest price the Hub takes"),
        "appprice ": ("9" * 5000, "appprice is above the largest uint256"),
    }
    for field, (value, words) in cases.items():
        with pytest.raises(InvalidOrder, match=words):
            parse_order("app", {**_message(), field.strip(): value})
    with pytest.raises(InvalidOrder, match="kind must be one of"):
        parse_order(["app"], _message())
    with pytest.raises(InvalidOrder, match="not valid Unicode"):
        from marketplace.orders.parsing import _params

        _params('{"args": "\ud800"}')


# ---------------------------------------------------------------------- input files


def stored_input(*, days_old: float, owner=None) -> InputFile:
    """An input file uploaded `days_old` days ago."""
    stored = services.input_store(
        owner=owner or UserFactory(), file=ContentFile(b"input bytes"), name="in.txt"
    )
    stored.created_at = timezone.now() - datetime.timedelta(days=days_old)
    stored.save(update_fields=["created_at"])
    return stored


def url(stored: InputFile) -> str:
    return f"http://127.0.0.1:8000/inputs/{stored.token}/{stored.name}"


def on_disk(stored: InputFile) -> bool:
    return default_storage.exists(stored.path)


def test_old_unused_inputs_are_deleted_rows_and_files(settings):
    old, recent = stored_input(days_old=8), stored_input(days_old=6)

    assert services.inputs_clean() == 1

    assert list(InputFile.objects.all()) == [recent]
    assert not on_disk(old) and on_disk(recent)
    assert not (settings.MEDIA_ROOT / "inputs" / old.token).exists()


def test_inputs_a_deal_may_still_run_with_are_kept_until_its_tasks_are_done():
    used, unused = stored_input(days_old=30), stored_input(days_old=30)
    deal = DealFactory(params=json.dumps({"args": "x", "input_files": [url(used)]}), volume=2)

    assert services.inputs_clean() == 1
    assert list(InputFile.objects.all()) == [used] and on_disk(used) and not on_disk(unused)

    deal.tasks_completed, deal.tasks_failed = 1, 1
    deal.save()
    assert services.inputs_clean() == 1
    assert not InputFile.objects.exists() and not on_disk(used)


def test_inputs_of_a_deal_past_its_final_deadline_are_deleted():
    used = stored_input(days_old=30)
    # Started 2 days ago, reference time 1 hour: its tasks could run for 10 hours.
    DealFactory(
        params=json.dumps({"input_files": [url(used)]}),
        start_time=timezone.now() - datetime.timedelta(days=2),
        time_ref=3600,
    )

    assert services.inputs_clean() == 1
    assert not on_disk(used)


def test_inputs_named_in_any_way_by_a_deal_or_a_request_in_the_book_are_kept():
    by_iexec_name, escaped, by_request, by_closed_request = (
        stored_input(days_old=30) for _ in range(4)
    )
    DealFactory(params=json.dumps({"iexec_input_files": url(by_iexec_name)}))
    DealFactory(params=json.dumps({"input_files": [url(escaped)]}).replace("/", "\\/"))
    for stored, status in ((by_request, OrderStatus.OPEN), (by_closed_request, OrderStatus.FILLED)):
        Order.objects.create(
            chain_id=31337, hub="0x" + "1" * 40, digest=f"0x{stored.pk:064x}", kind="request",
            asset="0x" + "2" * 40, signer="0x" + "3" * 40, price=1, volume=1, remaining=1,
            tag="0x" + "0" * 64, status=status,
            message={"params": json.dumps({"input_files": [url(stored)]})},
        )  # fmt: skip

    assert services.inputs_clean() == 1

    assert set(InputFile.objects.all()) == {by_iexec_name, escaped, by_request}
    assert not on_disk(by_closed_request)


def test_old_files_of_the_input_store_without_a_row_are_deleted_too(settings):
    folder = settings.MEDIA_ROOT / "inputs"
    old, recent, other = (folder / ("a" * 32)), (folder / ("b" * 32)), (folder / "not-a-token")
    for path in (old, recent, other):
        path.mkdir(parents=True)
        (path / "data.bin").write_bytes(b"x")
    long_ago = (timezone.now() - datetime.timedelta(days=8)).timestamp()
    for path in (old, other):
        os.utime(path / "data.bin", (long_ago, long_ago))

    assert services.inputs_clean() == 1

    assert not old.exists()
    assert (recent / "data.bin").exists() and (other / "data.bin").exists()


def test_the_retention_comes_from_the_settings(settings):
    settings.INPUT_RETENTION_DAYS = 1
    stored_input(days_old=2)
    kept = stored_input(days_old=0.5)

    assert services.inputs_clean() == 1
    assert list(InputFile.objects.all()) == [kept]
