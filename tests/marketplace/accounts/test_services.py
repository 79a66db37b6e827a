from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.utils import timezone

from marketplace.accounts import services, siwe
from marketplace.accounts.models import SiweNonce, Wallet
from tests.factories.accounts import UserFactory, WalletFactory
from tests.marketplace.accounts.helpers import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    CHAIN_ID,
    DOMAIN,
    URI,
    make_message,
    sign,
)

User = get_user_model()


def _build(address: str = ALICE) -> str:
    return services.siwe_message_build(address=address, domain=DOMAIN, uri=URI, chain_id=CHAIN_ID)


def _sign_in(text: str, key: str = ALICE_KEY, current_user=None, signature: str | None = None):
    return services.siwe_sign_in(
        message=text,
        signature=signature or sign(text, key),
        domain=DOMAIN,
        uri=URI,
        current_user=current_user or AnonymousUser(),
    )


# Nonces and messages


@pytest.mark.django_db
def test_nonce_issue_creates_a_random_alphanumeric_nonce_valid_for_the_ttl(settings):
    settings.SIWE_NONCE_TTL_SECONDS = 120
    before = timezone.now()

    first = services.siwe_nonce_issue()
    second = services.siwe_nonce_issue()

    assert len(first.nonce) == 20
    assert first.nonce.isalnum()
    assert first.nonce.isascii()
    assert first.nonce != second.nonce
    assert (
        before + timedelta(seconds=120)
        <= first.expires_at
        <= timezone.now() + timedelta(seconds=120)
    )
    assert SiweNonce.objects.count() == 2


@pytest.mark.django_db
def test_nonce_issue_purges_expired_nonces_only():
    expired = SiweNonce.objects.create(
        nonce="expired12345678", expires_at=timezone.now() - timedelta(seconds=1)
    )
    live = SiweNonce.objects.create(
        nonce="live1234567890", expires_at=timezone.now() + timedelta(minutes=1)
    )

    issued = services.siwe_nonce_issue()

    assert set(SiweNonce.objects.values_list("pk", flat=True)) == {live.pk, issued.pk}
    assert not SiweNonce.objects.filter(pk=expired.pk).exists()


@pytest.mark.django_db
def test_message_build_writes_a_message_for_the_checksummed_address_with_a_new_nonce():
    text = services.siwe_message_build(
        address=ALICE.lower(), domain=DOMAIN, uri=URI, chain_id=CHAIN_ID
    )

    message = siwe.parse(text)
    nonce = SiweNonce.objects.get()
    assert message.address == ALICE
    assert message.domain == DOMAIN
    assert message.uri == URI
    assert message.chain_id == CHAIN_ID
    assert message.statement == services.SIWE_STATEMENT
    assert message.nonce == nonce.nonce
    assert message.expiration_time == nonce.expires_at.replace(microsecond=0)
    assert message.issued_at <= timezone.now() < message.expiration_time


@pytest.mark.django_db
def test_message_build_refuses_a_wallet_on_another_chain_without_issuing_a_nonce():
    with pytest.raises(siwe.ChainMismatch) as raised:
        services.siwe_message_build(address=ALICE, domain=DOMAIN, uri=URI, chain_id=1)

    assert str(raised.value) == (
        "Your wallet is on chain 1, the wrong network:"
        " switch MetaMask to chain 31337 and sign in again."
    )
    assert not SiweNonce.objects.exists()


@pytest.mark.django_db
def test_message_build_refuses_a_non_address_without_issuing_a_nonce():
    with pytest.raises(siwe.InvalidAddress):
        services.siwe_message_build(address="0x1234", domain=DOMAIN, uri=URI, chain_id=CHAIN_ID)

    assert not SiweNonce.objects.exists()


# Signing in


@pytest.mark.django_db
def test_first_sign_in_creates_a_user_without_password_and_links_the_wallet():
    user, wallet, created = _sign_in(_build())

    assert created is True
    assert user.username == "0xf39f_2266"
    assert user.email == ""
    assert not user.has_usable_password()
    assert wallet.user == user
    assert wallet.address == ALICE
    assert wallet.last_sign_in_at is not None
    assert list(Wallet.objects.values_list("address", flat=True)) == [ALICE]
    assert User.objects.count() == 1
    assert not SiweNonce.objects.exists()


@pytest.mark.django_db
def test_new_usernames_do_not_collide_with_existing_ones():
    UserFactory(username="0xf39f_2266")
    UserFactory(username="0xf39f_2266_2")

    user, _wallet, _created = _sign_in(_build())

    assert user.username == "0xf39f_2266_3"


@pytest.mark.django_db
def test_second_sign_in_with_the_same_wallet_returns_the_same_user():
    user, wallet, _created = _sign_in(_build())
    first_sign_in_at = wallet.last_sign_in_at

    again, again_wallet, created = _sign_in(_build())

    assert created is False
    assert again == user
    assert again_wallet.pk == wallet.pk
    assert again_wallet.last_sign_in_at > first_sign_in_at
    assert User.objects.count() == 1
    assert Wallet.objects.count() == 1


@pytest.mark.django_db
def test_signed_in_user_links_a_second_wallet_and_can_sign_in_with_either():
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)

    linked_to, bob_wallet, created = _sign_in(_build(BOB), key=BOB_KEY, current_user=user)

    assert created is False
    assert linked_to == user
    assert bob_wallet.user == user
    assert set(user.wallets.values_list("address", flat=True)) == {ALICE, BOB}
    assert _sign_in(_build(ALICE))[0] == user
    assert _sign_in(_build(BOB), key=BOB_KEY)[0] == user
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_signed_in_user_with_email_links_their_first_wallet():
    user = UserFactory()

    linked_to, wallet, created = _sign_in(_build(), current_user=user)

    assert (linked_to, wallet.user, created) == (user, user, False)
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_wallet_linked_to_another_account_is_refused_and_nothing_changes():
    owner = UserFactory()
    WalletFactory(user=owner, address=ALICE)
    intruder = UserFactory()
    text = _build()

    with pytest.raises(services.WalletLinkedToAnotherAccount) as raised:
        _sign_in(text, current_user=intruder)

    assert str(raised.value) == (
        f"The wallet {ALICE} is linked to another account: sign out, then sign in with this"
        " wallet, or link a different wallet here."
    )
    assert list(Wallet.objects.values_list("user", "address")) == [(owner.pk, ALICE)]
    assert not intruder.wallets.exists()
    assert Wallet.objects.get().last_sign_in_at is None
    # The refusal rolled back: the nonce was not spent.
    assert SiweNonce.objects.filter(nonce=siwe.parse(text).nonce).exists()


@pytest.mark.django_db
def test_a_signed_message_signs_in_only_once():
    text = _build()
    _sign_in(text)

    with pytest.raises(siwe.NonceNotFound) as raised:
        _sign_in(text)

    assert str(raised.value) == (
        "This sign-in request was already used or is unknown: ask for a new one and sign again."
    )
    assert User.objects.count() == 1
    assert Wallet.objects.count() == 1


@pytest.mark.django_db
def test_a_message_with_an_unknown_nonce_is_refused_and_nothing_is_written():
    text = make_message(nonce="neverIssued12345").to_text()

    with pytest.raises(siwe.NonceNotFound):
        _sign_in(text)

    assert not User.objects.exists()
    assert not Wallet.objects.exists()


@pytest.mark.django_db
def test_a_message_whose_nonce_expired_is_refused():
    nonce = SiweNonce.objects.create(
        nonce="expired12345678", expires_at=timezone.now() - timedelta(seconds=1)
    )
    text = make_message(nonce=nonce.nonce).to_text()

    with pytest.raises(siwe.NonceExpired) as raised:
        _sign_in(text)

    assert str(raised.value) == "This sign-in request expired: ask for a new one and sign again."
    assert not User.objects.exists()
    assert not Wallet.objects.exists()


def _issued_nonce() -> str:
    return services.siwe_nonce_issue().nonce


@pytest.mark.parametrize(
    ("make_text", "key", "error"),
    [
        (
            lambda n: make_message(nonce=n, domain="evil.test").to_text(),
            ALICE_KEY,
            siwe.DomainMismatch,
        ),
        (
            lambda n: make_message(nonce=n, uri="https://evil.test/").to_text(),
            ALICE_KEY,
            siwe.UriMismatch,
        ),
        (lambda n: make_message(nonce=n, chain_id=1).to_text(), ALICE_KEY, siwe.ChainMismatch),
        (
            lambda n: make_message(
                nonce=n,
                issued_at=timezone.now() - timedelta(minutes=10),
                expiration_time=timezone.now() - timedelta(minutes=1),
            ).to_text(),
            ALICE_KEY,
            siwe.MessageExpired,
        ),
        (
            lambda n: make_message(
                nonce=n, issued_at=timezone.now() + timedelta(hours=1)
            ).to_text(),
            ALICE_KEY,
            siwe.MessageNotYetValid,
        ),
        (lambda n: make_message(nonce=n).to_text(), BOB_KEY, siwe.SignerMismatch),
        (
            lambda n: make_message(nonce=n).to_text().replace(ALICE, ALICE.lower()),
            ALICE_KEY,
            siwe.InvalidAddress,
        ),
        (lambda n: make_message(nonce=n).to_text() + "\n", ALICE_KEY, siwe.MalformedMessage),
    ],
    ids=[
        "wrong domain",
        "wrong uri",
        "other chain",
        "expired",
        "issued in the future",
        "signed by another address",
        "non-checksummed address",
        "malformed",
    ],
)
@pytest.mark.django_db
def test_a_refused_message_writes_nothing_and_leaves_its_nonce_unspent(make_text, key, error):
    nonce = _issued_nonce()
    text = make_text(nonce)

    with pytest.raises(error):
        _sign_in(text, key=key)

    assert not User.objects.exists()
    assert not Wallet.objects.exists()
    assert SiweNonce.objects.filter(nonce=nonce).exists()


@pytest.mark.django_db
def test_a_malformed_signature_is_refused_and_nothing_is_written():
    text = _build()

    with pytest.raises(siwe.MalformedSignature):
        _sign_in(text, signature="0xdeadbeef")

    assert not User.objects.exists()
    assert SiweNonce.objects.count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite's shared in-memory test database fails concurrent writers"
    " with 'table is locked' instead of making them wait",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ins_with_one_message_succeed_once():
    text = _build()
    signature = sign(text, ALICE_KEY)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait()
            _sign_in(text, signature=signature)
            outcomes.append("signed in")
        except siwe.NonceNotFound:
            outcomes.append("refused")
        except Exception as error:
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused", "signed in"]
    assert User.objects.count() == 1
    assert Wallet.objects.count() == 1


# Unlinking


@pytest.mark.django_db
def test_unlink_removes_one_of_several_wallets():
    user = UserFactory(password=None)
    WalletFactory(user=user, address=ALICE)
    WalletFactory(user=user, address=BOB)

    services.wallet_unlink(user=user, address=BOB.lower())

    assert list(user.wallets.values_list("address", flat=True)) == [ALICE]


@pytest.mark.django_db
def test_unlink_refuses_the_last_wallet_of_a_user_without_password_or_verified_email():
    user = UserFactory(password=None)
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    WalletFactory(user=user, address=ALICE)

    with pytest.raises(services.LastSignInMethod) as raised:
        services.wallet_unlink(user=user, address=ALICE)

    assert str(raised.value) == (
        f"The wallet {ALICE} is your only way to sign in: set a password or verify an email"
        " address first, then remove it."
    )
    assert list(user.wallets.values_list("address", flat=True)) == [ALICE]


@pytest.mark.django_db
def test_unlink_allows_the_last_wallet_of_a_user_with_a_password():
    user = UserFactory()
    WalletFactory(user=user, address=ALICE)

    services.wallet_unlink(user=user, address=ALICE)

    assert not Wallet.objects.exists()


@pytest.mark.django_db
def test_unlink_allows_the_last_wallet_of_a_user_with_a_verified_email():
    user = UserFactory(password=None)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    WalletFactory(user=user, address=ALICE)

    services.wallet_unlink(user=user, address=ALICE)

    assert not Wallet.objects.exists()


@pytest.mark.django_db
def test_unlink_refuses_a_wallet_of_another_user_and_leaves_it_linked():
    owner = UserFactory()
    WalletFactory(user=owner, address=ALICE)
    other = UserFactory()

    with pytest.raises(services.WalletNotLinked) as raised:
        services.wallet_unlink(user=other, address=ALICE)

    assert str(raised.value) == f"The wallet {ALICE} is not linked to your account."
    assert list(Wallet.objects.values_list("user", flat=True)) == [owner.pk]
