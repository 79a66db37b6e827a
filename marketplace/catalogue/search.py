"""Full-text search over listings, native to each database.

PostgreSQL keeps a weighted `tsvector` in `Listing.search_vector` behind a GIN index; SQLite
keeps an FTS5 table (`catalogue_listing_fts`, rowid = listing id). Both are refreshed
explicitly by `index_listings` (called by the catalogue services whenever a listing's text,
tags, market or visibility changes), and both match every word of the query, words of three
letters or more as prefixes, so "res svg" finds "resvg SVG renderer".

The FTS5 table also indexes each listing's market and visibility as tokens of a `facets`
column, so that SQLite narrows a search to the public listings of one market inside the index,
and can walk the matches newest first (by rowid) and stop early: a common word matches most of
a large catalogue, and reading every match costs tens of milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from marketplace.catalogue.models import Listing

FTS_TABLE = "catalogue_listing_fts"
MAX_TERMS = 8
MIN_PREFIX = 3
# The table name is a constant; the user's words only ever travel as a bound parameter.
_FTS_MATCH_SQL = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s"  # noqa: S608
_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """The words of a user's query, lower-cased, at most MAX_TERMS; punctuation is dropped so
    that nothing the user types reaches the query languages of FTS5 or tsquery."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_TERMS]


def _is_prefix(term: str) -> bool:
    """Words of three letters or more also match longer words; shorter ones match only
    themselves, since "a" or "re" as a prefix matches most of the catalogue."""
    return len(term) >= MIN_PREFIX


CONTENT_COLUMNS = "{name summary tags description}"


def _facets(kind: str, is_public: bool) -> str:
    return f"kind{kind} public" if is_public else f"kind{kind}"


def _fts_match(terms: list[str], public_kind: str | None) -> str:
    words = " ".join(f'"{term}"*' if _is_prefix(term) else f'"{term}"' for term in terms)
    match = f"{CONTENT_COLUMNS} : ({words})"
    if public_kind:
        # Market names are the model's choices, never user input.
        match += (
            f" AND facets : {_facets(public_kind, is_public=True).replace(' ', ' AND facets : ')}"
        )
    return match


def _tsquery(terms: list[str]) -> str:
    return " & ".join(f"{term}:*" if _is_prefix(term) else term for term in terms)


def filter_by_search(
    queryset: QuerySet[Listing], query: str, *, public_kind: str | None = None
) -> QuerySet[Listing]:
    """Listings of `queryset` matching every word of `query`.

    `public_kind` is a hint that makes SQLite's search cheaper and never widens the result: the
    queryset holds only public listings of this market (`kind`)."""
    terms = query_terms(query)
    if not terms:
        return queryset
    if connection.vendor == "postgresql":
        tsquery = SearchQuery(_tsquery(terms), search_type="raw", config="simple")
        return queryset.filter(search_vector=tsquery)
    # The unary plus keeps SQLite from driving the query from the matches: it walks the index
    # of the page's sort order instead and checks each listing against them, stopping after a
    # page. Driven from the matches, a common word sorted by rating meant sorting a third of
    # the catalogue (50 ms at 100,000 listings, against 8).
    table = queryset.model._meta.db_table
    in_matches = f'+"{table}"."id" IN ({_FTS_MATCH_SQL})'
    match = _fts_match(terms, public_kind)
    return queryset.filter(RawSQL(in_matches, (match,), output_field=BooleanField()))  # noqa: S611


def newest_public_matches(query: str, *, kind: str, limit: int) -> list[int] | None:
    """Ids of the newest `limit` public listings of the market `kind` matching `query`, newest
    first, read from SQLite's index alone; None where the index cannot answer this by itself
    (PostgreSQL, or a query without words), and the caller filters a queryset instead.

    One read serves both the pager's count and its page: the index walks its matches newest
    first and stops after `limit`, and with the prefix indexes a common word among 100,000
    listings costs about a millisecond. PostgreSQL does better with two queries: the count
    from the market's GIN index, and the page from a walk of the newest listings that stops
    after a page (one query for both makes it walk until `limit` matches, tens of
    milliseconds for a word in one listing of twenty)."""
    terms = query_terms(query)
    if not terms or connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_FTS_MATCH_SQL} ORDER BY rowid DESC LIMIT %s", (_fts_match(terms, kind), limit)
        )
        return [row[0] for row in cursor.fetchall()]


def _documents(listing_ids: Iterable[int]) -> list[tuple[int, str, str, str, str, str]]:
    rows = Listing.objects.filter(id__in=list(listing_ids)).values_list(
        "id", "name", "summary", "description", "kind", "is_public"
    )
    tags: dict[int, list[str]] = {}
    for listing_id, tag_name in Listing.tags.through.objects.filter(
        listing_id__in=[row[0] for row in rows]
    ).values_list("listing_id", "tag__name"):
        tags.setdefault(listing_id, []).append(tag_name)
    return [
        (lid, name, summary, " ".join(tags.get(lid, [])), desc, _facets(kind, is_public))
        for lid, name, summary, desc, kind, is_public in rows
    ]


_POSTGRES_REINDEX_SQL = """
UPDATE catalogue_listing AS l SET search_vector =
    setweight(to_tsvector('simple', l.name), 'A')
    || setweight(to_tsvector('simple', l.summary || ' ' || coalesce(t.names, '')), 'B')
    || setweight(to_tsvector('simple', l.description), 'C')
FROM (
    SELECT listing.id, string_agg(tag.name, ' ') AS names
    FROM catalogue_listing AS listing
    LEFT JOIN catalogue_listing_tags AS lt ON lt.listing_id = listing.id
    LEFT JOIN catalogue_tag AS tag ON tag.id = lt.tag_id
    WHERE listing.id = ANY(%s)
    GROUP BY listing.id
) AS t
WHERE l.id = t.id
"""


def index_listings(listing_ids: Iterable[int]) -> None:
    """Refresh the search document of these listings (call inside the writing transaction)."""
    ids = list(listing_ids)
    if connection.vendor == "postgresql":
        # One statement per batch: the database builds the documents itself.
        with connection.cursor() as cursor:
            for start in range(0, len(ids), 2000):
                cursor.execute(_POSTGRES_REINDEX_SQL, [ids[start : start + 2000]])
        return
    for start in range(0, len(ids), 500):
        batch = _documents(ids[start : start + 500])
        with connection.cursor() as cursor:
            cursor.executemany(
                f"DELETE FROM {FTS_TABLE} WHERE rowid = %s",  # noqa: S608
                [(row[0],) for row in batch],
            )
            cursor.executemany(
                f"INSERT INTO {FTS_TABLE}(rowid, name, summary, tags, description, facets)"  # noqa: S608
                " VALUES (%s, %s, %s, %s, %s, %s)",
                batch,
            )


def unindex_listings(listing_ids: Iterable[int]) -> None:
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.executemany(
                f"DELETE FROM {FTS_TABLE} WHERE rowid = %s",  # noqa: S608
                [(lid,) for lid in listing_ids],
            )
