"""System checks of the site's own settings (registered by MarketplaceConfig.ready).

`manage.py check` (and so runserver and migrate) refuses malformed limits; `check --deploy`
also refuses a weak key for dataset keys."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from datamarket import crypto
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


@register(Tags.security, deploy=True)
def check_dataset_key_encryption_key(app_configs, **kwargs) -> list[CheckMessage]:
    key = settings.DATASET_KEY_ENCRYPTION_KEY
    weakness = crypto.server_key_weakness(key)
    if not weakness and key == settings.SECRET_KEY:
        weakness = "it is the same as DJANGO_SECRET_KEY, so one leak gives both away"
    if not weakness:
        return []
    return [
        Error(
            f"DATASET_KEY_ENCRYPTION_KEY is too weak to protect the datasets' keys: {weakness}.",
            hint=(
                "Set it to 32 random bytes, e.g. the output of python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'. Datasets stored under the old key need "
                "their keys re-wrapped under the new one (datamarket.crypto)."
            ),
            id="marketplace.E004",
        )
    ]
