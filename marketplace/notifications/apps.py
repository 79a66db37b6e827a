from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """What users are told of the facts that concern them (a deal finished, a listing approved,
    a standing request matched…): in the site, behind the header's bell, and by email through an
    outbox, each event once per user whatever the number of processes that see it."""

    name = "marketplace.notifications"
    label = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"
