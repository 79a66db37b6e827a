"""`manage.py refresh_records`: derive every pool's reliability record again from the index and
rank every listing again, as the indexer's followers do after a reorganization. Run it once on
an index built before the records existed (or before a change of how listings rank); the
followers keep both up to date from then on."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from marketplace.catalogue.assets import rank_listings
from marketplace.catalogue.freshness import catalogue_changed
from pools.models import PoolRecord
from pools.records import pool_records_refresh


class Command(BaseCommand):
    help = (
        "Derive every pool's reliability record again from the index of CHAIN_ID, then rank "
        "every listing again (a pool by its reliability, an app or a dataset by its blend)."
    )

    def handle(self, *args, **options) -> None:
        chain_id = settings.CHAIN_ID
        with transaction.atomic():
            changed = pool_records_refresh(chain_id=chain_id, workerpools=None)
            rank_listings(chain_id=chain_id, assets=None)
            catalogue_changed()
        records = PoolRecord.objects.filter(chain_id=chain_id).count()
        self.stdout.write(
            f"{records} pool record{'s' if records != 1 else ''} on chain {chain_id}, "
            f"{len(changed)} with a new reliability figure; listings ranked again."
        )
