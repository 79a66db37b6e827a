from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from marketplace.notifications.models import Notification, NotificationKind
from tests.factories.accounts import UserFactory


class VerifiedEmailFactory(factory.django.DjangoModelFactory):
    """A user's verified, primary email address (allauth's), where their emails go."""

    class Meta:
        model = EmailAddress

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda address: address.user.email)
    verified = True
    primary = True


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    kind = NotificationKind.DEAL_FINISHED
    key = factory.Sequence(lambda n: f"event:{n}")
    title = factory.Sequence(lambda n: f"Event {n} happened")
    body = "What it means."
    url = "/deals/"
