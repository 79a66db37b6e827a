from __future__ import annotations

from django.apps import AppConfig

from marketplace.indexer.notify import progress_changed
from marketplace.indexer.signals import deals_changed

# More deals than this in one indexed batch are left to the pages' own re-reads
# (PROGRESS_POLL_SECONDS): a catching-up indexer would otherwise flood the channel layer.
MAX_NOTIFIED_DEALS = 200


def _deals_changed(sender, *, chain_id: int, dealids: set[str], **kwargs) -> None:
    if len(dealids) > MAX_NOTIFIED_DEALS:
        return
    for dealid in dealids:
        progress_changed(dealid)


class DealsConfig(AppConfig):
    """What the chain says about trade: categories, orders consumed, deals, tasks,
    contributions, escrow accounts and workers, as the indexer projects its events; and the
    deal pages, whose live state follows the deals each indexed batch touches."""

    name = "marketplace.deals"
    label = "deals"
    verbose_name = "Deals and tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        deals_changed.connect(_deals_changed, dispatch_uid="deals.progress")
