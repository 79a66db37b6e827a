"""The site's system checks: malformed limits always, a weak dataset key under --deploy."""

from __future__ import annotations

import secrets

import pytest
from django.core.checks import Error

from marketplace.checks import check_dataset_key_encryption_key, check_limits


def test_the_default_limits_pass():
    assert check_limits(None) == []


def test_malformed_limits_are_errors_that_say_what_to_write(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.internal"]
    settings.COMMENT_RATE = "5 per minute"
    settings.LOGIN_FAILURES_ALLOWED = 0

    errors = check_limits(None)

    assert [error.id for error in errors] == [
        "marketplace.E001",
        "marketplace.E002",
        "marketplace.E003",
    ]
    assert all(isinstance(error, Error) for error in errors)
    assert "TRUSTED_PROXIES holds 'proxy.internal', which is not an IP address" in errors[0].msg
    assert "COMMENT_RATE is '5 per minute', not a rate" in errors[1].msg
    assert errors[2].msg == "LOGIN_FAILURES_ALLOWED is 0: set a whole number of at least 1."


@pytest.mark.parametrize("make_key", [secrets.token_urlsafe, secrets.token_hex])
def test_a_random_dataset_key_encryption_key_passes(settings, make_key):
    settings.DATASET_KEY_ENCRYPTION_KEY = make_key(32)

    assert check_dataset_key_encryption_key(None) == []


def test_a_weak_dataset_key_encryption_key_is_an_error_with_what_to_do(settings):
    settings.DATASET_KEY_ENCRYPTION_KEY = "OlJxXclbU0QRnlejB5YlB9yHgjoEL4qs"  # 192 bits

    (error,) = check_dataset_key_encryption_key(None)

    assert error.id == "marketplace.E004"
    assert isinstance(error, Error)
    assert error.msg == (
        "DATASET_KEY_ENCRYPTION_KEY is too weak to protect the datasets' keys: its 32 "
        "characters hold at most 192 bits, less than 256 (it needs 43 characters like these)."
    )
    assert "secrets.token_urlsafe(32)" in error.hint


def test_the_dataset_key_encryption_key_may_not_be_the_secret_key(settings):
    settings.DATASET_KEY_ENCRYPTION_KEY = settings.SECRET_KEY = secrets.token_urlsafe(32)

    (error,) = check_dataset_key_encryption_key(None)

    assert "it is the same as DJANGO_SECRET_KEY" in error.msg
