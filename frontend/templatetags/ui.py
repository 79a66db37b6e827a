"""Small presentation helpers: prices, stars, generated listing icons."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django import template
from django.utils.html import format_html

register = template.Library()

_PALETTES = [
    ("#4f46e5", "#06b6d4"),
    ("#0ea5e9", "#22c55e"),
    ("#f97316", "#ec4899"),
    ("#8b5cf6", "#ec4899"),
    ("#14b8a6", "#6366f1"),
    ("#eab308", "#ef4444"),
    ("#10b981", "#3b82f6"),
    ("#f43f5e", "#f59e0b"),
]


@register.filter
def ect(value) -> str:
    """A price in ECT with no trailing zeros: 0.250000000 → 0.25 ECT."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value).normalize()
    text = f"{amount:f}"
    return f"{text} ECT"


@register.simple_tag
def stars(value, size: str = "") -> str:
    """Five stars filled to the exact rating (a gold layer clipped over grey stars)."""
    rating = max(0.0, min(5.0, float(value or 0)))
    return format_html(
        '<span class="stars {}" role="img" aria-label="{} out of 5 stars" title="{} out of 5">'
        '<span class="stars-on" style="width:{}%">★★★★★</span>★★★★★</span>',
        size,
        f"{rating:.1f}",
        f"{rating:.1f}",
        f"{rating * 20:.0f}",
    )


@register.simple_tag
def listing_icon(listing, size: int = 56) -> str:
    """The listing's uploaded icon, or a generated one: its initials on a colour gradient
    chosen by its name, so every listing is recognisable at a glance."""
    if listing.icon:
        return format_html(
            '<img class="icon" src="{}" alt="" width="{}" height="{}" loading="lazy">',
            listing.icon.url,
            size,
            size,
        )
    digest = hashlib.sha256(listing.name.encode()).digest()
    start, end = _PALETTES[digest[0] % len(_PALETTES)]
    words = [w for w in listing.name.replace("-", " ").split() if w[:1].isalnum()]
    initials = "".join(w[0] for w in words[:2]).upper() or "?"
    angle = digest[1] % 360
    return format_html(
        '<span class="icon icon-generated" style="width:{}px;height:{}px;'
        'background:linear-gradient({}deg,{},{});font-size:{}px" aria-hidden="true">{}</span>',
        size,
        size,
        angle,
        start,
        end,
        round(size * 0.38),
        initials,
    )


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
    from marketplace.catalogue.services import comment_can_edit

    return comment_can_edit(comment=comment, user=user)
