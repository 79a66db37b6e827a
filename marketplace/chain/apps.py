from __future__ import annotations

from django.apps import AppConfig


class ChainConfig(AppConfig):
    """The chain layer: the only code that talks to the chain, and the record of our deployments.

    Loading the app must stay cheap: nothing here (models, views, template tags) imports web3 at
    module level, so processes that never touch the chain do not pay its import time."""

    name = "marketplace.chain"
    label = "chain"
    verbose_name = "Chain"
    default_auto_field = "django.db.models.BigAutoField"
