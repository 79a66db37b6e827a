"""The catalogue shared by the three markets.

Every app, dataset and worker pool is one `Listing` row (its `kind` says which market) with a
one-to-one row of market-specific fields in `dappstore`, `datamarket` or `pools`. Ratings,
comments, prices and curation decisions point at `Listing`, so the three markets share one
implementation of each.

Prices are what the Hub's orders have: an app or a dataset has one price per task, whatever the
category (`Listing.price`); a worker pool has a price per category it sells (`ListingPrice`).
These are what the provider asks; what is on offer now is the order book's.

Aggregates (`rating_avg`, `rating_count`, `rating_histogram`, `price_from`, `is_public`) are
denormalized for fast list pages and are only written by services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

# The markets are the Hub's asset kinds (one definition); importable from here, where listings
# use them.
from marketplace.chain.ids import Market
from marketplace.fields import wallet_address_validator


class TaskCategory(models.TextChoices):
    """Pay-per-task categories; the Hub's defaults (PROTOCOL.md)."""

    XS = "XS", "XS · up to 5 min"
    S = "S", "S · up to 20 min"
    M = "M", "M · up to 1 h"
    L = "L", "L · up to 3 h"
    XL = "XL", "XL · up to 10 h"


class CurationStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved"
    FEATURED = "featured", "Featured"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    DELISTED = "delisted", "Delisted"
    REVOKED = "revoked", "Revoked"


PUBLIC_STATUSES = (CurationStatus.APPROVED, CurationStatus.FEATURED)


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)
    slug = models.SlugField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Listing(models.Model):
    kind = models.CharField(max_length=8, choices=Market.choices)
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.CharField(max_length=160, help_text="One line shown on cards.")
    description = models.TextField(blank=True, help_text="Markdown.")
    # Rendered and sanitized once when written (catalogue.markdown), never per page view.
    description_html = models.TextField(blank=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="listings"
    )
    owner_wallet = models.CharField(
        max_length=42, blank=True, validators=[wallet_address_validator], db_index=True
    )
    icon = models.ImageField(upload_to="icons/%Y/%m/", blank=True)
    tags = models.ManyToManyField(Tag, related_name="listings", blank=True)
    chain_address = models.CharField(
        max_length=42,
        blank=True,
        validators=[wallet_address_validator],
        db_index=True,  # the order book names assets by address
        help_text="Address of the registered asset; empty until registered on chain.",
    )

    status = models.CharField(
        max_length=20, choices=CurationStatus.choices, default=CurationStatus.PENDING
    )
    is_public = models.BooleanField(default=False, editable=False)

    price = models.DecimalField(
        max_digits=30,
        decimal_places=9,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Apps and datasets: ECT per task, whatever the category (pools: none, "
        "their prices are per category).",
    )
    # The lowest price asked: `price`, or a pool's cheapest category (for sorting and filters).
    price_from = models.DecimalField(
        max_digits=30, decimal_places=9, null=True, blank=True, editable=False
    )
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=0, editable=False)
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_histogram = models.JSONField(default=list, editable=False)
    reputation = models.IntegerField(default=0, editable=False)

    # PostgreSQL full-text document (GIN-indexed); SQLite keeps an FTS5 table instead.
    # Both are written by catalogue.search, never by save().
    search_vector = SearchVectorField(null=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Partial indexes over public listings, one per sort order of the list pages: the
            # page is read straight off the index, no sort (SQLite and PostgreSQL alike).
            models.Index(
                fields=["kind", "-id"],
                name="listing_newest",
                condition=Q(is_public=True),
            ),
            models.Index(
                fields=["kind", "price_from", "-id"],
                name="listing_price",
                condition=Q(is_public=True),
            ),
            models.Index(
                fields=["kind", "-rating_avg", "-rating_count", "-id"],
                name="listing_rating",
                condition=Q(is_public=True),
            ),
            models.Index(
                fields=["kind", "-reputation", "-id"],
                name="listing_reputation",
                condition=Q(is_public=True),
            ),
            models.Index(
                fields=["-id"],
                name="listing_public_newest",
                condition=Q(is_public=True),
            ),
            models.Index(fields=["status", "updated_at"], name="listing_curation"),
            models.Index(fields=["owner", "-created_at"], name="listing_owner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(is_public=True) & Q(status__in=PUBLIC_STATUSES))
                | (Q(is_public=False) & ~Q(status__in=PUBLIC_STATUSES)),
                name="listing_is_public_matches_status",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | (Q(price__gte=0) & ~Q(kind="pool")),
                name="listing_price_per_task_not_for_pools",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(f"{self.kind}_detail", kwargs={"slug": self.slug})

    def get_edit_url(self) -> str:
        return reverse(f"{self.kind}_edit", kwargs={"slug": self.slug})

    @property
    def prices_in_order(self) -> list[ListingPrice]:
        """A pool's price table from XS to XL (uses prefetched prices when present)."""
        order = {category: i for i, category in enumerate(TaskCategory.values)}
        return sorted(self.prices.all(), key=lambda price: order[price.category])

    @property
    def histogram_rows(self) -> list[tuple[int, int, int]]:
        """(stars, count, percent of all ratings) from 5 down to 1."""
        counts = self.rating_histogram or [0, 0, 0, 0, 0]
        total = sum(counts) or 1
        return [
            (stars, counts[stars - 1], round(100 * counts[stars - 1] / total))
            for stars in range(5, 0, -1)
        ]


class ListingPrice(models.Model):
    """A worker pool's price of one task of a category, in ECT (9 decimals, like the token).
    Apps and datasets have none: their price (`Listing.price`) is the same for every category."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="prices")
    category = models.CharField(max_length=2, choices=TaskCategory.choices)
    price = models.DecimalField(max_digits=30, decimal_places=9, validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["listing", "category"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "category"], name="one_price_per_category"),
            models.CheckConstraint(condition=Q(price__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.listing} {self.category}: {self.price} ECT"


class Rating(models.Model):
    """A buyer's review of a listing: stars, and optionally a title and a text.

    It counts (in the listing's `rating_avg`, `rating_count` and `rating_histogram`) only when
    verified: `dealid` names a deal of the listing that a wallet of the author (`wallet`) paid
    for and that has a finalized task, the "verified purchase" its badge links to. Ratings given
    before purchases were checked keep their stars and their author but no deal: they are shown,
    labelled as unverified, and not counted, until their author, once a buyer, rates again.
    Moderators may hide a review (it then no longer counts); the listing's owner may answer it
    once (`reply`, editable)."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    stars = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=120, blank=True)
    body = models.TextField(max_length=4000, blank=True)
    dealid = models.CharField(
        max_length=66, blank=True, help_text="The deal that verifies it; empty: unverified."
    )
    wallet = models.CharField(
        max_length=42,
        blank=True,
        validators=[wallet_address_validator],
        help_text="The author's wallet that paid for that deal.",
    )
    is_hidden = models.BooleanField(default=False, help_text="Hidden by a moderator.")
    hidden_reason = models.CharField(max_length=200, blank=True)
    report_count = models.PositiveIntegerField(default=0, editable=False)
    reply = models.TextField(max_length=4000, blank=True, help_text="The listing owner's answer.")
    replied_at = models.DateTimeField(null=True, blank=True)
    reply_edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["listing", "user"], name="one_rating_per_user"),
            models.CheckConstraint(
                condition=Q(stars__gte=1) & Q(stars__lte=5), name="stars_between_1_and_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} rates {self.listing} {self.stars}/5"

    @property
    def is_verified(self) -> bool:
        return bool(self.dealid)


class RatingReport(models.Model):
    """A visitor's report of a review (spam, abuse...) for the moderators, as for comments."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rating", "reporter"], name="one_rating_report_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reporter} reports review {self.rating_id}"


class Comment(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField(max_length=4000)
    is_hidden = models.BooleanField(default=False, help_text="Hidden by a moderator.")
    hidden_reason = models.CharField(max_length=200, blank=True)
    report_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["listing", "parent", "created_at"])]

    def __str__(self) -> str:
        return f"{self.author} on {self.listing}"


class CommentReport(models.Model):
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="one_report_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.reporter} reports comment {self.comment_id}"


class ListingReport(models.Model):
    """A visitor's report of a listing (malware, scam, stolen data...) for the curators."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["listing", "reporter"], name="one_listing_report_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reporter} reports {self.listing}"


class CurationDecision(models.Model):
    """Every change of a listing's curation status: who, when, why."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="decisions")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    from_status = models.CharField(max_length=20, choices=CurationStatus.choices)
    to_status = models.CharField(max_length=20, choices=CurationStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.listing}: {self.from_status} → {self.to_status}"
