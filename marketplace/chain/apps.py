from __future__ import annotations

import sys

from django.apps import AppConfig


class ChainConfig(AppConfig):
    """The chain layer: the only code that talks to the chain, and the record of our deployments.

    Loading the app must stay cheap: nothing here (models, views, template tags) imports web3 at
    module level, so processes that never touch the chain do not pay its import time."""

    name = "marketplace.chain"
    label = "chain"
    verbose_name = "Chain"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # py_ecc (imported by eth_account, which signatures need) raises the recursion limit to
        # 100000 at import, so a deeply nested input overflows the C stack and kills the process
        # instead of raising RecursionError. Load it now, then put Python's default back.
        import eth_account  # noqa: F401

        sys.setrecursionlimit(1000)
