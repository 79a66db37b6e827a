"""Sign-In with Ethereum for the site's pages (marketplace.accounts.api: the endpoints
wallet.js calls), with the page's session and CSRF token."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from marketplace.accounts import siwe
from marketplace.accounts.models import SiweNonce, Wallet
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.accounts.helpers import ALICE, ALICE_KEY, BOB, BOB_KEY, CHAIN_ID, sign

User = get_user_model()


def _post(client: Client, name: str, body) -> tuple[int, dict]:
    response = client.post(
        reverse(name),
        data=body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
    )
    return response.status_code, response.json()


def _message(client: Client, address: str = ALICE) -> str:
    status, body = _post(client, "siwe_message", {"address": address.lower(), "chainId": CHAIN_ID})
    assert status == 200, body
    return body["message"]


@pytest.mark.django_db
def test_message_is_built_for_the_request_host(client):
    message = siwe.parse(_message(client))

    assert message.domain == "testserver"
    assert message.uri == "http://testserver/"
    assert message.address == ALICE
    assert message.chain_id == CHAIN_ID
    assert SiweNonce.objects.get().nonce == message.nonce


@pytest.mark.django_db
def test_message_uses_the_configured_domain(client, settings):
    settings.SIWE_DOMAIN = "superedge.example"

    assert siwe.parse(_message(client)).domain == "superedge.example"


@pytest.mark.django_db
def test_message_on_the_wrong_network_is_a_400_with_what_to_do(client):
    status, body = _post(client, "siwe_message", {"address": ALICE, "chainId": 1})

    assert status == 400
    assert body == {
        "error": "Your wallet is on chain 1, the wrong network:"
        " switch MetaMask to chain 31337 and sign in again."
    }
    assert not SiweNonce.objects.exists()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            "not json",
            'The request body must be a JSON object with "address", "chainId".',
        ),
        (
            "[1, 2]",
            'The request body must be a JSON object with "address", "chainId".',
        ),
        (
            {"address": ALICE},
            'Missing field chainId: send a JSON object with "address", "chainId".',
        ),
        ({"address": ALICE, "chainId": "31337"}, "The field chainId must be an integer."),
        ({"address": ALICE, "chainId": True}, "The field chainId must be an integer."),
        ({"address": 42, "chainId": CHAIN_ID}, "The field address must be a string."),
    ],
    ids=["not json", "not an object", "missing field", "string chain", "bool chain", "int address"],
)
@pytest.mark.django_db
def test_message_with_a_bad_body_is_a_400_with_a_clear_message(client, body, error):
    assert _post(client, "siwe_message", body) == (400, {"error": error})
    assert not SiweNonce.objects.exists()


@pytest.mark.django_db
def test_message_refuses_get(client):
    assert client.get(reverse("siwe_message")).status_code == 405


@pytest.mark.django_db
def test_verify_signs_in_a_new_user(client):
    text = _message(client)

    status, body = _post(
        client, "siwe_verify", {"message": text, "signature": sign(text, ALICE_KEY)}
    )

    user = User.objects.get()
    assert (status, body) == (200, {"ok": True, "address": ALICE, "redirect": "/"})
    assert client.session["_auth_user_id"] == str(user.pk)
    assert Wallet.objects.get().user == user


@pytest.mark.django_db
def test_verify_redirects_to_a_safe_next_only(client):
    text = _message(client)
    signature = sign(text, ALICE_KEY)

    status, body = _post(
        client,
        "siwe_verify",
        {"message": text, "signature": signature, "next": "https://evil.test/"},
    )
    assert (status, body["redirect"]) == (200, "/")

    text = _message(client)
    _status, body = _post(
        client,
        "siwe_verify",
        {"message": text, "signature": sign(text, ALICE_KEY), "next": "/apps/"},
    )
    assert body["redirect"] == "/apps/"


@pytest.mark.django_db
def test_verify_while_signed_in_links_the_wallet_and_returns_to_the_wallet_page(client):
    user = UserFactory()
    client.force_login(user)
    text = _message(client, BOB)

    status, body = _post(client, "siwe_verify", {"message": text, "signature": sign(text, BOB_KEY)})

    assert (status, body) == (200, {"ok": True, "address": BOB, "redirect": "/accounts/wallets/"})
    assert client.session["_auth_user_id"] == str(user.pk)
    assert list(user.wallets.values_list("address", flat=True)) == [BOB]
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_verify_refuses_a_wallet_of_another_account_and_keeps_the_session(client):
    WalletFactory(address=ALICE)
    user = UserFactory()
    client.force_login(user)
    text = _message(client)

    status, body = _post(
        client, "siwe_verify", {"message": text, "signature": sign(text, ALICE_KEY)}
    )

    assert status == 400
    assert body["error"].startswith(f"The wallet {ALICE} is linked to another account")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert not user.wallets.exists()


@pytest.mark.django_db
def test_verify_with_a_wrong_signature_is_a_400_and_nobody_is_signed_in(client):
    text = _message(client)

    status, body = _post(client, "siwe_verify", {"message": text, "signature": sign(text, BOB_KEY)})

    assert status == 400
    assert body == {
        "error": f"The message was signed by {BOB} but claims {ALICE}:"
        f" in MetaMask, switch to {ALICE} and sign again."
    }
    assert "_auth_user_id" not in client.session
    assert not User.objects.exists()


@pytest.mark.django_db
def test_verify_of_a_message_for_another_host_is_a_400(client):
    text = _message(client)

    response = client.post(
        reverse("siwe_verify"),
        data=json.dumps({"message": text, "signature": sign(text, ALICE_KEY)}),
        content_type="application/json",
        headers={"host": "localhost"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == (
        "This message asks to sign in to testserver, not localhost: sign in from localhost itself."
    )
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_verify_replayed_is_a_400(client):
    text = _message(client)
    signed = {"message": text, "signature": sign(text, ALICE_KEY)}
    _post(client, "siwe_verify", signed)
    client.logout()

    status, body = _post(client, "siwe_verify", signed)

    assert status == 400
    assert body["error"].startswith("This sign-in request was already used or is unknown")
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_verify_with_missing_fields_is_a_400(client):
    assert _post(client, "siwe_verify", {"message": "hello"}) == (
        400,
        {"error": 'Missing field signature: send a JSON object with "message", "signature".'},
    )


@pytest.mark.django_db
def test_siwe_endpoints_require_the_csrf_token():
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        reverse("siwe_message"),
        data=json.dumps({"address": ALICE, "chainId": CHAIN_ID}),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"].endswith(
        ": reload the page (its security token is out of date), then try again."
    )
    assert not SiweNonce.objects.exists()


def _with_csrf_token(client: Client) -> dict[str, str]:
    """The header a page's script sends: the CSRF cookie's token (a page sets the cookie)."""
    client.get(reverse("wallet_list") if "_auth_user_id" in client.session else "/")
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}


@pytest.mark.django_db
def test_a_page_with_its_csrf_token_signs_in_and_links_a_second_wallet():
    # As a browser does: the CSRF token checked on every request, signed in or not.
    client = Client(enforce_csrf_checks=True)

    def post(name: str, body: dict) -> tuple[int, dict]:
        response = client.post(
            reverse(name), json.dumps(body), "application/json", **_with_csrf_token(client)
        )
        return response.status_code, response.json()

    for address, key in ((ALICE, ALICE_KEY), (BOB, BOB_KEY)):
        status, built = post("siwe_message", {"address": address, "chainId": CHAIN_ID})
        assert status == 200, built
        signed = {"message": built["message"], "signature": sign(built["message"], key)}
        status, verified = post("siwe_verify", signed)
        assert status == 200, verified

    assert verified["redirect"] == reverse("wallet_list")  # linked, while signed in
    user = User.objects.get()
    assert sorted(Wallet.objects.filter(user=user).values_list("address", flat=True)) == sorted(
        [ALICE, BOB]
    )


def test_deeply_nested_or_huge_json_is_refused_without_parsing(client):
    response = client.post(
        "/accounts/siwe/message/", data="[" * 100_000, content_type="application/json"
    )
    assert response.status_code == 400
    assert "over 8192 bytes" in response.json()["error"]


def test_python_recursion_limit_is_the_default_after_startup():
    import sys

    assert sys.getrecursionlimit() == 1000


@pytest.mark.django_db
def test_nonce_requests_are_rate_limited(client):
    from marketplace.accounts.models import SiweNonce

    address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    codes = [
        client.post(
            "/accounts/siwe/message/",
            {"address": address, "chainId": 31337},
            content_type="application/json",
        ).status_code
        for _ in range(31)
    ]
    assert codes[:30] == [200] * 30
    assert codes[30] == 429
    assert SiweNonce.objects.count() == 30


@pytest.mark.django_db
def test_nonce_limit_is_per_client_behind_a_trusted_proxy_and_spoofing_does_not_help(
    client, settings
):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

    def ask(remote_addr: str, forwarded_for: str) -> int:
        return client.post(
            "/accounts/siwe/message/",
            {"address": address, "chainId": 31337},
            content_type="application/json",
            REMOTE_ADDR=remote_addr,
            HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code

    behind_proxy = [ask("10.0.0.5", "198.51.100.1") for _ in range(31)]
    other_client = ask("10.0.0.5", "198.51.100.2")
    direct_spoofed = [ask("203.0.113.7", f"198.51.100.{n}") for n in range(31)]

    assert behind_proxy[30] == 429
    assert other_client == 200
    assert direct_spoofed[:30] == [200] * 30
    assert direct_spoofed[30] == 429
