"""System checks of the site's own settings (registered by MarketplaceConfig.ready).

`manage.py check` (and so runserver and migrate) refuses malformed limits."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from marketplace.clientip import trusted_proxies_problems
from marketplace.ratelimit import Rate

RATE_SETTINGS = (
    "COMMENT_RATE",
    "RATING_RATE",
    "FAUCET_RATE_PER_USER",
    "FAUCET_RATE_PER_WALLET",
    "FAUCET_RATE_PER_IP",
)


@register(Tags.security)
def check_limits(app_configs, **kwargs) -> list[CheckMessage]:
    errors = [
        Error(problem, id="marketplace.E001")
        for problem in trusted_proxies_problems(settings.TRUSTED_PROXIES)
    ]
    for name in RATE_SETTINGS:
        try:
            Rate.parse(getattr(settings, name), setting=name)
        except ImproperlyConfigured as error:
            errors.append(Error(str(error), id="marketplace.E002"))
    for name in ("LOGIN_FAILURES_ALLOWED", "LOGIN_LOCKOUT_SECONDS"):
        if getattr(settings, name) < 1:
            errors.append(
                Error(
                    f"{name} is {getattr(settings, name)}: set a whole number of at least 1.",
                    id="marketplace.E003",
                )
            )
    return errors
