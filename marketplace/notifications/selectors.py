"""Reads of notifications and of who is told: the bell's count, a user's list, their
preferences, and the users behind wallet addresses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress

from marketplace.accounts.models import Wallet
from marketplace.addresses import InvalidAddress, normalize
from marketplace.notifications.models import (
    DEFAULT_BY_EMAIL,
    Notification,
    NotificationKind,
    Preference,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet


def unread_count(*, user: AbstractBaseUser) -> int:
    """How many notifications shown in the site `user` has not read (the bell's number)."""
    return Notification.objects.filter(user=user, shown=True, read_at__isnull=True).count()


def notification_list(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The notifications shown to `user` in the site, newest first."""
    return Notification.objects.filter(user=user, shown=True).order_by("-created_at", "-id")


def preference_of(*, user: AbstractBaseUser, kind: str) -> tuple[bool, bool]:
    """(in the site, by email) for `user`'s notifications of `kind`: theirs, else the defaults."""
    row = Preference.objects.filter(user=user, kind=kind).values_list("in_site", "by_email").first()
    return row if row is not None else (True, kind in DEFAULT_BY_EMAIL)


def preference_table(*, user: AbstractBaseUser) -> list[tuple[NotificationKind, bool, bool]]:
    """(kind, in the site, by email) for every kind, in the kinds' order, as `user` set them."""
    saved = {
        kind: (in_site, by_email)
        for kind, in_site, by_email in Preference.objects.filter(user=user).values_list(
            "kind", "in_site", "by_email"
        )
    }
    return [(kind, *saved.get(kind, (True, kind in DEFAULT_BY_EMAIL))) for kind in NotificationKind]


def email_address_of(*, user: AbstractBaseUser) -> str:
    """The address `user`'s emails go to: their primary verified address, else any verified
    one; "" without one (an address nobody proved to own is never written to)."""
    address = (
        EmailAddress.objects.filter(user=user, verified=True)
        .order_by("-primary", "id")
        .values_list("email", flat=True)
        .first()
    )
    return address or ""


def users_of_wallets(addresses: Iterable[str]) -> list[AbstractBaseUser]:
    """The users whose linked wallets these addresses are (any letter case), each once, in the
    order of their first address; an address nobody linked (or no address) is nobody's."""
    wanted = []
    for address in addresses:
        try:
            wanted.append(normalize(address))
        except InvalidAddress:
            continue
    by_address = {
        wallet.address: wallet.user
        for wallet in Wallet.objects.select_related("user").filter(address__in=wanted)
    }
    users: dict[int, AbstractBaseUser] = {}
    for address in wanted:
        user = by_address.get(address)
        if user is not None:
            users.setdefault(user.pk, user)
    return list(users.values())


def notification_exists(*, user: AbstractBaseUser, pk: int) -> bool:
    """Whether notification `pk` is `user`'s."""
    return Notification.objects.filter(user=user, pk=pk).exists()
