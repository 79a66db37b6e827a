"""Writes of Sign-In with Ethereum: nonces, signing in with a wallet, linking and unlinking."""

from __future__ import annotations

import secrets
import string
from datetime import timedelta
from itertools import chain, count
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from marketplace.accounts import selectors, siwe
from marketplace.accounts.models import SiweNonce, Wallet

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 20  # EIP-4361 asks for at least 8 alphanumerics; 20 give ~119 bits.
SIWE_STATEMENT = "Sign in to SuperEdge with your Ethereum account."


class WalletLinkedToAnotherAccount(siwe.SiweError):
    pass


class AccountError(Exception):
    """A change to the user's sign-in methods was refused; str(error) is shown to the user."""


class WalletNotLinked(AccountError):
    pass


class LastSignInMethod(AccountError):
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
