from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from marketplace.catalogue.models import Listing
from marketplace.demo.listings import APPS, DATASETS, POOLS, seed_demo
from marketplace.demo.onchain import seed_demo_chain


class Command(BaseCommand):
    help = (
        "Create the demo catalogue (apps, datasets, pools, ratings, comments) and, on the "
        "development chain, register its assets and run a first deal. Idempotent."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--no-chain", action="store_true", help="Leave the chain alone (catalogue only)."
        )

    def handle(self, *args, no_chain: bool = False, **options) -> None:
        User = get_user_model()
        email = os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com")
        curator, created = User.objects.get_or_create(
            username="admin", defaults={"email": email, "is_staff": True, "is_superuser": True}
        )
        password = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        if created or password:
            if password:
                curator.set_password(password)
            else:
                curator.set_unusable_password()
            curator.save()
        counts = seed_demo(curator=curator)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo catalogue: {counts['app']} apps, {counts['dataset']} datasets, "
                f"{counts['pool']} worker pools."
            )
        )
        if not no_chain:
            names = [spec["name"] for spec in (*APPS, *DATASETS, *POOLS)]
            listings = sorted(
                Listing.objects.filter(name__in=names).prefetch_related("prices"),
                key=lambda listing: names.index(listing.name),
            )
            self.stdout.write(seed_demo_chain(listings=listings))
