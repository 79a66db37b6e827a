"""Small presentation helpers: prices, stars, generated listing icons, listing cards."""

from __future__ import annotations

import hashlib
import json
import math
from decimal import Decimal
from functools import lru_cache
from html import escape

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.services import comment_can_edit
from marketplace.chain.amounts import ECT_DECIMALS, from_units

register = template.Library()

# Generated icons: a gradient of one of the stylesheet's palettes (.icon-palette-N), in one of
# its directions (.icon-angle-N); the Content-Security-Policy allows no inline style.
ICON_PALETTES = 8
ICON_ANGLES = 8


@register.filter
def ect(value) -> str:
    """A price in ECT with no trailing zeros: 0.250000000 → 0.25 ECT."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value).normalize()
    text = f"{amount:f}"
    return f"{text} ECT"


@register.filter
def ect_units(value) -> str:
    """An amount in ECT base units (9 decimals) as ECT: 250000000 → 0.25 ECT."""
    if value is None or value == "":
        return "—"

    return ect(from_units(int(value), decimals=ECT_DECIMALS))


@register.filter
def percent(value) -> str:
    """A fraction as a whole percentage (0.873 → 87 %); a dash for None."""
    if value is None:
        return "—"
    return f"{round(100 * float(value))} %"


@register.filter
def bar_width(value, whole=100) -> str:
    """The stylesheet's class (w-0 to w-100) for a bar filled to `value` of `whole`, in whole
    percents: 42.4 → "w-42", 0.5 of 1 → "w-50". Nothing, or nonsense, is an empty bar."""
    try:
        fraction = float(value) / float(whole)
    except (TypeError, ValueError, ZeroDivisionError):
        return "w-0"
    if math.isnan(fraction):
        return "w-0"
    return f"w-{round(100 * max(0.0, min(1.0, fraction)))}"


@register.simple_tag
def stars(value, size: str = "") -> SafeString:
    """Five stars filled to the exact rating (a gold layer clipped over grey stars)."""
    rating = max(0.0, min(5.0, float(value or 0)))
    return mark_safe(  # noqa: S308 -- numbers, and `size` escaped
        f'<span class="stars {escape(size)}" role="img" aria-label="{rating:.1f} out of 5 stars"'
        f' title="{rating:.1f} out of 5"><span class="stars-on {bar_width(rating, 5)}">'
        "★★★★★</span>★★★★★</span>"
    )


@lru_cache(maxsize=4096)
def _generated_icon(name: str, size: int) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    palette, angle = digest[0] % ICON_PALETTES, digest[1] % ICON_ANGLES
    words = [w for w in name.replace("-", " ").split() if w[:1].isalnum()]
    initials = escape("".join(w[0] for w in words[:2]).upper() or "?")
    # An SVG scales its initials with its size (a 100-unit box), without a style attribute.
    return (
        f'<svg class="icon icon-generated icon-palette-{palette} icon-angle-{angle}"'
        f' width="{size:d}" height="{size:d}" viewBox="0 0 100 100" aria-hidden="true">'
        f'<text x="50" y="50" text-anchor="middle" dominant-baseline="central">{initials}</text>'
        "</svg>"
    )


@register.simple_tag
def listing_icon(listing, size: int = 56) -> SafeString:
    """The listing's uploaded icon, or a generated one: its initials on a colour gradient
    chosen by its name, so every listing is recognisable at a glance."""
    if listing.icon:
        return format_html(
            '<img class="icon" src="{}" alt="" width="{}" height="{}" loading="lazy">',
            listing.icon.url,
            size,
            size,
        )
    return mark_safe(_generated_icon(listing.name, int(size)))  # noqa: S308 -- escaped there


def _truncated(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


# Cards build dozens of URLs per page, and `reverse` costs more than the rest of a card: each
# pattern is reversed once (per script prefix) and the slug put in its place.
_SLUG = "SLUG"


@lru_cache(maxsize=64)
def _detail_url_parts(kind: str, script_prefix: str) -> tuple[str, str]:
    before, after = reverse(f"{kind}_detail", kwargs={"slug": _SLUG}).split(_SLUG, 1)
    return before, after


@lru_cache(maxsize=64)
def _list_url(kind: str, script_prefix: str) -> str:
    return reverse(f"{kind}_list")


@register.simple_tag
def run_phrase(listing, run) -> str:
    """What a listing's cheapest run costs and with whom, from the book: "from 0.13 ECT per
    task with Lyon Edge Alpha, XS"; "No open offer" without one. Plain text (not escaped)."""
    if run is None:
        return "No open offer"
    partners = MARKETS[listing.kind].run_partners(run)
    return f"from {ect_units(run.price)} per task with {partners}, {run.category}"


def _run_html(listing, run) -> str:
    if run is None:
        return '<p class="run muted">No open offer</p>'
    price = escape(ect_units(run.price))
    rest = escape(run_phrase(listing, run).removeprefix(f"from {ect_units(run.price)}"))
    return f'<p class="run">from <strong>{price}</strong>{rest}</p>'


@register.simple_tag
def listing_card(listing, heading: int = 3, runs=None) -> SafeString:
    """A listing's card in a grid: icon, name, provider, summary, pool attributes, rating,
    the cheapest complete run it takes part in and tags. Its name is a heading of level
    `heading` (2 to 6): one below the heading the grid sits under, so that no level is skipped.
    `runs` maps listing ids to their cheapest run (marketplace.orders.selectors.cheapest_runs,
    read for the whole grid at once); without it, the card shows no price.

    Rendered in Python with f-strings rather than by a template or `format_html`: list pages
    show 24 cards, and this keeps a card to a few dozen microseconds instead of about half a
    millisecond. Every value from the database goes through `escape`. Expects `owner` (and the
    market's `card_relations`) selected and `tags` prefetched, as the catalogue's selectors do."""
    if heading not in range(2, 7):
        raise ValueError(f"A card's heading level is 2 to 6, not {heading!r}.")
    featured = listing.status == "featured"
    kind = listing.kind
    attrs = MARKETS[kind].card_attributes(listing)
    price = "" if runs is None else _run_html(listing, runs.get(listing.pk))
    tags = ""
    listing_tags = listing.tags.all()
    if listing_tags:
        list_url = _list_url(kind, get_script_prefix())
        links = "".join(
            f'<a href="{list_url}?tag={escape(tag.slug)}" class="tag">{escape(tag.name)}</a>'
            for tag in listing_tags
        )
        tags = f'<p class="tags">{links}</p>'
    before, after = _detail_url_parts(kind, get_script_prefix())
    owner = escape(_truncated(listing.owner.username, 22))
    badge = '<span class="badge featured">Featured</span>' if featured else ""
    return mark_safe(  # noqa: S308 -- every interpolated value above is escaped
        f'<article class="card{" is-featured" if featured else ""}">'
        f'<a class="card-link" href="{before}{escape(listing.slug)}{after}">'
        f'<div class="card-head">{listing_icon(listing, 52)}'
        f'<div class="card-title"><h{heading}>{escape(listing.name)}</h{heading}>'
        f'<p class="by">by {owner}</p>'
        f"</div>{badge}</div>"
        f'<p class="summary">{escape(listing.summary)}</p>{attrs}{price}'
        f'<div class="card-foot"><span>{stars(listing.rating_avg)} '
        f'<span class="muted">({listing.rating_count:d})</span></span></div></a>{tags}</article>'
    )


@register.filter
def market_of(listing):
    """The market adapter of `listing` (marketplace.catalogue.markets), for its templates."""
    return MARKETS[listing.kind]


@register.filter
def status_class(status: str) -> str:
    return {
        "approved": "ok",
        "featured": "featured",
        "pending": "wait",
        "changes_requested": "warn",
        "delisted": "muted",
        "revoked": "bad",
    }.get(status, "muted")


@register.simple_tag
def comment_editable(comment, user) -> bool:
    """Whether `user` may still edit `comment` (author, within the edit window)."""

    return comment_can_edit(comment=comment, user=user)


@register.filter
def refused_under(problem, comment) -> str:
    """Which of `comment`'s forms ("reply", "edit", "comment_report") the listing page was
    refused in, to show that form open with its text and reason; "" for none."""
    return problem.form if getattr(problem, "target", None) == comment.pk else ""


@register.filter
def swagger_ui_settings(settings_json: str) -> str:
    """drf-spectacular's Swagger UI settings (JSON) with deep links off: Swagger UI puts each
    operation's deep link inside the button that opens it, a link nested in a button, which a
    keyboard or a screen reader cannot reach on its own."""
    return json.dumps({**json.loads(settings_json), "deepLinking": False})
