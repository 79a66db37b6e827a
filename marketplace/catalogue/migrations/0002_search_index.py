"""Full-text search index, native to each database (see catalogue.search)."""

from django.db import migrations

SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalogue_listing_fts USING fts5("
    "name, summary, tags, description, tokenize='unicode61 remove_diacritics 2', "
    "prefix='2 3')"
)
POSTGRES_CREATE = (
    "CREATE INDEX IF NOT EXISTS listing_search ON catalogue_listing USING gin (search_vector)"
)


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(SQLITE_CREATE)
    elif vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS catalogue_listing_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS listing_search")


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
