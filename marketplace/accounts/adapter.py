"""allauth's adapter: its login (email or username) under the sign-in lockout shared with the admin
(marketplace.accounts.lockout), and its own limits (sign-ups, password resets) keyed on the
client address as every limit of the site finds it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth import get_user_model

from marketplace.accounts import lockout
from marketplace.clientip import client_ip

if TYPE_CHECKING:
    from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request: HttpRequest) -> str:
        # allauth's own would believe the first X-Forwarded-For entry, which the client writes.
        return client_ip(request)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # Instead of allauth's login_failed limit (off in settings), the lockout of the admin.
        lockout.login_attempt(username=_login(credentials), ip=client_ip(request))

    def authenticate(self, request: HttpRequest, **credentials: Any):
        user = super().authenticate(request, **credentials)
        if user is not None:
            lockout.login_succeeded(username=_login(credentials), ip=client_ip(request))
        return user


def _login(credentials: dict[str, Any]) -> str:
    """The account a sign-in names, as the lockout counts it: the username, whether the
    username or the account's email was typed, so that taking turns between the two gives no
    more guesses (the admin's login counts usernames too). An email no account has counts as
    itself."""
    typed = str(credentials.get("email") or credentials.get("username") or "").strip()
    if "@" in typed:
        username = (
            get_user_model()
            .objects.filter(email__iexact=typed)
            .values_list("username", flat=True)
            .first()
        )
        if username:
            return username
    return typed
