"""The admin's login form, under the sign-in lockout (marketplace.accounts.lockout)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm

from marketplace.accounts import lockout
from marketplace.clientip import client_ip


class AdminLoginForm(AdminAuthenticationForm):
    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        if username is None or not self.cleaned_data.get("password"):
            return super().clean()  # a missing field: no password was tried
        ip = client_ip(self.request)
        lockout.login_attempt(username=username, ip=ip)
        try:
            return super().clean()
        finally:
            if self.user_cache is not None:  # the password was right (staff or not)
                lockout.login_succeeded(username=username, ip=ip)
