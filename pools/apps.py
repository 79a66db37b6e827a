from django.apps import AppConfig

# More deals than this in one indexed batch are left to the pages' own re-reads
# (PROGRESS_POLL_SECONDS): a catching-up indexer would otherwise flood the channel layer.
MAX_NOTIFIED_DEALS = 200


def _deals_changed(sender, *, chain_id: int, dealids: set[str], **kwargs) -> None:
    from pools.progress import progress_changed

    if len(dealids) > MAX_NOTIFIED_DEALS:
        return
    for dealid in dealids:
        progress_changed(dealid)


class PoolsConfig(AppConfig):
    name = "pools"

    def ready(self) -> None:
        from marketplace.indexer.signals import deals_changed

        deals_changed.connect(_deals_changed, dispatch_uid="pools.progress")
