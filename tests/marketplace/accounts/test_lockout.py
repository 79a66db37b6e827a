"""Password guessing at /admin/login/ and /accounts/login/ (allauth) stops after
LOGIN_FAILURES_ALLOWED failures per username and per client address; while locked, even the
right password is refused with a message saying so and for how long."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests.factories.accounts import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOCKED = "is locked for 15 min after 5 failed attempts: try again then."


@pytest.fixture(autouse=True)
def _lockout_settings(settings):
    settings.LOGIN_FAILURES_ALLOWED = 5
    settings.LOGIN_LOCKOUT_SECONDS = 900
    settings.TRUSTED_PROXIES = []


@pytest.fixture
def staff():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def admin_login(client, username: str, password: str, **extra):
    return client.post(
        "/admin/login/", {"username": username, "password": password, "next": "/admin/"}, **extra
    )


def email_login(client, email: str, password: str, **extra):
    return client.post("/accounts/login/", {"login": email, "password": password}, **extra)


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_admin_login_locks_after_five_wrong_passwords_and_refuses_the_right_one(client, staff):
    for _ in range(5):
        refused = admin_login(client, "root", "wrong")
        assert refused.status_code == 200
        assert "Please enter the correct username and password" in refused.content.decode()

    response = admin_login(client, "root", PASSWORD)

    assert response.status_code == 200
    assert f"Signing in to this account {LOCKED}" in response.content.decode()
    assert not signed_in(client)


def test_admin_login_lock_holds_for_the_username_from_another_address(client, staff):
    for _ in range(5):
        admin_login(client, "root", "wrong", REMOTE_ADDR="198.51.100.1")

    response = admin_login(client, "ROOT ", PASSWORD, REMOTE_ADDR="198.51.100.2")

    assert f"Signing in to this account {LOCKED}" in response.content.decode()
    assert not signed_in(client)


def test_admin_login_lock_holds_for_the_address_across_usernames(client, staff):
    for n in range(5):
        admin_login(client, f"guess{n}", "wrong", REMOTE_ADDR="198.51.100.1")

    locked = admin_login(client, "root", PASSWORD, REMOTE_ADDR="198.51.100.1")
    elsewhere = admin_login(client, "root", PASSWORD, REMOTE_ADDR="198.51.100.2")

    assert f"Signing in from your network {LOCKED}" in locked.content.decode()
    assert elsewhere.status_code == 302
    assert signed_in(client)


def test_a_spoofed_forwarded_for_does_not_escape_the_address_lock(client, staff):
    for n in range(5):
        admin_login(client, f"guess{n}", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    response = admin_login(client, "root", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert f"Signing in from your network {LOCKED}" in response.content.decode()


def test_a_success_forgets_the_usernames_failures(client, staff):
    for _ in range(4):
        admin_login(client, "root", "wrong")
    assert admin_login(client, "root", PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        admin_login(client, "root", "wrong", REMOTE_ADDR="198.51.100.7")

    assert admin_login(client, "root", PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_email_login_locks_after_five_wrong_passwords_and_refuses_the_right_one(client):
    UserFactory(email="alice@example.com", password=PASSWORD)
    for _ in range(5):
        refused = email_login(client, "alice@example.com", "wrong")
        assert "The email address and/or password you specified are not correct." in (
            refused.content.decode()
        )

    response = email_login(client, "Alice@Example.com", PASSWORD)

    assert response.status_code == 200
    assert f"Signing in to this account {LOCKED}" in response.content.decode()
    assert not signed_in(client)


def test_admin_and_email_login_share_the_address_lock(client, staff):
    UserFactory(email="alice@example.com", password=PASSWORD)
    for n in range(5):
        admin_login(client, f"guess{n}", "wrong")

    response = email_login(client, "alice@example.com", PASSWORD)

    assert f"Signing in from your network {LOCKED}" in response.content.decode()
    assert not signed_in(client)


def test_email_login_still_signs_in_with_a_few_mistakes(client):
    user = UserFactory(email="alice@example.com", password=PASSWORD)
    for _ in range(4):
        email_login(client, "alice@example.com", "wrong")

    response = email_login(client, "alice@example.com", PASSWORD)

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk
    assert get_user_model().objects.count() == 1


def test_the_site_login_takes_a_username_as_the_readme_says_the_curator_signs_in(client, staff):
    staff.email = "root@example.com"
    staff.save()

    response = email_login(client, "root", PASSWORD)

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == staff.pk


def test_taking_turns_between_username_and_email_gives_no_more_guesses(client, staff):
    staff.email = "root@example.com"
    staff.save()
    for n in range(5):
        login = "root" if n % 2 else "Root@Example.com"
        email_login(client, login, "wrong", REMOTE_ADDR=f"198.51.100.{n}")

    by_name = email_login(client, "root", PASSWORD, REMOTE_ADDR="198.51.100.9")
    at_admin = admin_login(client, "root", PASSWORD, REMOTE_ADDR="198.51.100.9")

    assert f"Signing in to this account {LOCKED}" in by_name.content.decode()
    assert f"Signing in to this account {LOCKED}" in at_admin.content.decode()
    assert not signed_in(client)
