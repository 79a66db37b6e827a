"""Scripts authenticate to the JSON API with a token got by signing a challenge (/api/v1/auth/)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from marketplace.accounts import services, siwe
from marketplace.accounts.models import ApiToken, SiweNonce, Wallet
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.accounts.helpers import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    CHAIN_ID,
    make_message,
    sign,
)

User = get_user_model()

CHALLENGE = "/api/v1/auth/challenge/"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/auth/me/"
# What APIClient's requests are served as: SIWE_DOMAIN is empty in tests.
HOST = "testserver"
SITE_URI = "http://testserver/"


@pytest.fixture
def api():
    return APIClient()


def _challenge(api: APIClient, address: str = ALICE) -> str:
    response = api.post(CHALLENGE, {"address": address.lower(), "chainId": CHAIN_ID}, "json")
    assert response.status_code == 200, response.content
    return response.json()["message"]


def _issue(api: APIClient, key: str = ALICE_KEY, address: str = ALICE) -> str:
    """A fresh token's secret, as a script gets it."""
    text = _challenge(api, address)
    response = api.post(TOKEN, {"message": text, "signature": sign(text, key)}, "json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def _token_row(secret: str) -> ApiToken:
    return ApiToken.objects.get(key_hash=hashlib.sha256(secret.encode()).hexdigest())


def test_urls_are_under_api_v1_auth():
    assert reverse("api_auth_challenge") == CHALLENGE
    assert reverse("api_auth_token") == TOKEN
    assert reverse("api_auth_me") == ME


# The whole flow


@pytest.mark.django_db
def test_a_script_signs_a_challenge_gets_a_token_and_is_authenticated_by_it(api, settings):
    settings.API_TOKEN_SECONDS = 600
    challenge = api.post(CHALLENGE, {"address": ALICE.lower(), "chainId": CHAIN_ID}, "json")
    text = challenge.json()["message"]
    message = siwe.parse(text)
    assert challenge.status_code == 200
    assert (message.domain, message.uri, message.address) == (HOST, SITE_URI, ALICE)
    assert challenge.json()["expires_at"] == siwe.format_date_time(message.expiration_time)

    before = timezone.now()
    issued = api.post(TOKEN, {"message": text, "signature": sign(text, ALICE_KEY)}, "json")

    user = User.objects.get()
    body = issued.json()
    secret = body["token"]
    token = ApiToken.objects.get()
    assert issued.status_code == 201
    assert issued["Cache-Control"] == "no-store"
    assert secret.startswith("se_")
    assert len(secret) == 46
    assert body["address"] == ALICE
    assert body["user"] == {"id": user.pk, "username": user.username}
    assert (token.user, token.wallet_address, token.revoked_at) == (user, ALICE, None)
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {str(value) for value in vars(token).values()}
    assert (
        before + timedelta(seconds=600)
        <= token.expires_at
        <= timezone.now() + timedelta(seconds=600)
    )
    assert body["expires_at"].replace("Z", "+00:00") == token.expires_at.isoformat()
    assert Wallet.objects.get().user == user
    assert not SiweNonce.objects.exists()  # the nonce is spent

    me = APIClient().get(ME, headers=_bearer(secret))

    assert me.status_code == 200
    assert me.json() == {
        "id": user.pk,
        "username": user.username,
        "wallets": [ALICE],
        "authenticated_by": "token",
        "token": {"address": ALICE, "expires_at": body["expires_at"]},
    }


@pytest.mark.django_db
def test_a_token_is_issued_to_the_user_the_wallet_is_linked_to(api):
    alice = UserFactory(username="alice")
    WalletFactory(user=alice, address=ALICE)

    secret = _issue(api)

    assert _token_row(secret).user == alice
    assert User.objects.count() == 1
    assert APIClient().get(ME, headers=_bearer(secret)).json()["username"] == "alice"


@pytest.mark.django_db
def test_the_token_of_one_wallet_authenticates_its_own_user_only(api):
    alice_token = _issue(api, ALICE_KEY, ALICE)
    bob_token = _issue(api, BOB_KEY, BOB)

    alice_me = APIClient().get(ME, headers=_bearer(alice_token)).json()
    bob_me = APIClient().get(ME, headers=_bearer(bob_token)).json()

    assert (alice_me["wallets"], bob_me["wallets"]) == ([ALICE], [BOB])
    assert alice_me["id"] != bob_me["id"]


# Tokens that grant nothing


@pytest.mark.django_db
def test_an_expired_token_grants_nothing_and_says_how_to_get_a_new_one(api):
    secret = _issue(api)
    expired_at = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    ApiToken.objects.update(expires_at=expired_at)

    response = APIClient().get(ME, headers=_bearer(secret))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"] == (
        f"Token expired at {siwe.format_date_time(expired_at)}:"
        " sign a new challenge at /api/v1/auth/challenge/."
    )


@pytest.mark.django_db
def test_delete_revokes_the_token_it_is_sent_with_and_only_that_one(api):
    secret = _issue(api)
    other = _issue(api)
    client = APIClient()

    response = client.delete(TOKEN, headers=_bearer(secret))

    revoked_at = _token_row(secret).revoked_at
    assert response.status_code == 204
    assert revoked_at is not None
    assert _token_row(other).revoked_at is None
    again = client.get(ME, headers=_bearer(secret))
    assert again.status_code == 401
    assert again.json()["error"] == (
        f"Token revoked at {siwe.format_date_time(revoked_at)}:"
        " sign a new challenge at /api/v1/auth/challenge/."
    )
    assert client.get(ME, headers=_bearer(other)).status_code == 200
    # Revoking it again is refused, and keeps the first time.
    assert client.delete(TOKEN, headers=_bearer(secret)).status_code == 401
    assert _token_row(secret).revoked_at == revoked_at


@pytest.mark.django_db
def test_a_token_dies_when_its_wallet_is_unlinked(api):
    alice = UserFactory()
    WalletFactory(user=alice, address=ALICE)
    WalletFactory(user=alice, address=BOB)
    secret = _issue(api)
    services.wallet_unlink(user=alice, address=ALICE)

    response = APIClient().get(ME, headers=_bearer(secret))

    assert response.status_code == 401
    assert response.json()["error"].startswith(
        f"The wallet {ALICE} this token was issued to is no longer linked to its account"
    )


@pytest.mark.django_db
def test_the_token_of_a_disabled_account_grants_nothing(api):
    secret = _issue(api)
    User.objects.update(is_active=False)

    response = APIClient().get(ME, headers=_bearer(secret))

    assert response.status_code == 401
    assert response.json()["error"].startswith("The account of this token is disabled")


@pytest.mark.django_db
def test_a_disabled_account_gets_no_token_and_keeps_its_nonce(api):
    WalletFactory(address=ALICE, user=UserFactory(is_active=False))
    text = _challenge(api)

    response = api.post(TOKEN, {"message": text, "signature": sign(text, ALICE_KEY)}, "json")

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"The account of {ALICE} is disabled")
    assert not ApiToken.objects.exists()
    assert SiweNonce.objects.filter(nonce=siwe.parse(text).nonce).exists()


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (
            "Bearer se_" + "A" * 43,
            "Unknown API token: send it whole as 'Authorization: Bearer se_...',"
            " or sign a new challenge at /api/v1/auth/challenge/ to get one.",
        ),
        (
            "Bearer not-a-superedge-token",
            "Unknown API token: send it whole as 'Authorization: Bearer se_...',"
            " or sign a new challenge at /api/v1/auth/challenge/ to get one.",
        ),
        (
            "Bearer",
            "Invalid Authorization header: send 'Authorization: Bearer <token>',"
            " the token in one piece.",
        ),
        (
            "Bearer se_abc def",
            "Invalid Authorization header: send 'Authorization: Bearer <token>',"
            " the token in one piece.",
        ),
    ],
    ids=["forged", "foreign", "no token", "two words"],
)
@pytest.mark.django_db
def test_a_bad_bearer_token_is_a_401_with_the_reason(api, authorization, error):
    _issue(api)

    response = APIClient().get(ME, headers={"authorization": authorization})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"] == error


@pytest.mark.django_db
def test_an_anonymous_request_is_a_401_asking_for_a_bearer_token():
    for headers in [{}, {"authorization": "Basic YWxpY2U6c2VjcmV0"}]:
        response = APIClient().get(ME, headers=headers)

        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.django_db
def test_an_expired_token_in_the_header_does_not_stop_a_script_getting_a_new_one(api):
    old = _issue(api)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    text = _challenge(api)

    response = api.post(
        TOKEN, {"message": text, "signature": sign(text, ALICE_KEY)}, "json", headers=_bearer(old)
    )

    assert response.status_code == 201
    assert ApiToken.objects.count() == 2


# last_used_at


@pytest.mark.django_db
def test_last_used_at_is_written_at_most_once_a_minute(api, django_assert_num_queries):
    secret = _issue(api)
    token = _token_row(secret)
    assert token.last_used_at is None

    with django_assert_num_queries(2):  # the lookup, then the first use
        services.api_token_authenticate(secret=secret)
    first_use = _token_row(secret).last_used_at
    with django_assert_num_queries(1):  # the lookup only
        services.api_token_authenticate(secret=secret)
    assert _token_row(secret).last_used_at == first_use

    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(seconds=61))
    services.api_token_authenticate(secret=secret)
    assert _token_row(secret).last_used_at > first_use


# Refused sign-ins write nothing


@pytest.mark.django_db
def test_a_nonce_cannot_be_reused(api):
    text = _challenge(api)
    signed = {"message": text, "signature": sign(text, ALICE_KEY)}
    assert api.post(TOKEN, signed, "json").status_code == 201

    response = api.post(TOKEN, signed, "json")

    assert response.status_code == 400
    assert response.json() == {
        "error": "This sign-in request was already used or is unknown:"
        " ask for a new one and sign again."
    }
    assert ApiToken.objects.count() == 1


def _signed_by_hand(**overrides) -> dict[str, str]:
    """A message with a live nonce but fields this site must refuse, signed by ALICE."""
    nonce = services.siwe_nonce_issue().nonce
    text = make_message(nonce=nonce, **({"domain": HOST, "uri": SITE_URI} | overrides)).to_text()
    return {"message": text, "signature": sign(text, ALICE_KEY)}


def _with_expired_nonce() -> dict[str, str]:
    body = _signed_by_hand()
    SiweNonce.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return body


def _unknown_nonce() -> dict[str, str]:
    text = make_message(domain=HOST, uri=SITE_URI, nonce="Unknown1234567890").to_text()
    return {"message": text, "signature": sign(text, ALICE_KEY)}


def _signed_by_bob(api: APIClient) -> dict[str, str]:
    text = _challenge(api)
    return {"message": text, "signature": sign(text, BOB_KEY)}


BAD_TOKEN_REQUESTS = {
    "not json": (
        lambda api: "not json",
        400,
        'The request body must be a JSON object with "message", "signature".',
    ),
    "not an object": (
        lambda api: "[1, 2]",
        400,
        'The request body must be a JSON object with "message", "signature".',
    ),
    "missing signature": (
        lambda api: {"message": _challenge(api)},
        400,
        'Missing field signature: send a JSON object with "message", "signature".',
    ),
    "empty body": (
        lambda api: {},
        400,
        'Missing field message, signature: send a JSON object with "message", "signature".',
    ),
    "message not a string": (
        lambda api: {"message": 12345, "signature": "0x00"},
        400,
        "The field message must be a string.",
    ),
    "signature not a string": (
        lambda api: {"message": _challenge(api), "signature": ["0x00"]},
        400,
        "The field signature must be a string.",
    ),
    "malformed signature": (
        lambda api: {"message": _challenge(api), "signature": "0x1234"},
        400,
        "The signature is malformed: expected 65 bytes in hexadecimal, as MetaMask returns."
        " Sign the message again.",
    ),
    "signer mismatch": (
        _signed_by_bob,
        400,
        f"The message was signed by {BOB} but claims {ALICE}:"
        f" in MetaMask, switch to {ALICE} and sign again.",
    ),
    "wrong domain": (
        lambda api: _signed_by_hand(domain="evil.test"),
        400,
        "This message asks to sign in to evil.test, not testserver:"
        " sign in from testserver itself.",
    ),
    "wrong chain": (
        lambda api: _signed_by_hand(chain_id=1),
        400,
        "This message is for chain 1, the wrong network:"
        " switch MetaMask to chain 31337 and sign in again.",
    ),
    "expired message": (
        lambda api: _signed_by_hand(expiration_time=timezone.now() - timedelta(seconds=1)),
        400,
        "This sign-in request expired: ask for a new one and sign again.",
    ),
    "expired nonce": (
        lambda api: _with_expired_nonce(),
        400,
        "This sign-in request expired: ask for a new one and sign again.",
    ),
    "unknown nonce": (
        lambda api: _unknown_nonce(),
        400,
        "This sign-in request was already used or is unknown: ask for a new one and sign again.",
    ),
}


@pytest.mark.parametrize(
    ("make_body", "status", "error"), BAD_TOKEN_REQUESTS.values(), ids=BAD_TOKEN_REQUESTS.keys()
)
@pytest.mark.django_db
def test_a_bad_token_request_says_what_is_wrong_and_writes_nothing(api, make_body, status, error):
    body = make_body(api)
    nonces = set(SiweNonce.objects.values_list("nonce", flat=True))

    response = api.post(
        TOKEN,
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
    )

    assert (response.status_code, response.json()) == (status, {"error": error})
    assert not ApiToken.objects.exists()
    assert not User.objects.exists()
    assert not Wallet.objects.exists()
    assert set(SiweNonce.objects.values_list("nonce", flat=True)) == nonces


@pytest.mark.django_db
def test_a_form_encoded_token_request_is_a_415_asking_for_json(api):
    text = _challenge(api)

    response = api.post(TOKEN, {"message": text, "signature": sign(text, ALICE_KEY)})

    assert response.status_code == 415
    assert response.json() == {
        "error": "Send the body as JSON, with the header Content-Type: application/json."
    }
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_deeply_nested_body_is_a_400_not_a_crash(api):
    for body in ["[" * 5000, "[" * 100_000]:
        response = api.post(TOKEN, body, content_type="application/json")

        assert response.status_code == 400
        assert "error" in response.json()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"address": ALICE, "chainId": 1},
            "Your wallet is on chain 1, the wrong network:"
            " switch MetaMask to chain 31337 and sign in again.",
        ),
        ({"address": ALICE, "chainId": "31337"}, "The field chainId must be an integer."),
        ({"address": ALICE, "chainId": True}, "The field chainId must be an integer."),
        (
            {"address": "0x1234", "chainId": CHAIN_ID},
            "'0x1234' is not an Ethereum address: expected 0x followed by 40 hexadecimal digits.",
        ),
        (
            {"chainId": CHAIN_ID},
            'Missing field address: send a JSON object with "address", "chainId".',
        ),
    ],
    ids=["wrong chain", "string chain", "bool chain", "bad address", "no address"],
)
@pytest.mark.django_db
def test_a_bad_challenge_request_says_what_is_wrong_and_issues_no_nonce(api, body, error):
    response = api.post(CHALLENGE, body, "json")

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert not SiweNonce.objects.exists()


@pytest.mark.django_db
def test_challenges_share_the_browser_sign_in_rate_limit(api):
    body = {"address": ALICE, "chainId": CHAIN_ID}
    codes = [
        api.post(url, body, "json").status_code
        for _ in range(15)
        for url in [CHALLENGE, "/accounts/siwe/message/"]
    ]
    assert codes == [200] * 30

    response = api.post(CHALLENGE, body, "json")

    assert response.status_code == 429
    assert response.json() == {
        "error": "Too many sign-in attempts from here: wait a minute and try again."
    }
    assert SiweNonce.objects.count() == 30


# Browsers keep their session


@pytest.mark.django_db
def test_a_session_authenticates_me_with_csrf_enforced():
    client = APIClient(enforce_csrf_checks=True)
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)
    client.force_login(user)

    response = client.get(ME)

    assert response.status_code == 200
    assert response.json() == {
        "id": user.pk,
        "username": user.username,
        "wallets": [ALICE],
        "authenticated_by": "session",
        "token": None,
    }


@pytest.mark.django_db
def test_a_session_cannot_revoke_a_token(api):
    secret = _issue(api)
    token = _token_row(secret)
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(token.user)

    response = browser.delete(TOKEN)

    assert response.status_code == 401
    assert _token_row(secret).revoked_at is None


@pytest.mark.django_db
def test_scripts_need_no_csrf_token_for_challenge_and_token():
    script = APIClient(enforce_csrf_checks=True)

    secret = _issue(script)

    assert script.delete(TOKEN, headers=_bearer(secret)).status_code == 204


# Housekeeping and admin


@pytest.mark.django_db
def test_tokens_expired_over_thirty_days_ago_are_purged_when_one_is_issued(api):
    old = _issue(api)
    recent = _issue(api)
    now = timezone.now()
    ApiToken.objects.filter(pk=_token_row(old).pk).update(expires_at=now - timedelta(days=31))
    ApiToken.objects.filter(pk=_token_row(recent).pk).update(expires_at=now - timedelta(days=29))

    new = _issue(api)

    assert not ApiToken.objects.filter(key_hash=hashlib.sha256(old.encode()).hexdigest()).exists()
    assert _token_row(recent)
    assert _token_row(new)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_admin_lists_tokens_and_revokes_the_selected_ones(api, admin_client):
    kept = _token_row(_issue(api))
    revoked = _token_row(_issue(api))
    url = reverse("admin:wallets_apitoken_changelist")

    listing = admin_client.get(url)
    response = admin_client.post(
        url, {"action": "revoke", "_selected_action": [revoked.pk]}, follow=True
    )

    assert listing.status_code == 200
    assert ALICE in listing.content.decode()
    assert "Revoked 1 API token(s)." in response.content.decode()
    revoked.refresh_from_db()
    kept.refresh_from_db()
    assert revoked.revoked_at is not None
    assert kept.revoked_at is None
    assert admin_client.get(reverse("admin:wallets_apitoken_add")).status_code == 403


def test_the_schema_documents_the_bearer_token_where_it_is_taken():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert schema["components"]["securitySchemes"]["walletToken"]["type"] == "http"
    assert schema["components"]["securitySchemes"]["walletToken"]["scheme"] == "bearer"
    token_paths = schema["paths"][TOKEN]
    assert schema["paths"][CHALLENGE]["post"]["security"] == [{}]
    assert token_paths["post"]["security"] == [{}]
    assert token_paths["delete"]["security"] == [{"walletToken": []}]
    assert {"walletToken": []} in schema["paths"][ME]["get"]["security"]
