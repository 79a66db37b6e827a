"""What people write into the catalogue: how long each text may be, and what a name may hold.

A text over its limit is refused with a message giving the limit and the length given, never cut:
what someone wrote is theirs to shorten. The forms (catalogue.forms) and the services check with
the same functions, so a message reads the same wherever the text came from."""

from __future__ import annotations

import re

from marketplace.catalogue.models import (
    Comment,
    CommentReport,
    Listing,
    ListingReport,
    Rating,
    RatingReport,
)

NAME_MAX = Listing._meta.get_field("name").max_length
SUMMARY_MAX = Listing._meta.get_field("summary").max_length
DESCRIPTION_MAX = 20_000
COMMENT_MAX = Comment._meta.get_field("body").max_length
COMMENT_REPORT_MAX = CommentReport._meta.get_field("reason").max_length
LISTING_REPORT_MAX = ListingReport._meta.get_field("reason").max_length
REVIEW_TITLE_MAX = Rating._meta.get_field("title").max_length
REVIEW_MAX = Rating._meta.get_field("body").max_length
REVIEW_REPLY_MAX = Rating._meta.get_field("reply").max_length
REVIEW_REPORT_MAX = RatingReport._meta.get_field("reason").max_length

# A tag (<b>, </b>, <!-- -->, <?xml) or a character reference (&amp;, &#60;): a name is shown as
# it is written, so markup in it would show as markup's source, and its slug would carry the rest.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_TAG = re.compile(r"<[^<>]{0,40}>?")


def normalized(text: str) -> str:
    """Line breaks as one character each (\\n), as a browser counts them in a text box."""
    return text.replace("\r\n", "\n")


def too_long(noun: str, text: str, limit: int) -> str | None:
    """The message refusing `text` when it is longer than `limit` characters, else None."""
    length = len(normalized(text))
    if length <= limit:
        return None
    return (
        f"A {noun} is at most {limit:,} characters; this one has {length:,}: shorten it by "
        f"{length - limit:,}."
    )


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a listing's name (markup in it), else None."""
    found = _MARKUP.search(name)
    if found is None:
        return None
    markup = found.group()
    if markup.startswith("<"):
        markup = _TAG.match(name, found.start()).group()
    return (
        f"A name is plain text, without HTML: remove “{markup}” from it (the description "
        "takes formatting, in Markdown)."
    )
