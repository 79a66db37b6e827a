"""Reads of wallets and of the ways a user can sign in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress

from marketplace.accounts.models import Wallet

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet


def wallet_list(*, user: AbstractBaseUser) -> QuerySet[Wallet]:
    """The wallets linked to `user`, oldest first."""
    return Wallet.objects.filter(user=user).order_by("linked_at", "pk")


def user_can_sign_in_without_wallet(*, user: AbstractBaseUser) -> bool:
    """Whether `user` has a password or a verified email address to sign in with."""
    return (
        user.has_usable_password() or EmailAddress.objects.filter(user=user, verified=True).exists()
    )
