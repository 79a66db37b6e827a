"""Writes of Sign-In with Ethereum: nonces, signing in with a wallet, linking and unlinking, and
the API tokens scripts get by signing in."""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import timedelta
from itertools import chain, count
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from marketplace.accounts import selectors, siwe
from marketplace.accounts.models import ApiToken, SiweNonce, Wallet

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 20  # EIP-4361 asks for at least 8 alphanumerics; 20 give ~119 bits.
SIWE_STATEMENT = "Sign in to SuperEdge with your Ethereum account."
# A recognisable prefix lets secret scanners and people tell a SuperEdge token at a glance.
API_TOKEN_PREFIX = "se_"  # noqa: S105 (a prefix, not a secret)
# Bound on what is hashed and looked up: the prefix and token_urlsafe(32) make 46 characters.
API_TOKEN_MAX_LENGTH = 64
# last_used_at is for people reading the admin: minute precision spares a write per request.
API_TOKEN_LAST_USED_PRECISION = timedelta(minutes=1)
# Expired tokens are kept a while so the admin shows which scripts used the API, then purged.
API_TOKEN_KEPT_AFTER_EXPIRY = timedelta(days=30)


class WalletLinkedToAnotherAccount(siwe.SiweError):
    pass


class AccountError(Exception):
    """A change to the user's sign-in methods was refused; str(error) is shown to the user."""


class WalletNotLinked(AccountError):
    pass


class LastSignInMethod(AccountError):
    pass


class AccountDisabled(siwe.SiweError):
    pass


class ApiTokenError(Exception):
    """A bearer token was refused; str(error) says why and how to get a new one."""


class ApiTokenUnknown(ApiTokenError):
    pass


class ApiTokenExpired(ApiTokenError):
    pass


class ApiTokenRevoked(ApiTokenError):
    pass


class ApiTokenWalletUnlinked(ApiTokenError):
    pass


class ApiTokenAccountDisabled(ApiTokenError):
    pass


@transaction.atomic
def siwe_nonce_issue() -> SiweNonce:
    """A fresh single-use nonce valid for SIWE_NONCE_TTL_SECONDS; expired ones are purged."""
    now = timezone.now()
    SiweNonce.objects.filter(expires_at__lte=now).delete()
    return SiweNonce.objects.create(
        nonce="".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH)),
        expires_at=now + timedelta(seconds=settings.SIWE_NONCE_TTL_SECONDS),
    )


@transaction.atomic
def siwe_message_build(*, address: str, domain: str, uri: str, chain_id: int) -> str:
    """The EIP-4361 message for `address` to sign, with a new nonce.

    `address` may be in any letter case (wallets report lowercase); `chain_id` is the wallet's
    current chain and must be the site's, so a wrong network is caught before signing.
    """
    if chain_id != settings.SIWE_CHAIN_ID:
        raise siwe.ChainMismatch(
            f"Your wallet is on chain {chain_id}, the wrong network:"
            f" switch MetaMask to chain {settings.SIWE_CHAIN_ID} and sign in again."
        )
    address = siwe.checksum_address(address)
    nonce = siwe_nonce_issue()
    # Whole seconds keep the text short; the message expires no later than its nonce.
    return siwe.SiweMessage(
        domain=domain,
        address=address,
        statement=SIWE_STATEMENT,
        uri=uri,
        chain_id=chain_id,
        nonce=nonce.nonce,
        issued_at=timezone.now().replace(microsecond=0),
        expiration_time=nonce.expires_at.replace(microsecond=0),
    ).to_text()


def _siwe_nonce_consume(*, nonce: str, now: datetime) -> None:
    # One DELETE: of two concurrent requests with the same nonce, only one deletes the row.
    deleted, _ = SiweNonce.objects.filter(nonce=nonce, expires_at__gt=now).delete()
    if deleted == 1:
        return
    if SiweNonce.objects.filter(nonce=nonce).exists():
        raise siwe.NonceExpired("This sign-in request expired: ask for a new one and sign again.")
    raise siwe.NonceNotFound(
        "This sign-in request was already used or is unknown: ask for a new one and sign again."
    )


def _username_for_wallet(address: str) -> str:
    base = f"{address[:6]}_{address[-4:]}".lower()
    User = get_user_model()
    taken = set(User.objects.filter(username__startswith=base).values_list("username", flat=True))
    candidates = chain([base], (f"{base}_{n}" for n in count(2)))
    return next(name for name in candidates if name not in taken)


def user_for_wallet(address: str) -> AbstractBaseUser:
    """The user whose wallet `address` is, or a new one (no password: only signing in with
    that wallet opens it, as a first Sign-In with Ethereum would)."""
    wallet = Wallet.objects.select_related("user").filter(address__iexact=address).first()
    if wallet is not None:
        return wallet.user
    try:
        with transaction.atomic():  # a savepoint: a sign-in may link the address meanwhile
            user = get_user_model().objects.create_user(
                username=_username_for_wallet(address), password=None
            )
            Wallet.objects.create(user=user, address=address)
            return user
    except IntegrityError:
        return Wallet.objects.select_related("user").get(address__iexact=address).user


def _wallet_for_sign_in(*, address: str, signed_in: AbstractBaseUser | None) -> tuple[Wallet, bool]:
    """The wallet row for `address`, linking it to `signed_in` or to a new user if it is new.

    Returns the wallet and whether a user was created.
    """
    wallet = Wallet.objects.select_related("user").filter(address=address).first()
    if wallet is not None:
        return wallet, False
    try:
        # A savepoint: a concurrent first sign-in may link the same address before us.
        with transaction.atomic():
            user = signed_in or get_user_model().objects.create_user(
                username=_username_for_wallet(address), password=None
            )
            return Wallet.objects.create(user=user, address=address), signed_in is None
    except IntegrityError:
        return Wallet.objects.select_related("user").get(address=address), False


@transaction.atomic
def siwe_sign_in(
    *,
    message: str,
    signature: str,
    domain: str,
    uri: str,
    current_user: AbstractBaseUser | AnonymousUser | None,
) -> tuple[AbstractBaseUser, Wallet, bool]:
    """Verify a signed EIP-4361 message and return (user, wallet, whether the user is new).

    The wallet's user if it is linked; else the wallet is linked to `current_user` when signed
    in, or to a new user with no usable password. A refused sign-in writes nothing, so its
    nonce stays usable until it expires. The caller logs the user in.
    """
    now = timezone.now()
    verified = siwe.verify(
        message, signature, domain=domain, uri=uri, chain_id=settings.SIWE_CHAIN_ID, now=now
    )
    _siwe_nonce_consume(nonce=verified.nonce, now=now)

    signed_in = current_user if current_user and current_user.is_authenticated else None
    wallet, created = _wallet_for_sign_in(address=verified.address, signed_in=signed_in)
    if signed_in is not None and wallet.user_id != signed_in.pk:
        raise WalletLinkedToAnotherAccount(
            f"The wallet {wallet.address} is linked to another account: sign out, then sign in"
            " with this wallet, or link a different wallet here."
        )
    wallet.last_sign_in_at = now
    wallet.save(update_fields=["last_sign_in_at"])
    return wallet.user, wallet, created


@transaction.atomic
def wallet_unlink(*, user: AbstractBaseUser, address: str) -> None:
    """Remove one of `user`'s wallets (address in any letter case), unless it is their last
    way to sign in."""
    # Locking all of the user's wallets serialises concurrent unlinks of their last two.
    wallets = list(Wallet.objects.select_for_update().filter(user=user))
    wallet = next((w for w in wallets if w.address.lower() == address.lower()), None)
    if wallet is None:
        raise WalletNotLinked(f"The wallet {address} is not linked to your account.")
    if len(wallets) == 1 and not selectors.user_can_sign_in_without_wallet(user=user):
        raise LastSignInMethod(
            f"The wallet {wallet.address} is your only way to sign in: set a password or verify"
            " an email address first, then remove it."
        )
    wallet.delete()


def _api_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _sign_a_new_challenge() -> str:
    return f"sign a new challenge at {reverse('api_auth_challenge')}"


@transaction.atomic
def api_token_issue(*, message: str, signature: str, domain: str, uri: str) -> tuple[ApiToken, str]:
    """Verify a signed EIP-4361 message as browser sign-in does and issue an API token to the
    wallet's user (created if the wallet is new). Returns the token and its secret, which is
    shown once and never stored. A refused message writes nothing.
    """
    user, wallet, _created = siwe_sign_in(
        message=message, signature=signature, domain=domain, uri=uri, current_user=None
    )
    if not user.is_active:
        # Raising rolls back the whole transaction: the nonce is not spent.
        raise AccountDisabled(
            f"The account of {wallet.address} is disabled: contact the site's operators."
        )
    now = timezone.now()
    ApiToken.objects.filter(expires_at__lte=now - API_TOKEN_KEPT_AFTER_EXPIRY).delete()
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        wallet_address=wallet.address,
        key_hash=_api_token_hash(secret),
        expires_at=now + timedelta(seconds=settings.API_TOKEN_SECONDS),
    )
    return token, secret


def api_token_authenticate(*, secret: str) -> ApiToken:
    """The live token whose secret this is, with its user; else an ApiTokenError saying why.

    A token dies when it expires, is revoked, or its wallet is no longer linked to its user
    (unlinking a wallet whose key leaked must cut off the scripts it signed in). One query,
    plus an UPDATE of last_used_at at most once a minute per token.
    """
    token = None
    if secret.startswith(API_TOKEN_PREFIX) and len(secret) <= API_TOKEN_MAX_LENGTH:
        token = (
            ApiToken.objects.select_related("user")
            .annotate(
                wallet_linked=Exists(
                    Wallet.objects.filter(user=OuterRef("user"), address=OuterRef("wallet_address"))
                )
            )
            .filter(key_hash=_api_token_hash(secret))
            .first()
        )
    if token is None:
        raise ApiTokenUnknown(
            f"Unknown API token: send it whole as 'Authorization: Bearer {API_TOKEN_PREFIX}...',"
            f" or {_sign_a_new_challenge()} to get one."
        )
    now = timezone.now()
    if token.revoked_at is not None:
        raise ApiTokenRevoked(
            f"Token revoked at {siwe.format_date_time(token.revoked_at)}:"
            f" {_sign_a_new_challenge()}."
        )
    if token.expires_at <= now:
        raise ApiTokenExpired(
            f"Token expired at {siwe.format_date_time(token.expires_at)}:"
            f" {_sign_a_new_challenge()}."
        )
    if not token.wallet_linked:
        raise ApiTokenWalletUnlinked(
            f"The wallet {token.wallet_address} this token was issued to is no longer linked to"
            f" its account: {_sign_a_new_challenge()} with a linked wallet."
        )
    if not token.user.is_active:
        raise ApiTokenAccountDisabled(
            "The account of this token is disabled: contact the site's operators."
        )

    stale = now - API_TOKEN_LAST_USED_PRECISION
    if token.last_used_at is None or token.last_used_at <= stale:
        # The condition in the UPDATE keeps concurrent requests from writing it twice.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale), pk=token.pk
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> None:
    """Make `token` grant nothing from now on; revoking it again keeps the first time."""
    now = timezone.now()
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        token.revoked_at = now
    else:
        token.refresh_from_db(fields=["revoked_at"])
