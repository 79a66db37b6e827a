"""SQLite's search index also indexes each listing's market and visibility (`facets`), so that
a search narrows to the public listings of one market inside the index (see catalogue.search).
PostgreSQL is unchanged."""

from django.db import migrations

FTS_COLUMNS = (
    "name, summary, tags, description{}, tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
)
CREATE = "CREATE VIRTUAL TABLE catalogue_listing_fts USING fts5({})"
FILL = """
INSERT INTO catalogue_listing_fts(rowid, name, summary, tags, description{facets_column})
SELECT l.id, l.name, l.summary, coalesce(t.names, ''), l.description{facets_value}
FROM catalogue_listing AS l
LEFT JOIN (
    SELECT lt.listing_id, group_concat(tag.name, ' ') AS names
    FROM catalogue_listing_tags AS lt JOIN catalogue_tag AS tag ON tag.id = lt.tag_id
    GROUP BY lt.listing_id
) AS t ON t.listing_id = l.id
"""
FACETS_VALUE = ", 'kind' || l.kind || CASE WHEN l.is_public THEN ' public' ELSE '' END"


def _rebuild(schema_editor, *, facets: bool) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("DROP TABLE IF EXISTS catalogue_listing_fts")
    schema_editor.execute(CREATE.format(FTS_COLUMNS.format(", facets" if facets else "")))
    schema_editor.execute(
        FILL.format(
            facets_column=", facets" if facets else "",
            facets_value=FACETS_VALUE if facets else "",
        )
    )


def add_facets(apps, schema_editor):
    _rebuild(schema_editor, facets=True)


def remove_facets(apps, schema_editor):
    _rebuild(schema_editor, facets=False)


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0005_newest_by_id")]
    operations = [migrations.RunPython(add_facets, remove_facets)]
