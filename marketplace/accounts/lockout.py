"""Password guessing stops after LOGIN_FAILURES_ALLOWED failed sign-ins within
LOGIN_LOCKOUT_SECONDS, counted per username and per client address: signing in is then locked
for LOGIN_LOCKOUT_SECONDS from the last of them, even with the right password.

One mechanism for every password form (the admin's login, allauth's email login, through
marketplace.accounts.adapter): `login_attempt` before checking the password, and
`login_succeeded` when it was right. An attempt takes its turn before the password is checked,
so parallel guesses cannot slip past the count; a success gives the client address its turn
back and clears the username's failures."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from marketplace import ratelimit


class LoginLocked(ValidationError):
    """Too many failed sign-ins: the message says for whom and for how long."""


def login_attempt(*, username: str, ip: str) -> None:
    """Take a sign-in attempt's turn, which a wrong password leaves taken; LoginLocked when
    the username or the address has no turn left."""
    refused = ratelimit.take(*_limits(username=username, ip=ip), lock=True)
    if refused is None:
        return
    whose = "to this account" if refused.limit.scope == "login:username" else "from your network"
    raise LoginLocked(
        f"Signing in {whose} is locked for {refused.wait_text} after "
        f"{settings.LOGIN_FAILURES_ALLOWED} failed attempts: try again then.",
        code="locked",
    )


def login_succeeded(*, username: str, ip: str) -> None:
    """The password was right: the username's failures are forgotten, the address's turn is
    given back (its other failures stay counted)."""
    by_username, by_ip = _limits(username=username, ip=ip)
    ratelimit.reset(by_username)
    ratelimit.give_back(by_ip)


def _limits(*, username: str, ip: str) -> tuple[ratelimit.Limit, ratelimit.Limit]:
    rate = ratelimit.Rate(
        count=settings.LOGIN_FAILURES_ALLOWED, seconds=settings.LOGIN_LOCKOUT_SECONDS
    )
    return (
        ratelimit.Limit(scope="login:username", ident=username.strip().lower(), rate=rate),
        ratelimit.Limit(scope="login:ip", ident=ip, rate=rate),
    )
