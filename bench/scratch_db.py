"""A PostgreSQL database of a benchmark's own: created on DATABASE_URL's server (default
postgres://postgres@127.0.0.1:5432), migrated, and dropped at the end."""

from __future__ import annotations

import os
import sys
import urllib.parse

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/superedge"


def database_urls(name: str) -> tuple[str, str]:
    """(the benchmark database's URL, the server's maintenance database URL)."""
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    if not parts.scheme.startswith("postgres"):
        sys.exit(f"This benchmark needs PostgreSQL; DATABASE_URL is {parts.scheme}://…")
    bench = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    admin = urllib.parse.urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    return bench, admin


def recreate_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            identifier = sql.Identifier(name)
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
    except psycopg.OperationalError as error:
        sys.exit(f"PostgreSQL is not reachable ({error}): start it, or set DATABASE_URL.")


def drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def setup_django(database_url: str) -> None:
    """Django on `database_url`, migrated; one connection (no pool)."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
    call_command("migrate", verbosity=0)
