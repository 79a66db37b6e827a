from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from marketplace.catalogue.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo catalogue (apps, datasets, pools, ratings, comments). Idempotent."

    def handle(self, *args, **options) -> None:
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
