"""The site's system checks: malformed limits."""

from __future__ import annotations

from django.core.checks import Error

from marketplace.checks import check_limits


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
