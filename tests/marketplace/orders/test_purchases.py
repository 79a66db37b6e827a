"""Buying: the quote finds the cheapest fitting orders and tells every failing check in words;
the match transaction, sent by the buyer's wallet, makes the deal it announced."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from eth_account import Account
from rest_framework.test import APIClient

from marketplace.chain.orders import (
    AppOrder,
    DatasetOrder,
    RequestOrder,
    WorkerpoolOrder,
    order_from_typed_message,
    sign_order,
    typed_data,
)
from marketplace.indexer.models import Category, Deal
from marketplace.orders.models import Order, OrderStatus
from marketplace.orders.parsing import TRUST_MAX
from pools.models import MemberStatus, PoolMember
from tests.chain_scaffold import ECT
from tests.factories.accounts import WalletFactory
from tests.factories.catalogue import AppFactory, DatasetFactory, WorkerpoolFactory
from tests.pools.members import admit

pytestmark = pytest.mark.django_db


def publish(market, order, key) -> Order:
    from marketplace.orders.services import order_publish

    kind = {AppOrder: "app", DatasetOrder: "dataset", WorkerpoolOrder: "workerpool"}[type(order)]
    return order_publish(
        kind=kind,
        order=typed_data(order, market.domain)["message"],
        signature="0x" + sign_order(order, market.domain, key).hex(),
    )


@pytest.fixture
def book(market):
    """Two app orders, one dataset order, three pool offers (trust 1 at 3 ECT, trust 1 at 2 ECT
    but only for the dataset-less deals of another requester, trust 5 at 4 ECT); the pool's
    four workers are its members (all agreeing they reach trust 16)."""
    admit(market.workerpool, market.workers)
    publish(market, AppOrder(app=market.app, appprice=2 * ECT, volume=50), market.app_owner.key)
    publish(market, AppOrder(app=market.app, appprice=ECT, volume=50), market.app_owner.key)
    publish(
        market,
        DatasetOrder(dataset=market.dataset, datasetprice=ECT // 2, volume=50),
        market.dataset_owner.key,
    )
    for price, trust, restrict in ((3, 1, None), (2, 1, Account.create().address), (4, 5, None)):
        pool = WorkerpoolOrder(
            workerpool=market.workerpool,
            workerpoolprice=price * ECT,
            volume=50,
            category=0,
            trust=trust,
            **({"requesterrestrict": restrict} if restrict else {}),
        )
        publish(market, pool, market.scheduler.key)
    return market


@pytest.fixture
def buyer(market) -> APIClient:
    client = APIClient()
    client.force_authenticate(WalletFactory(address=market.requester.address).user)
    return client


def quote(client, market, **fields):
    body = {
        "requester": market.requester.address,
        "app": market.app,
        "category": 0,
        "volume": 2,
        "args": "--width 64 input.svg out.png",
        **fields,
    }
    response = client.post("/api/v1/orders/quote/", body, "json")
    assert response.status_code == 200, response.json()
    return response.json()


def _match_changed(client, market, answer, **changed):
    """POST the quote's request to the match with `changed` fields, signed anew by its
    requester (as a script that builds its own request would)."""
    message = {**answer["request_typed_data"]["message"], **changed}
    request = order_from_typed_message(RequestOrder, message)
    return client.post(
        "/api/v1/orders/match/",
        {
            "request": message,
            "signature": "0x" + sign_order(request, market.domain, market.requester.key).hex(),
            "app_order": answer["app_order"]["digest"],
            "workerpool_order": answer["workerpool_order"]["digest"],
        },
        "json",
    )


def test_the_quote_picks_the_cheapest_orders_that_fit(buyer, book):
    answer = quote(buyer, book, dataset=book.dataset)
    assert answer["ready"] is True and answer["failures"] == []
    assert answer["app_order"]["price"] == "1"
    assert answer["dataset_order"]["price"] == "0.5"
    assert answer["workerpool_order"]["price"] == "3"  # the 2 ECT offer is for someone else
    assert (answer["task_price"], answer["total"]) == ("4.5", "9")
    assert answer["deposit_needed"] == "0"  # 1,000 ECT staked
    message = answer["request_typed_data"]["message"]
    assert message["appmaxprice"] == str(ECT) and message["workerpoolmaxprice"] == str(3 * ECT)
    assert message["params"] == '{"args":"--width 64 input.svg out.png"}'
    assert message["workerpool"] == "0x" + "00" * 20  # best offer: any pool


def test_the_quote_says_why_nothing_fits(buyer, book):
    answer = quote(buyer, book, trust=9)
    assert answer["ready"] is False
    assert [f["check"] for f in answer["failures"]] == ["NoWorkerpoolOrder"]
    assert "for category XS with trust 9 or more" in answer["failures"][0]["message"]
    too_many = quote(buyer, book, volume=51)
    assert {f["check"] for f in too_many["failures"]} == {"NoAppOrder", "NoWorkerpoolOrder"}


def test_a_pool_that_does_not_sell_the_category_says_what_it_sells_to_this_buyer(buyer, book):
    # Given an offer of S reserved for the buyer and one of M reserved for someone else
    for category, restrict in ((1, book.requester.address), (2, Account.create().address)):
        offer = WorkerpoolOrder(
            workerpool=book.workerpool,
            workerpoolprice=ECT,
            volume=50,
            category=category,
            trust=1,
            requesterrestrict=restrict,
        )
        publish(book, offer, book.scheduler.key)

    # When the buyer asks that pool for M
    answer = quote(buyer, book, workerpool=book.workerpool, category=2)

    # Then it is told the pool sells it XS (to anyone) and S (to it), not M
    assert [f["check"] for f in answer["failures"]] == ["NoWorkerpoolOrder"]
    assert "That pool sells XS, S only." in answer["failures"][0]["message"]
    assert quote(buyer, book, workerpool=book.workerpool, category=1)["ready"] is True


def test_the_quote_tells_how_much_to_deposit(buyer, book):
    answer = quote(buyer, book, volume=40, trust=5)  # 40 tasks at 1 + 4 ECT = 200 ECT: covered
    assert answer["deposit_needed"] == "0"
    book.hub.withdraw(sender=book.sender(book.requester), amount=900 * ECT)
    answer = quote(buyer, book, volume=40, trust=5)
    assert (answer["stake"], answer["total"], answer["deposit_needed"]) == ("100", "200", "100")
    assert answer["ready"] is True  # once deposited


def test_a_trust_the_pools_members_cannot_reach_is_not_ready_and_says_what_to_do(buyer, book):
    # Given a pool of two members in good standing (new workers, weight 2 each: trust 4)
    PoolMember.objects.filter(worker__in=[w.address for w in book.workers[2:]]).update(
        status=MemberStatus.REMOVED
    )

    # When the buyer asks for trust 5, from that pool or from the best offer
    for pool in (book.workerpool, ""):
        answer = quote(buyer, book, workerpool=pool, trust=5)

        # Then the quote is not ready, and says why and what to do
        assert answer["ready"] is False and answer["request_typed_data"] is None
        assert answer["failures"] == [
            {
                "check": "TrustOutOfReach",
                "message": "Trust 5 needs the agreement of 3 workers, and this pool has 2 "
                "members in good standing to run your tasks: the pool would give your tasks up at "
                "once and refund them, with nothing run. Choose trust 4 or less for this pool, or "
                "another pool.",
            }
        ]
    # Trust within their reach stays ready.
    assert quote(buyer, book, workerpool=book.workerpool, trust=4)["ready"] is True


def test_a_request_signed_for_a_trust_out_of_reach_is_not_sent_either(buyer, book):
    """A script may sign its own request: the match refuses what the quote would have."""
    PoolMember.objects.filter(worker__in=[w.address for w in book.workers[2:]]).update(
        status=MemberStatus.REMOVED
    )
    answer = quote(buyer, book, workerpool=book.workerpool, trust=4)
    assert answer["ready"] is True
    response = _match_changed(buyer, book, answer, trust="5")
    assert response.status_code == 400
    assert [f["check"] for f in response.json()["failures"]] == ["TrustOutOfReach"]
    assert response.json()["error"].startswith("Trust 5 needs the agreement of 3 workers")


def test_a_member_that_is_the_buyer_does_not_count_towards_the_trust(buyer, book):
    assert quote(buyer, book, trust=5)["ready"] is True  # four members: trust 16
    PoolMember.objects.filter(worker__in=[w.address for w in book.workers[2:]]).update(
        status=MemberStatus.REMOVED
    )
    admit(book.workerpool, [book.requester])  # a third member, but the buyer itself
    answer = quote(buyer, book, trust=5)
    assert [f["check"] for f in answer["failures"]] == ["TrustOutOfReach"]
    PoolMember.objects.all().update(status=MemberStatus.REMOVED)
    answer = quote(buyer, book, trust=1)
    assert answer["failures"] == [
        {
            "check": "TrustOutOfReach",
            "message": "This pool has no member in good standing to run your tasks: the pool "
            "would give your tasks up at once and refund them, with nothing run. Choose another "
            "pool.",
        }
    ]


def test_buying_someone_elses_wallet_is_refused(buyer, book):
    response = buyer.post(
        "/api/v1/orders/quote/",
        {"requester": book.app_owner.address, "app": book.app, "category": 0},
        "json",
    )
    assert response.status_code == 403
    assert "not one of your linked wallets" in response.json()["error"]


def _send(market, account, transaction) -> dict:
    w3 = market.w3
    tx = {
        "to": transaction["to"],
        "data": transaction["data"],
        "value": int(transaction.get("value", "0x0"), 16),
        "gas": int(transaction["gas"], 16),
        "chainId": w3.eth.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address),
        "gasPrice": w3.eth.gas_price,
    }
    raw = account.sign_transaction(tx).raw_transaction
    return w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))


def test_the_signed_request_becomes_the_announced_deal(buyer, book, index):
    answer = quote(buyer, book, dataset=book.dataset)
    signature = book.requester.sign_typed_data(full_message=answer["request_typed_data"])
    response = buyer.post(
        "/api/v1/orders/match/",
        {
            "request": answer["request_typed_data"]["message"],
            "signature": "0x" + bytes(signature.signature).hex(),
            "app_order": answer["app_order"]["digest"],
            "dataset_order": answer["dataset_order"]["digest"],
            "workerpool_order": answer["workerpool_order"]["digest"],
        },
        "json",
    )
    assert response.status_code == 200, response.json()
    match = response.json()
    assert match["transaction"]["from"].lower() == book.requester.address.lower()
    receipt = _send(book, book.requester, match["transaction"])
    assert receipt["status"] == 1
    (matched,) = book.hub.orders_matched(receipt)
    assert "0x" + matched.dealid.hex() == match["dealid"]
    assert match["deal_url"] == f"/deals/{match['dealid']}/"
    index()
    deal = Deal.objects.get(dealid=match["dealid"])
    assert (deal.volume, int(deal.app_price), int(deal.workerpool_price)) == (2, ECT, 3 * ECT)
    app_order = Order.objects.get(digest=answer["app_order"]["digest"])
    assert (app_order.consumed, app_order.remaining, app_order.status) == (2, 48, OrderStatus.OPEN)


def test_a_request_signed_by_another_wallet_is_refused_before_any_gas(buyer, book):
    answer = quote(buyer, book)
    signature = book.app_owner.sign_typed_data(full_message=answer["request_typed_data"])
    response = buyer.post(
        "/api/v1/orders/match/",
        {
            "request": answer["request_typed_data"]["message"],
            "signature": "0x" + bytes(signature.signature).hex(),
            "app_order": answer["app_order"]["digest"],
            "workerpool_order": answer["workerpool_order"]["digest"],
        },
        "json",
    )
    assert response.status_code == 400
    assert f"not by its requester {book.requester.address}" in response.json()["error"]


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("trust", str(2**300), "trust is above the largest uint256 (2**256 - 1)."),
        ("trust", str(2**64), "trust is above the highest trust the Hub takes"),
        ("category", str(2**256 - 1), "category is above the highest category number"),
    ],
)
def test_the_match_refuses_a_huge_trust_or_category_naming_it(buyer, book, field, value, error):
    answer = quote(buyer, book)
    message = {**answer["request_typed_data"]["message"], field: value}
    response = buyer.post(
        "/api/v1/orders/match/",
        {
            "request": message,
            "signature": "0x" + "11" * 65,
            "app_order": answer["app_order"]["digest"],
            "workerpool_order": answer["workerpool_order"]["digest"],
        },
        "json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(error)


def test_every_failing_check_is_told_before_the_transaction(buyer, book):
    answer = quote(buyer, book)
    response = _match_changed(buyer, book, answer, trust="9", appmaxprice="1")
    assert response.status_code == 400
    checks = [f["check"] for f in response.json()["failures"]]
    assert checks == ["TrustTooHigh", "PriceTooHigh"]
    assert "asks for trust 9 but the workerpool order offers at most 1" in response.json()["error"]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://localhost:8000/inputs/t/in.txt", "its host localhost names the worker's own"),
        ("http://127.0.0.1:9000/in.txt", "its host 127.0.0.1 is a loopback address"),
        ("http://[::1]/in.txt", "its host ::1 is a loopback address"),
        ("http://10.1.2.3/in.txt", "its host 10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "its host 169.254.169.254 is a link-local"),
        ("http://[::ffff:127.0.0.1]/", "its host ::ffff:127.0.0.1 is the IPv4-mapped form of"),
        ("ftp://files.example/in.txt", "only http and https URLs are downloaded, not ftp"),
    ],
)
def test_an_input_file_workers_would_refuse_is_refused_at_the_quote(url: str, rule: str):
    """Before any order is looked up, signed or deposited for: no chain needed to say no."""
    wallet = WalletFactory()
    client = APIClient()
    client.force_authenticate(wallet.user)
    response = client.post(
        "/api/v1/orders/quote/",
        {
            "requester": wallet.address,
            "app": "0x" + "11" * 20,
            "category": 0,
            "input_files": ["https://files.example/fine.txt", url],
        },
        "json",
    )
    assert response.status_code == 400
    refused = response.json()
    assert refused["field"] == "input_files"
    assert refused["error"].startswith(
        f"input_files[1]: Workers will not download the input file {url}: {rule}"
    )
    assert refused["error"].endswith(
        ". Give a public http(s) URL, or upload the file to this site (the buy form does it; "
        "POST /api/v1/orders/inputs/)."
    )


def _quote_refusal(**fields) -> dict:
    """The quote's answer to `fields`, from a signed-in buyer paying from their own wallet."""
    wallet = WalletFactory()
    client = APIClient()
    client.force_authenticate(wallet.user)
    body = {"requester": wallet.address, "app": "0x" + "11" * 20, "category": 0, **fields}
    response = client.post("/api/v1/orders/quote/", body, "json")
    assert response.status_code == 400, response.json()
    return response.json()


def test_a_file_url_as_input_file_is_refused_naming_its_place_in_the_list():
    assert _quote_refusal(input_files=["file:///etc/passwd"]) == {
        "error": "input_files[0]: Workers will not download the input file file:///etc/passwd: "
        "only http and https URLs are downloaded, not file. Give a public http(s) URL, or "
        "upload the file to this site (the buy form does it; POST /api/v1/orders/inputs/).",
        "field": "input_files",
    }


def test_an_input_file_too_long_to_be_a_url_is_refused_naming_its_place_in_the_list():
    fine = "https://files.example/in.txt"
    assert _quote_refusal(input_files=[fine, fine, "https://files.example/" + "a" * 2000]) == {
        "error": "input_files[2]: Ensure this field has no more than 2000 characters.",
        "field": "input_files",
    }


@pytest.mark.parametrize("category", [5, 2**31, 2**256, 2**300])
def test_the_quote_refuses_a_category_the_hub_does_not_have(category: int):
    assert _quote_refusal(category=category) == {
        "error": "category: The Hub has no such category: choose one of 0 (XS), 1 (S), 2 (M), "
        "3 (L), 4 (XL).",
        "field": "category",
    }


def test_the_quote_knows_the_categories_the_index_has_seen():
    Category.objects.create(
        chain_id=settings.CHAIN_ID, block_number=1, catid=5, name="XXL", time_ref=36_000
    )
    refused = _quote_refusal(category=6)
    assert refused["field"] == "category"
    assert refused["error"].endswith("3 (L), 4 (XL), 5 (XXL).")


@pytest.mark.parametrize("trust", [TRUST_MAX + 1, 2**64, 2**300])
def test_the_quote_refuses_a_trust_above_what_pools_sell_here(trust: int):
    assert _quote_refusal(trust=trust) == {
        "error": "trust: At most 1,000: the highest trust a buyer may ask here.",
        "field": "trust",
    }


def test_the_quote_takes_the_highest_trust_and_category_and_goes_on_to_the_wallet():
    """At the bounds the input is fine: what refuses next is the wallet (not the buyer's)."""
    client = APIClient()
    client.force_authenticate(WalletFactory().user)
    body = {
        "requester": WalletFactory().address,  # someone else's
        "app": "0x" + "11" * 20,
        "category": 4,
        "trust": TRUST_MAX,
    }
    response = client.post("/api/v1/orders/quote/", body, "json")
    assert response.status_code == 403
    assert response.json()["field"] == "requester"


def test_the_sell_form_caps_trust_where_the_quote_does():
    from marketplace.orders.forms import SellForm

    pool = WorkerpoolFactory().listing
    assert SellForm(listing=pool).fields["trust"].max_value == TRUST_MAX


def test_the_sites_own_input_store_is_fine_on_loopback(buyer, book):
    """The dev site on 127.0.0.1: its own input URLs are fine there, and only there."""
    upload = SimpleUploadedFile("in.txt", b"input")
    here = {"HTTP_HOST": "127.0.0.1:8000"}
    url = buyer.post("/api/v1/orders/inputs/", {"file": upload}, **here).json()["url"]
    assert url.startswith("http://127.0.0.1:8000/inputs/")
    body = {
        "requester": book.requester.address,
        "app": book.app,
        "category": 0,
        "input_files": [url, "https://files.example/in.txt"],
    }
    answer = buyer.post("/api/v1/orders/quote/", body, "json", **here).json()
    assert answer["ready"] is True
    params = json.loads(answer["request_typed_data"]["message"]["params"])
    assert params["input_files"] == [url, "https://files.example/in.txt"]
    elsewhere = buyer.post("/api/v1/orders/quote/", body, "json", HTTP_HOST="localhost:8000")
    assert elsewhere.status_code == 400
    assert "its host 127.0.0.1 is a loopback address" in elsewhere.json()["error"]


def test_a_signed_request_with_a_loopback_input_file_is_refused_before_any_gas(buyer, book):
    answer = quote(buyer, book)
    params = json.dumps({"args": "x", "input_files": ["http://127.0.0.1:6379/"]})
    response = _match_changed(buyer, book, answer, params=params)
    assert response.status_code == 400
    assert response.json()["field"] == "input_files"
    assert response.json()["error"].startswith(
        "input_files[0]: Workers will not download the input file http://127.0.0.1:6379/: its "
        "host 127.0.0.1 "
        "is a loopback address"
    )
    assert "transaction" not in response.json()


# What the task reads: refused before money moves, warned about, shown as a command line.


@pytest.fixture
def listed(book):
    """The market's app and dataset listed on this site: the app reads a dataset (its default
    arguments name {dataset}), the dataset's file is drawing.svg."""
    app = AppFactory(
        listing__chain_address=book.app, default_args="--width 64 {dataset} /output/out.png"
    )
    DatasetFactory(listing__chain_address=book.dataset, original_name="drawing.svg")
    return app


def test_an_app_that_needs_a_dataset_is_refused_without_one(buyer, book, listed):
    answer = quote(buyer, book, args=listed.default_args)
    assert answer["ready"] is False and answer["request_typed_data"] is None
    (failure,) = answer["failures"]
    assert failure["check"] == "NeedsDataset"
    assert failure["message"].startswith("Your arguments name {dataset} but no dataset is chosen")
    # Even with arguments that do not name it: the app reads a dataset.
    answer = quote(buyer, book, args="--width 64 /output/out.png")
    assert answer["ready"] is False
    assert [f["check"] for f in answer["failures"]] == ["NeedsDataset"]
    assert (
        "This app reads a dataset (its default arguments, “--width 64 {dataset} "
        in (answer["failures"][0]["message"])
    )


def test_arguments_naming_the_dataset_without_one_are_refused_for_any_app(buyer, book):
    answer = quote(buyer, book, args="{dataset} /output/out.svg")  # the app is not listed here
    assert answer["ready"] is False
    assert [f["check"] for f in answer["failures"]] == ["NeedsDataset"]
    assert answer["command_line"] == "app {dataset} /output/out.svg"


def test_the_quote_gives_the_command_line_the_worker_runs(buyer, book, listed):
    answer = quote(buyer, book, dataset=book.dataset, args=listed.default_args)
    assert answer["ready"] is True and answer["warnings"] == []
    assert answer["command_line"] == "app --width 64 /input/drawing.svg /output/out.png"


def test_arguments_that_read_no_input_for_an_app_that_needs_one_are_warned_of(buyer, book, listed):
    answer = quote(buyer, book, dataset=book.dataset, args="--width 64 /output/out.png")
    assert answer["ready"] is True  # a warning: the buyer may know better
    (warning,) = answer["warnings"]
    assert warning["check"] == "ReadsNoInput"
    assert (
        "this app will read nothing: the dataset is at /input/drawing.svg" in (warning["message"])
    )
    # Naming a file of the input folder is reading input: then the unread dataset is the news.
    answer = quote(buyer, book, dataset=book.dataset, args="/input/other.svg /output/out.png")
    assert [w["check"] for w in answer["warnings"]] == ["DatasetNotNamed"]
    # The app needs its dataset: the warning does not suggest going without one.
    message = answer["warnings"][0]["message"]
    assert message.endswith("Put {dataset} where the app reads it.") and "no dataset" not in message


def test_arguments_that_write_nothing_to_output_are_warned_of(buyer, book, listed):
    answer = quote(buyer, book, dataset=book.dataset, args="--width 64 {dataset} /tmp/out.png")
    assert answer["ready"] is True
    (warning,) = answer["warnings"]
    assert warning["check"] == "WritesNoOutput"
    assert "the only folder whose files come back in the result" in warning["message"]
    assert f"“{listed.default_args}”" in warning["message"]


def test_a_dataset_the_arguments_never_name_is_warned_of(buyer, book):
    answer = quote(buyer, book, dataset=book.dataset, args="--help")
    assert answer["ready"] is True
    assert [w["check"] for w in answer["warnings"]] == ["DatasetNotNamed"]
    assert answer["command_line"] == "app --help"


def test_a_signed_request_naming_the_dataset_without_one_is_refused_before_any_gas(buyer, book):
    answer = quote(buyer, book)  # "--width 64 input.svg out.png": fine
    response = _match_changed(buyer, book, answer, params='{"args":"{dataset}"}')
    assert response.status_code == 400
    assert [f["check"] for f in response.json()["failures"]] == ["NeedsDataset"]
    assert "transaction" not in response.json()
