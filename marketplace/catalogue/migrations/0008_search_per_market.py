"""PostgreSQL: one GIN search index per market over its public listings.

A search on a list page asks for the public listings of one market. With the single index over
every listing, PostgreSQL read the posting lists of all markets and intersected them with the
market's rows; a partial index per market holds a third of the entries and needs no
intersection. SQLite is unchanged (its FTS5 table indexes the market as a facet)."""

from django.db import migrations

MARKETS = ("app", "dataset", "pool")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for market in MARKETS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS listing_search_{market} ON catalogue_listing "
            f"USING gin (search_vector) WHERE is_public AND kind = '{market}'"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for market in MARKETS:
        schema_editor.execute(f"DROP INDEX IF EXISTS listing_search_{market}")


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0007_search_prefix_indexes")]
    operations = [migrations.RunPython(forward, backward)]
