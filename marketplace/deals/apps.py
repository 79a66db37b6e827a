from __future__ import annotations

from django.apps import AppConfig


class DealsConfig(AppConfig):
    """The deal pages: what the chain says about a deal, its tasks and its workers (projected
    by the indexer), and their live state, which follows the deals each indexed batch touches
    (marketplace.deals.followers)."""

    name = "marketplace.deals"
    label = "deals"
    verbose_name = "Deals and tasks"
    default_auto_field = "django.db.models.BigAutoField"
