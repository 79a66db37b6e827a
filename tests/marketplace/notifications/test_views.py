"""The notifications' pages: the header's bell with its count, the list (paginated, read one,
read all, empty), the preferences; a notification whose listing was deleted still reads."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace.notifications.models import Notification, NotificationKind, Preference
from marketplace.notifications.services import notify_listing_curated
from tests.factories.accounts import UserFactory
from tests.factories.catalogue import ListingFactory
from tests.factories.notifications import NotificationFactory, VerifiedEmailFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_header_shows_the_bell_with_the_unread_count(client, user):
    NotificationFactory.create_batch(2, user=user)
    NotificationFactory(user=user, read_at="2026-01-01T00:00:00Z")
    NotificationFactory(user=user, shown=False)  # turned off in the site
    NotificationFactory()  # someone else's

    page = client.get("/").content.decode()

    assert 'data-unread="2"' in page
    assert 'aria-label="Notifications: 2 unread"' in page
    assert '<span class="bell-count">2</span>' in page
    assert 'ws-connect="/ws/notifications/"' in page


def test_the_count_is_one_query_made_once_per_page(client, user):
    NotificationFactory(user=user)

    with CaptureQueriesContext(connection) as captured:
        client.get("/notifications/preferences/")

    counted = [
        query["sql"]
        for query in captured.captured_queries
        if "COUNT(" in query["sql"] and "notifications_notification" in query["sql"]
    ]
    assert len(counted) == 1


def test_anonymous_visitors_have_no_bell_and_the_list_asks_to_sign_in():
    client = Client()

    assert "notification-bell" not in client.get("/").content.decode()
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/notifications/"


def test_the_list_shows_the_users_notifications_newest_first_and_paginates(client, user):
    made = NotificationFactory.create_batch(21, user=user)
    NotificationFactory(title="Not yours")

    first = client.get("/notifications/").content.decode()
    second = client.get("/notifications/?page=2").content.decode()

    assert made[-1].title in first and made[1].title in first
    assert made[0].title not in first and made[0].title in second
    assert first.index(made[-1].title) < first.index(made[-2].title)
    assert "Page 1 of 2" in first
    assert "Not yours" not in first + second


def test_an_empty_list_says_what_will_come_and_where_to_choose(client):
    page = client.get("/notifications/").content.decode()

    assert "No notifications yet." in page
    assert 'href="/notifications/preferences/"' in page


def test_reading_one_goes_back_to_its_page_and_lowers_the_count(client, user):
    NotificationFactory.create_batch(21, user=user)
    oldest = Notification.objects.order_by("id").first()

    response = client.post(f"/notifications/{oldest.pk}/read/", {"page": "2"})

    assert response.status_code == 302
    assert response["Location"] == "/notifications/?page=2"
    oldest.refresh_from_db()
    assert oldest.read_at is not None
    assert 'data-unread="20"' in client.get("/").content.decode()


def test_reading_someone_elses_notification_is_not_found_and_changes_nothing(client):
    theirs = NotificationFactory()

    response = client.post(f"/notifications/{theirs.pk}/read/", {"page": "https://evil.test/"})

    assert response.status_code == 404
    assert "You have no such notification" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_reading_a_notification_read_already_goes_back_quietly(client, user):
    read = NotificationFactory(user=user, read_at=timezone.now())

    response = client.post(f"/notifications/{read.pk}/read/", {"page": "https://evil.test/"})

    assert response["Location"] == "/notifications/"


def test_reading_all_says_how_many(client, user):
    NotificationFactory.create_batch(3, user=user)

    page = client.post("/notifications/read/", follow=True).content.decode()

    assert "3 notifications marked read." in page
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert 'data-unread="0"' in page


def test_reading_needs_a_post(client, user):
    notification = NotificationFactory(user=user)

    assert client.get(f"/notifications/{notification.pk}/read/").status_code == 405
    assert client.get("/notifications/read/").status_code == 405


def test_a_notification_of_a_deleted_listing_still_reads_and_its_link_is_a_polite_404(client, user):
    listing = ListingFactory(owner=user, name="Resizer")
    notify_listing_curated(
        decision_id=1,
        user=user,
        listing_name=listing.name,
        listing_url=listing.get_absolute_url(),
        approved=True,
    )
    url = listing.get_absolute_url()
    listing.delete()

    page = client.get("/notifications/").content.decode()
    assert f'<a href="{url}">Resizer was approved: it is public now</a>' in page
    gone = client.get(url)
    assert gone.status_code == 404
    assert "SuperEdge" in gone.content.decode()


def test_the_preferences_page_shows_the_defaults_and_saves_choices(client, user):
    page = client.get("/notifications/preferences/").content.decode()
    assert (
        'name="in_site" value="review" id="in-site-review" aria-label="A new review of a ' in page
    )
    assert 'id="by-email-review" aria-label="A new review of a listing of mine: by email">' in page
    assert (
        'id="by-email-deal_finished" aria-label="A deal of mine finished: by email" checked>'
        in page
    )
    assert "No verified email address: nothing is emailed to you." in page

    response = client.post(
        "/notifications/preferences/",
        {"in_site": ["deal_finished"], "by_email": ["review"]},
        follow=True,
    )

    assert "Your notification preferences are saved." in response.content.decode()
    saved = dict(Preference.objects.filter(user=user).values_list("kind", "in_site"))
    assert saved[NotificationKind.DEAL_FINISHED] is True
    assert saved[NotificationKind.REVIEW] is False
    assert Preference.objects.get(user=user, kind="review").by_email is True
    assert Preference.objects.get(user=user, kind="deal_finished").by_email is False


def test_the_preferences_page_names_the_address_emails_go_to(client, user):
    VerifiedEmailFactory(user=user, email="me@example.com")

    page = client.get("/notifications/preferences/").content.decode()

    assert "Emails go to <strong>me@example.com</strong>, one per event." in page


def test_an_unknown_kind_sent_to_the_preferences_is_refused_and_nothing_saved(client, user):
    page = client.post("/notifications/preferences/", {"in_site": ["bogus"]}).content.decode()

    assert "Unknown kind of notification: bogus." in page
    assert not Preference.objects.exists()
