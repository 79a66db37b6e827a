"""allauth's adapter: its email login under the sign-in lockout shared with the admin
(marketplace.accounts.lockout), and its own limits (sign-ups, password resets) keyed on the
client address as every limit of the site finds it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from allauth.account.adapter import DefaultAccountAdapter

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
    return str(credentials.get("email") or credentials.get("username") or "")
