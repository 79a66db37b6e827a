from __future__ import annotations

from django.apps import AppConfig


class DealsConfig(AppConfig):
    """What the chain says about trade: categories, orders consumed, deals, tasks,
    contributions, escrow accounts and workers, as the indexer projects its events."""

    name = "marketplace.deals"
    label = "deals"
    verbose_name = "Deals and tasks"
    default_auto_field = "django.db.models.BigAutoField"
