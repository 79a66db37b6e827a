"""The order book's API: every bad input gets a 4xx naming the problem, and nothing stored."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from marketplace.chain.orders import (
    AppOrder,
    OrderOperation,
    WorkerpoolOrder,
    hub_domain,
    sign_order,
    typed_data,
)
from marketplace.orders.models import InputFile, Order, OrderStatus
from tests.chain_scaffold import ECT, metamask_sign
from tests.factories.accounts import UserFactory
from tests.factories.deals import DealFactory

pytestmark = pytest.mark.django_db

PUBLISH = "/api/v1/orders/publish/"


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


def signed(market, order, key, domain=None) -> dict:
    domain = domain or market.domain
    kind = "app" if isinstance(order, AppOrder) else "workerpool"
    return {
        "kind": kind,
        "order": typed_data(order, domain)["message"],
        "signature": "0x" + sign_order(order, domain, key).hex(),
    }


def app_order(market, **fields) -> AppOrder:
    return AppOrder(app=market.app, appprice=fields.pop("appprice", 2 * ECT), volume=5, **fields)


def test_a_signed_order_is_published_and_listed(api, market):
    response = api.post(PUBLISH, signed(market, app_order(market), market.app_owner.key), "json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["price"], body["price_units"]) == ("app", "2", str(2 * ECT))
    assert (body["status"], body["remaining"]) == ("open", 5)
    listed = api.get("/api/v1/orders/", {"asset": market.app}).json()
    assert [o["digest"] for o in listed["results"]] == [body["digest"]]
    assert api.get(f"/api/v1/orders/{body['digest']}/").json()["signer"] == (
        market.app_owner.address
    )


@pytest.mark.parametrize(
    "text", ["²", "①", "٣", "1" * 79, pytest.param("9" * 5000, id="5000 digits"), "-1", " "]
)
def test_a_uint_field_takes_ascii_digits_only(text):
    from rest_framework import serializers

    from marketplace.orders.api import _Uint

    with pytest.raises(serializers.ValidationError):
        _Uint().run_validation(text)
    assert _Uint().run_validation(str(2**256 - 1)) == 2**256 - 1


@pytest.mark.parametrize("tag", ["%C2%B2", "%E2%91%A0", "tee,%C2%B2", "TEE", "63", "tee%2C+3"])
def test_a_tag_that_is_not_one_is_a_400_naming_it(client, tag):
    response = client.get(f"/api/v1/orders/?tag={tag}")

    assert response.status_code == 400
    assert response.json()["field"] == "tag"
    assert "tee, tdx or bit numbers 0 to 62" in response.json()["error"]


def _bad(market) -> dict[str, tuple[object, str]]:
    """Bad publish bodies, each with the words its refusal must contain."""
    good = signed(market, app_order(market), market.app_owner.key)

    def with_order(**changes) -> dict:
        return {**good, "order": {**good["order"], **changes}}

    other_chain = hub_domain(chain_id=1, hub_address=market.hub.address)
    other_hub = hub_domain(chain_id=31337, hub_address=market.dataset)
    return {
        "not json": ("{kind: app", "JSON parse error"),
        "a list": ([1, 2], "Send a JSON object"),
        "wrong kind": ({**good, "kind": "car"}, "kind must be one of"),
        "kind as a list": ({**good, "kind": ["app"]}, "kind must be one of"),
        "huge number": (with_order(appprice="1" * 5000), "above the largest uint256"),
        "volume over the book's": (with_order(volume=str(2**64)), "the most tasks an order"),
        "price as float": (with_order(appprice=1.5), "appprice must be a whole number"),
        "price as words": (with_order(appprice="two"), "appprice must be a whole number"),
        "price as bool": (with_order(appprice=True), "appprice must be a whole number"),
        "above uint256": (with_order(appprice=str(2**256)), "above the largest uint256"),
        "negative volume": (with_order(volume=-3), "volume cannot be negative"),
        "zero volume": (with_order(volume=0), "volume must be at least 1"),
        "bad address": (with_order(app="0x1234"), "app must be an address"),
        "bad salt": (with_order(salt="0x12"), "salt must be 32 bytes"),
        "unknown field": (with_order(colour="red"), "has no field colour"),
        "bad signature hex": ({**good, "signature": "0xzz"}, "signature must be 0x and hex"),
        "short signature": ({**good, "signature": "0x" + "ab" * 30}, "not 30"),
        "garbage signature": ({**good, "signature": "0x" + "ab" * 65}, "Invalid signature"),
        "non-owner": (
            signed(market, app_order(market), market.requester.key),
            "only they can sign",
        ),
        "other chain": (
            {
                **signed(market, app_order(market), market.app_owner.key, other_chain),
                "domain": other_chain.as_typed_data(),
            },
            "signed for chain 1",
        ),
        "other hub": (
            {
                **signed(market, app_order(market), market.app_owner.key, other_hub),
                "domain": other_hub.as_typed_data(),
            },
            "signed for the contract",
        ),
        "unknown asset": (
            signed(
                market,
                AppOrder(app=market.requester.address, appprice=1, volume=1),
                market.app_owner.key,
            ),
            "is not registered on this chain",
        ),
    }


def test_every_bad_input_is_refused_with_a_reason_and_nothing_stored(api, market):
    for name, (body, words) in _bad(market).items():
        if isinstance(body, str):
            response = api.post(PUBLISH, body, content_type="application/json")
        else:
            response = api.post(PUBLISH, body, "json")
        assert 400 <= response.status_code < 500, (name, response.status_code)
        assert words in response.json()["error"], (name, response.json())
    assert not Order.objects.exists()


def test_params_that_are_not_a_json_object_are_refused(api, market):
    from marketplace.chain.orders import RequestOrder

    request = RequestOrder(
        app=market.app,
        appmaxprice=1,
        workerpoolmaxprice=1,
        requester=market.requester.address,
        category=0,
        beneficiary=market.requester.address,
        params="{not json",
    )
    body = {
        "kind": "request",
        "order": typed_data(request, market.domain)["message"],
        "signature": "0x" + sign_order(request, market.domain, market.requester.key).hex(),
    }
    response = api.post(PUBLISH, body, "json")
    assert response.status_code == 400
    assert response.json()["field"] == "params"
    assert "params is not valid JSON" in response.json()["error"]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:18081/book", "http://10.0.0.1/x", "file:///etc/passwd"]
)
def test_a_request_naming_input_files_workers_would_refuse_is_not_published(api, market, url):
    from marketplace.chain.orders import RequestOrder

    request = RequestOrder(
        app=market.app,
        appmaxprice=1,
        workerpoolmaxprice=1,
        requester=market.requester.address,
        category=0,
        beneficiary=market.requester.address,
        params=json.dumps({"args": "", "input_files": [url]}),
    )
    body = {
        "kind": "request",
        "order": typed_data(request, market.domain)["message"],
        "signature": "0x" + sign_order(request, market.domain, market.requester.key).hex(),
    }

    refused = api.post(PUBLISH, body, "json")

    assert refused.status_code == 400 and refused.json()["field"] == "input_files"
    assert "Workers will not download the input file" in refused.json()["error"]
    assert not Order.objects.exists()


def test_a_replayed_or_consumed_order_is_refused(api, market, index):
    body = signed(market, app_order(market), market.app_owner.key)
    assert api.post(PUBLISH, body, "json").status_code == 201
    replay = api.post(PUBLISH, body, "json")
    assert replay.status_code == 409
    assert "already in the book" in replay.json()["error"]

    orders = market.sign_orders(app_price=ECT, dataset_price=None, workerpool_price=ECT)
    market.match(orders)
    index()
    consumed = api.post(PUBLISH, signed(market, orders.workerpool, market.scheduler.key), "json")
    assert consumed.status_code == 400
    assert "fully consumed on chain" in consumed.json()["error"]
    assert Order.objects.count() == 1


def test_writes_need_authentication(market):
    anonymous = APIClient(enforce_csrf_checks=True)
    body = signed(market, app_order(market), market.app_owner.key)
    response = anonymous.post(PUBLISH, body, "json")
    assert response.status_code == 401
    assert "credentials were not provided" in response.json()["error"]
    assert not Order.objects.exists()


def test_a_session_write_without_csrf_is_refused(client, market):
    user = UserFactory()
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    body = signed(market, app_order(market), market.app_owner.key)
    response = csrf_client.post(PUBLISH, body, "json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]
    assert not Order.objects.exists()


def test_the_list_filters_sorts_by_price_then_age_and_paginates(api, market):
    digests = []
    for price in (3, 1, 2, 1):
        body = signed(market, app_order(market, appprice=price * ECT), market.app_owner.key)
        digests.append(api.post(PUBLISH, body, "json").json()["digest"])
    for trust, price in ((1, 5), (4, 6)):
        pool = WorkerpoolOrder(
            workerpool=market.workerpool, workerpoolprice=price * ECT, category=0, trust=trust
        )
        api.post(PUBLISH, signed(market, pool, market.scheduler.key), "json")

    listed = api.get("/api/v1/orders/", {"kind": "app"}).json()
    assert [o["digest"] for o in listed["results"]] == [
        digests[1],
        digests[3],
        digests[2],
        digests[0],
    ]
    cheap = api.get("/api/v1/orders/", {"kind": "app", "price_max": "1.5"}).json()
    assert cheap["count"] == 2
    assert api.get("/api/v1/orders/", {"price_min": "2.5", "price_max": "5"}).json()["count"] == 2
    trusted = api.get("/api/v1/orders/", {"kind": "workerpool", "min_trust": 2}).json()
    assert [o["trust"] for o in trusted["results"]] == [4]
    assert api.get("/api/v1/orders/", {"owner": market.scheduler.address}).json()["count"] == 2
    assert api.get("/api/v1/orders/", {"category": 0}).json()["count"] == 2
    assert api.get("/api/v1/orders/", {"min_volume": 2}).json()["count"] == 4
    assert api.get("/api/v1/orders/", {"tag": "tee"}).json()["count"] == 0
    assert api.get("/api/v1/orders/", {"page": 2}).status_code == 404  # 24 a page
    bad = api.get("/api/v1/orders/", {"price_max": "1.0000000001"})
    assert bad.status_code == 400 and "9 decimals" in bad.json()["error"]
    assert api.get("/api/v1/orders/", {"tag": "gpu"}).status_code == 400


def test_unpublishing_says_the_order_stays_valid_and_offers_the_close(api, market, index):
    from marketplace.accounts.models import Wallet

    order = app_order(market)
    digest = api.post(PUBLISH, signed(market, order, market.app_owner.key), "json").json()["digest"]
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    refused = stranger.post(f"/api/v1/orders/{digest}/unpublish/")
    assert refused.status_code == 403 and "Only the order's signer" in refused.json()["error"]

    owner = APIClient()
    owner.force_authenticate(Wallet.objects.get(address=market.app_owner.address).user)
    response = owner.post(f"/api/v1/orders/{digest}/unpublish/").json()
    assert response["still_valid_on_chain"] is True
    assert "still valid on chain" in response["message"]
    assert response["order"]["status"] == "cancelled"

    close = owner.post(f"/api/v1/orders/{digest}/close/").json()["transaction"]
    assert close["from"].lower() == market.app_owner.address.lower()
    assert close["to"] == market.hub.address
    # The wallet sends it: the order is closed on chain.
    tx = {**close, "gas": int(close["gas"], 16)}
    tx.pop("from")
    signed_tx = market.app_owner.sign_transaction(
        {
            **{k: int(v, 16) if k in ("value", "chainId") else v for k, v in tx.items()},
            "nonce": market.w3.eth.get_transaction_count(market.app_owner.address),
            "gasPrice": market.w3.eth.gas_price,
        }
    )
    market.w3.eth.wait_for_transaction_receipt(
        market.w3.eth.send_raw_transaction(signed_tx.raw_transaction)
    )
    assert market.hub.consumed(digest) == order.volume
    index()
    assert Order.objects.get().status == OrderStatus.CANCELLED


def test_an_unknown_order_is_404(api):
    response = api.get("/api/v1/orders/0x" + "00" * 32 + "/")
    assert response.status_code == 404
    assert "No order" in response.json()["error"]


def test_the_typed_data_api_fills_defaults_with_a_fresh_salt(api, market):
    body = {"kind": "app", "order": {"app": market.app, "appprice": "5", "volume": 3}}
    first = api.post("/api/v1/orders/typed-data/", body, "json").json()
    second = api.post("/api/v1/orders/typed-data/", body, "json").json()
    assert first["typed_data"]["primaryType"] == "AppOrder"
    assert first["typed_data"]["message"]["requesterrestrict"] == "0x" + "00" * 20
    assert first["typed_data"]["message"]["salt"] != second["typed_data"]["message"]["salt"]
    assert first["typed_data"]["domain"]["verifyingContract"] == market.hub.address
    bad = api.post("/api/v1/orders/typed-data/", {**body, "order": {"app": "x"}}, "json")
    assert bad.status_code == 400 and "app must be an address" in bad.json()["error"]


def test_presigned_orders_are_published_without_a_signature(api, market):
    order = app_order(market)
    body = {"kind": "app", "order": typed_data(order, market.domain)["message"]}
    refused = api.post(PUBLISH, body, "json")
    assert refused.status_code == 400 and "presign" in refused.json()["error"]
    market.hub.manage_order_call(order=order, operation=OrderOperation.SIGN).send(
        market.sender(market.app_owner)
    )
    assert api.post(PUBLISH, body, "json").status_code == 201


def test_a_batch_answers_per_order(api, market):
    good = signed(market, app_order(market), market.app_owner.key)
    bad = signed(market, app_order(market), market.requester.key)
    response = api.post(PUBLISH, {"orders": [good, bad]}, "json")
    assert response.status_code == 207
    body = response.json()
    assert body["accepted"] == 1
    assert [r["status"] for r in body["results"]] == [201, 400]
    assert json.dumps(body).count("only they can sign") == 1


def test_an_order_signed_by_metamasks_eth_sig_util_is_accepted(api, market):
    """What MetaMask signs for the typed data this API gives is what the book accepts."""
    body = {"kind": "app", "order": {"app": market.app, "appprice": str(3 * ECT), "volume": "4"}}
    typed = api.post("/api/v1/orders/typed-data/", body, "json").json()
    cases = [{"data": typed["typed_data"], "privateKey": market.app_owner.key.hex()}]
    (result,) = metamask_sign(cases)
    assert result["digest"] == typed["digest"]
    response = api.post(
        PUBLISH,
        {"kind": "app", "order": typed["typed_data"]["message"], "signature": result["signature"]},
        "json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["digest"] == typed["digest"]
    assert response.json()["signer"] == market.app_owner.address


def test_a_batch_where_every_order_is_refused_is_a_400(api, market):
    bad = signed(market, app_order(market), market.requester.key)
    response = api.post(PUBLISH, {"orders": [bad]}, "json")
    assert response.status_code == 400
    assert response.json()["accepted"] == 0
    assert not Order.objects.exists()


def test_an_empty_batch_is_refused_saying_no_orders_were_given(api):
    response = api.post(PUBLISH, {"orders": []}, "json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "No orders given: orders is an empty list; send at least one "
        "{kind, order, signature} (at most 1000).",
        "field": "orders",
    }
    assert not Order.objects.exists()


# ---------------------------------------------------------------------- input files

INPUTS = "/api/v1/orders/inputs/"


def _upload(client, name: str, content: bytes):
    return client.post(INPUTS, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def _stored_inputs(settings) -> list[str]:
    folder = settings.MEDIA_ROOT / "inputs"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_an_input_is_stored_listed_and_deleted_by_its_owner(
    api, settings, django_capture_on_commit_callbacks
):
    uploaded = _upload(api, "data set.csv", b"a,b\n1,2\n")
    assert uploaded.status_code == 201
    stored = uploaded.json()
    assert stored["name"] == "data_set.csv" and stored["size"] == 8
    assert stored["url"] == f"http://testserver/inputs/{stored['token']}/data_set.csv"
    assert _stored_inputs(settings) == [f"{stored['token']}/data_set.csv"]

    listed = api.get(INPUTS).json()
    assert [item["token"] for item in listed["inputs"]] == [stored["token"]]
    assert listed["used"] == {"files": 1, "bytes": 8}
    assert listed["quota"] == {"files": 100, "bytes": 200 * 1024 * 1024}
    assert listed["retention_days"] == 7

    with django_capture_on_commit_callbacks(execute=True):
        deleted = api.delete(f"{INPUTS}{stored['token']}/")
    assert deleted.status_code == 204
    assert InputFile.objects.count() == 0
    assert _stored_inputs(settings) == []
    assert not (settings.MEDIA_ROOT / "inputs" / stored["token"]).exists()
    assert APIClient().get(stored["url"]).status_code == 404


def test_an_input_over_the_quota_is_refused_and_nothing_is_stored(api, settings):
    settings.INPUT_QUOTA_BYTES = 1000
    first = _upload(api, "first.bin", bytes(600))
    assert first.status_code == 201

    refused = _upload(api, "second.bin", bytes(600))

    assert refused.status_code == 413
    assert refused.json() == {
        "error": "second.bin (600 bytes) does not fit in your input quota of 100 files and "
        "1,000 bytes: you store 1 file of 600 bytes. Delete inputs you no longer need (DELETE "
        "/api/v1/orders/inputs/<token>/; GET /api/v1/orders/inputs/ lists yours), or wait: "
        "inputs no deal uses any more are deleted 7 days after their upload.",
        "field": "file",
    }
    assert InputFile.objects.count() == 1
    assert _stored_inputs(settings) == [f"{first.json()['token']}/first.bin"]


def test_the_quota_counts_files_too_and_is_per_user(api, settings):
    settings.INPUT_QUOTA_FILES = 2
    assert _upload(api, "a.txt", b"a").status_code == 201
    assert _upload(api, "b.txt", b"b").status_code == 201

    refused = _upload(api, "c.txt", b"c")
    assert refused.status_code == 413
    assert "quota of 2 files" in refused.json()["error"]
    assert "you store 2 files" in refused.json()["error"]

    other = APIClient()
    other.force_authenticate(UserFactory())
    assert _upload(other, "c.txt", b"c").status_code == 201
    assert InputFile.objects.count() == 3


def test_new_accounts_on_one_network_share_its_quota(settings):
    settings.INPUT_QUOTA_BYTES_PER_IP = 1000
    stored = []
    for size in (600, 600):  # two fresh accounts, each far within its own quota
        client = APIClient()
        client.force_authenticate(UserFactory())
        stored.append(_upload(client, "a.bin", bytes(size)))

    assert stored[0].status_code == 201
    assert stored[1].status_code == 413
    assert "your network's input quota of 1,000 bytes" in stored[1].json()["error"]
    assert InputFile.objects.count() == 1
    elsewhere = APIClient(REMOTE_ADDR="192.0.2.9")
    elsewhere.force_authenticate(UserFactory())
    assert _upload(elsewhere, "a.bin", bytes(600)).status_code == 201


def test_an_input_over_the_file_limit_is_refused(api, settings):
    settings.INPUT_MAX_BYTES = 10

    refused = _upload(api, "big.bin", bytes(11))

    assert refused.status_code == 400
    assert refused.json()["error"] == "big.bin is 11 bytes: inputs are at most 10 bytes."
    assert not InputFile.objects.exists()


def test_nobody_deletes_or_lists_anothers_inputs(api, settings):
    token = _upload(api, "mine.txt", b"mine").json()["token"]
    other = APIClient()
    other.force_authenticate(UserFactory())

    assert other.get(INPUTS).json()["inputs"] == []
    refused = other.delete(f"{INPUTS}{token}/")

    assert refused.status_code == 404
    assert refused.json()["error"] == (
        f"You have no input file {token}: GET /api/v1/orders/inputs/ lists yours."
    )
    assert InputFile.objects.filter(token=token).exists()
    assert APIClient().get(f"{INPUTS}").status_code in (401, 403)


def test_an_input_a_running_deal_uses_is_not_deleted(api, settings):
    stored = _upload(api, "needed.txt", b"x").json()
    deal = DealFactory(params=json.dumps({"args": "", "input_files": [stored["url"]]}))

    refused = api.delete(f"{INPUTS}{stored['token']}/")

    assert refused.status_code == 409
    assert refused.json()["error"] == (
        f"needed.txt is an input of deal {deal.dealid}, whose tasks may still run: delete it "
        "once they are done (or the request is off the book)."
    )
    assert InputFile.objects.filter(token=stored["token"]).exists()
    assert _stored_inputs(settings) == [f"{stored['token']}/needed.txt"]
