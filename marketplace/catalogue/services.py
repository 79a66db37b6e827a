"""Writes to the catalogue shared by the three markets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min
from django.utils import timezone
from django.utils.text import slugify

from marketplace.catalogue import search, selectors, texts
from marketplace.catalogue.freshness import catalogue_changed, listing_page_changed
from marketplace.catalogue.markdown import render_markdown
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import (
    PUBLIC_STATUSES,
    Comment,
    CommentReport,
    CurationDecision,
    CurationStatus,
    Listing,
    ListingPrice,
    ListingReport,
    Rating,
    RatingReport,
    Tag,
)
from marketplace.catalogue.reputation import listing_rerank
from marketplace.catalogue.storage import atomic_with_files, delete_after_commit, track_saved_file
from marketplace.notifications.services import (
    notify_listing_curated,
    notify_review,
    notify_review_reply,
)


class CatalogueError(Exception):
    """A rule of the catalogue refused the request; the message tells the user what to do."""


class NotAllowed(CatalogueError):
    """The user may not do this (the views answer 403)."""


class IllegalTransition(CatalogueError):
    """The curation status cannot move this way."""


class NotABuyer(CatalogueError):
    """Only verified buyers rate: the user paid for no finished task of the listing. The
    message says why and what to do (the views answer 403)."""


# Curation actions staff can take, and the statuses each can start from.
CURATION_ACTIONS: dict[str, tuple[CurationStatus, frozenset[CurationStatus], bool]] = {
    # action: (to_status, from_statuses, reason_required)
    "approve": (
        CurationStatus.APPROVED,
        frozenset({CurationStatus.PENDING, CurationStatus.CHANGES_REQUESTED}),
        False,
    ),
    "feature": (
        CurationStatus.FEATURED,
        frozenset({CurationStatus.PENDING, CurationStatus.APPROVED}),
        False,
    ),
    "unfeature": (CurationStatus.APPROVED, frozenset({CurationStatus.FEATURED}), False),
    "request_changes": (
        CurationStatus.CHANGES_REQUESTED,
        frozenset({CurationStatus.PENDING, CurationStatus.APPROVED, CurationStatus.FEATURED}),
        True,
    ),
    "delist": (
        CurationStatus.DELISTED,
        frozenset({CurationStatus.APPROVED, CurationStatus.FEATURED}),
        True,
    ),
    "relist": (CurationStatus.APPROVED, frozenset({CurationStatus.DELISTED}), False),
    "revoke": (
        CurationStatus.REVOKED,
        frozenset(set(CurationStatus) - {CurationStatus.REVOKED}),
        True,
    ),
}
CURATION_ACTION_LABELS = {
    "approve": "Approve",
    "feature": "Feature",
    "unfeature": "Remove from featured",
    "request_changes": "Request changes",
    "delist": "Delist",
    "relist": "Relist",
    "revoke": "Revoke",
}


def curation_actions_for(status: str) -> list[str]:
    return [name for name, (_, sources, _) in CURATION_ACTIONS.items() if status in sources]


def _unique_slug(name: str) -> str:
    base = slugify(name)[:80] or "listing"
    slug, n = base, 2
    while Listing.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_texts(*, name: str, summary: str, description: str) -> tuple[str, str, str]:
    """A listing's texts as written (line breaks as \\n, as they were counted), or
    CatalogueError saying what to change (never cut)."""
    name, summary, description = map(texts.normalized, (name, summary, description))
    problem = (
        texts.name_problem(name)
        or texts.too_long("name", name, texts.NAME_MAX)
        or texts.too_long("summary", summary, texts.SUMMARY_MAX)
        or texts.too_long("description", description, texts.DESCRIPTION_MAX)
    )
    if problem:
        raise CatalogueError(problem)
    return name, summary, description


def _tag_slug(raw: str) -> str:
    """The slug a tag typed as `raw` is kept under ("" for none)."""
    return slugify(" ".join(raw.split())[:40])[:40]


def _tags_from_names(names: Iterable[str]) -> list[Tag]:
    tags = []
    for raw in names:
        name = " ".join(raw.split())[:40]
        slug = _tag_slug(raw)
        if not slug:
            continue
        tag, _ = Tag.objects.get_or_create(slug=slug, defaults={"name": name})
        tags.append(tag)
    return tags


def listing_for_edit(*, listing: Listing, actor) -> Listing:
    """The listing, locked for its owner to edit (inside a transaction). Raises NotAllowed for
    anyone else, or once it is revoked."""
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.owner_id != actor.pk:
        raise NotAllowed("Only the owner of this listing can edit it.")
    if listing.status == CurationStatus.REVOKED:
        raise NotAllowed("This listing was revoked and can no longer be edited.")
    return listing


def listing_unchanged(
    listing: Listing,
    *,
    name: str,
    summary: str,
    description: str,
    tags: Iterable[str],
    price: Decimal | None = None,
    prices: Mapping[str, Decimal | None] | None = None,
    owner_wallet: str = "",
    icon=None,
) -> bool:
    """Whether listing_update with these values would leave everything curators review as it
    is: the texts (line breaks aside), the tags, the prices, the payout wallet and the icon
    (a new icon is a change)."""
    if icon:
        return False
    texts_now = tuple(map(texts.normalized, (listing.name, listing.summary, listing.description)))
    if tuple(map(texts.normalized, (name, summary, description))) != texts_now:
        return False
    wanted_tags = {_tag_slug(raw) for raw in tags} - {""}
    if wanted_tags != set(listing.tags.values_list("slug", flat=True)):
        return False
    if (owner_wallet or "") != (listing.owner_wallet or ""):
        return False
    if MARKETS[listing.kind].prices_per_category:
        offered = {str(c): v for c, v in (prices or {}).items() if v is not None}
        stored = {str(p.category): p.price for p in listing.prices.all()}
        return offered == stored
    return price == listing.price


def _set_prices(
    listing: Listing, *, price: Decimal | None, prices: Mapping[str, Decimal | None]
) -> None:
    """Set what the listing asks: an app's or dataset's one `price` per task, or a pool's
    `prices` per category (categories with no price are not offered). Refuses the other one,
    as the Hub's orders have it: only pool orders have a category."""
    offered = {cat: value for cat, value in prices.items() if value is not None}
    market = MARKETS[listing.kind]
    if market.prices_per_category:
        if price is not None:
            raise CatalogueError(
                f"{market.article} has a price per task category, not one price: give its prices."
            )
        ListingPrice.objects.filter(listing=listing).exclude(category__in=offered).delete()
        for category, value in offered.items():
            ListingPrice.objects.update_or_create(
                listing=listing, category=category, defaults={"price": value}
            )
        lowest = ListingPrice.objects.filter(listing=listing).aggregate(m=Min("price"))["m"]
    else:
        if offered:
            raise CatalogueError(
                f"{market.article} has one price per task, whatever the category (only worker "
                "pools price categories): give its price."
            )
        if price is not None and price < 0:
            raise CatalogueError("A price cannot be negative.")
        ListingPrice.objects.filter(listing=listing).delete()
        lowest = price
    listing.price, listing.price_from = price, lowest
    Listing.objects.filter(pk=listing.pk).update(price=price, price_from=lowest)


@atomic_with_files()
def listing_create(
    *,
    kind: str,
    owner,
    name: str,
    summary: str,
    description: str = "",
    tags: Iterable[str] = (),
    price: Decimal | None = None,
    prices: Mapping[str, Decimal | None] | None = None,
    owner_wallet: str = "",
    icon=None,
    status: CurationStatus = CurationStatus.PENDING,
) -> Listing:
    """A new listing, waiting for curation unless `status` says otherwise (seed data). An app
    or a dataset takes one `price` per task, a pool `prices` by category."""
    name, summary, description = _check_texts(name=name, summary=summary, description=description)
    listing = Listing(
        kind=kind,
        name=name,
        slug=_unique_slug(name),
        summary=summary,
        description=description,
        description_html=render_markdown(description),
        owner=owner,
        owner_wallet=owner_wallet,
        status=status,
        is_public=status in PUBLIC_STATUSES,
        rating_histogram=[0, 0, 0, 0, 0],
    )
    if icon:
        listing.icon = icon
    listing.full_clean(exclude=["slug", "icon"])
    listing.save()
    if listing.icon:
        track_saved_file(listing.icon.name)
    listing.tags.set(_tags_from_names(tags))
    _set_prices(listing, price=price, prices=prices or {})
    search.index_listings([listing.pk])
    catalogue_changed()
    return listing


def listing_set_chain_address(*, listing: Listing, address: str) -> None:
    """Link `listing` to its asset registered at `address` (empty: unlink it). The one writer
    of `Listing.chain_address`: the registration flow, the demo and the listings of assets
    seen on chain all go through here. Written at once, so that the next lookup by address
    (another asset of the same indexed batch) finds it."""
    listing.chain_address = address
    Listing.objects.filter(pk=listing.pk).update(chain_address=address)


@atomic_with_files()
def listing_update(
    *,
    listing: Listing,
    actor,
    name: str,
    summary: str,
    description: str,
    tags: Iterable[str],
    price: Decimal | None = None,
    prices: Mapping[str, Decimal | None] | None = None,
    owner_wallet: str = "",
    icon=None,
) -> Listing:
    """The owner edits a listing. A published or rejected listing goes back to review: the
    public keeps seeing nothing that staff has not checked."""
    name, summary, description = _check_texts(name=name, summary=summary, description=description)
    listing = listing_for_edit(listing=listing, actor=actor)
    listing.name, listing.summary, listing.description = name, summary, description
    listing.description_html = render_markdown(description)
    listing.owner_wallet = owner_wallet
    replaced_icon = ""
    if icon:
        replaced_icon = listing.icon.name
        listing.icon = icon
    if listing.status != CurationStatus.PENDING:
        CurationDecision.objects.create(
            listing=listing,
            actor=actor,
            from_status=listing.status,
            to_status=CurationStatus.PENDING,
            reason="Edited by the owner; waiting for review.",
        )
        listing.status = CurationStatus.PENDING
        listing.is_public = False
    listing.full_clean(exclude=["icon"])
    listing.save()
    if icon:
        track_saved_file(listing.icon.name)
        delete_after_commit(replaced_icon)
    listing.tags.set(_tags_from_names(tags))
    _set_prices(listing, price=price, prices=prices or {})
    search.index_listings([listing.pk])
    catalogue_changed()
    return listing


@transaction.atomic
def listing_curate(*, listing: Listing, actor, action: str, reason: str = "") -> Listing:
    """Staff moves a listing through curation; every move is recorded with who, when and why."""
    if not actor.is_staff:
        raise NotAllowed("Only curators (staff) can change the curation status.")
    if action not in CURATION_ACTIONS:
        raise IllegalTransition(f"Unknown curation action {action!r}.")
    to_status, sources, reason_required = CURATION_ACTIONS[action]
    listing = Listing.objects.select_for_update().get(pk=listing.pk)
    if listing.status not in sources:
        raise IllegalTransition(
            f"Cannot {CURATION_ACTION_LABELS[action].lower()} a listing that is "
            f"{listing.get_status_display().lower()}."
        )
    reason = reason.strip()
    if reason_required and not reason:
        raise CatalogueError(
            f"Say why ({CURATION_ACTION_LABELS[action]}): the provider sees this message."
        )
    decision = CurationDecision.objects.create(
        listing=listing,
        actor=actor,
        from_status=listing.status,
        to_status=to_status,
        reason=reason,
    )
    was_public = listing.is_public
    listing.status = to_status
    listing.is_public = to_status in PUBLIC_STATUSES
    listing.save(update_fields=["status", "is_public", "updated_at"])
    search.index_listings([listing.pk])  # the search index knows which listings are public
    catalogue_changed()
    # The provider is told when the listing goes public, or a curator asks for changes (the
    # notification and its email commit, or roll back, with the decision).
    if (listing.is_public and not was_public) or to_status == CurationStatus.CHANGES_REQUESTED:
        notify_listing_curated(
            decision_id=decision.pk,
            user=listing.owner,
            listing_name=listing.name,
            listing_url=listing.get_absolute_url(),
            approved=to_status != CurationStatus.CHANGES_REQUESTED,
            reason=reason,
        )
    return listing


def listing_refresh_rating(*, listing: Listing) -> None:
    """Recompute a listing's rating average, count and histogram from its verified reviews
    (a deal of the author's proves the purchase) that no moderator hid: ratings from before
    purchases were checked are kept and shown, but do not count."""
    histogram = [0, 0, 0, 0, 0]
    counted = Rating.objects.filter(listing=listing, is_hidden=False).exclude(dealid="")
    for row in counted.values("stars").annotate(n=Count("id")):
        histogram[row["stars"] - 1] = row["n"]
    count = sum(histogram)
    average = (
        (Decimal(sum(s * n for s, n in enumerate(histogram, start=1))) / count).quantize(
            Decimal("0.01")
        )
        if count
        else Decimal(0)
    )
    Listing.objects.filter(pk=listing.pk).update(
        rating_avg=average, rating_count=count, rating_histogram=histogram
    )
    listing.rating_avg, listing.rating_count, listing.rating_histogram = (
        average,
        count,
        histogram,
    )
    listing_rerank(listing=listing)  # the rating is part of an app's or a dataset's reputation
    catalogue_changed()


def _review_texts(*, title: str, body: str) -> tuple[str, str]:
    """A review's title (one line) and text as kept, or CatalogueError saying what to
    shorten."""
    title = " ".join(texts.normalized(title).split())
    body = texts.normalized(body).strip()
    problem = texts.too_long("review title", title, texts.REVIEW_TITLE_MAX) or texts.too_long(
        "review", body, texts.REVIEW_MAX
    )
    if problem:
        raise CatalogueError(problem)
    return title, body


@transaction.atomic
def rating_set(*, listing: Listing, user, stars: int, title: str = "", body: str = "") -> Rating:
    """A buyer's review of a listing (stars, and an optional title and text): the first one
    creates it, later ones edit it. Only a verified buyer may (selectors.rating_right): the
    review names the deal that proves the purchase. NotABuyer says why someone else may not."""
    if not user.is_authenticated:
        raise NotAllowed("Sign in to rate.")
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise CatalogueError("A rating is a whole number of stars from 1 to 5.")
    title, body = _review_texts(title=title, body=body)
    if not listing.is_public:
        raise CatalogueError("Only published listings can be rated.")
    if listing.owner_id == user.pk:
        raise NotAllowed("You cannot rate your own listing.")
    # Serialise raters of one listing so that the recomputed aggregate sees every rating.
    Listing.objects.select_for_update().filter(pk=listing.pk).first()
    rating = Rating.objects.filter(listing=listing, user=user).first()
    if rating is not None and rating.is_hidden:
        raise CatalogueError(
            f"A moderator hid your review ({rating.hidden_reason or 'it breaks the rules'}): "
            "it stays as it is and can no longer be edited."
        )
    right = selectors.rating_right(
        listing=listing, user=user, keep=rating.dealid if rating is not None else ""
    )
    if not right.allowed:
        raise NotABuyer(right.refusal)
    fields = {
        "stars": stars,
        "title": title,
        "body": body,
        "dealid": right.deal.dealid,
        "wallet": right.deal.payer,
    }
    if rating is None:
        rating = Rating.objects.create(listing=listing, user=user, **fields)
        # The provider hears of a new review (not of its edits), with the review's commit.
        notify_review(
            review_id=rating.pk,
            user=listing.owner,
            listing_name=listing.name,
            listing_url=f"{listing.get_absolute_url()}#review-{rating.pk}",
            author_name=user.get_username(),
            excerpt=title or body or f"{stars} of 5 stars, no text.",
            stars=stars,
        )
    else:
        for name, value in fields.items():
            setattr(rating, name, value)
        rating.edited_at = timezone.now()
        rating.save(update_fields=[*fields, "edited_at", "updated_at"])
    listing_refresh_rating(listing=listing)
    return rating


@transaction.atomic
def review_reply(*, rating: Rating, actor, body: str) -> Rating:
    """The listing owner's answer to a review: one per review, which they may edit."""
    rating = Rating.objects.select_for_update().select_related("listing").get(pk=rating.pk)
    if not actor.is_authenticated or rating.listing.owner_id != actor.pk:
        raise NotAllowed(f"Only the owner of {rating.listing.name} can answer its reviews.")
    if rating.is_hidden:
        raise CatalogueError("A moderator hid this review: it takes no answer.")
    body = texts.normalized(body).strip()
    if not body:
        raise CatalogueError("Write your answer before posting it.")
    if problem := texts.too_long("reply", body, texts.REVIEW_REPLY_MAX):
        raise CatalogueError(problem)
    now = timezone.now()
    first = not rating.reply
    if first:
        rating.replied_at = now
    else:
        rating.reply_edited_at = now
    rating.reply = body
    rating.save(update_fields=["reply", "replied_at", "reply_edited_at"])
    listing_page_changed(rating.listing_id)
    if first:  # the review's author hears of the answer once, not of its edits
        notify_review_reply(
            reply_id=rating.pk,
            user=rating.user,
            listing_name=rating.listing.name,
            listing_url=f"{rating.listing.get_absolute_url()}#review-{rating.pk}",
            author_name=actor.get_username(),
            excerpt=body,
        )
    return rating


@transaction.atomic
def review_report(*, rating: Rating, reporter, reason: str) -> RatingReport:
    if not reporter.is_authenticated:
        raise NotAllowed("Sign in to report a review.")
    if rating.user_id == reporter.pk:
        raise CatalogueError("This review is yours: edit it rather than report it.")
    return _report(
        RatingReport(rating=rating),
        rating,
        reporter=reporter,
        reason=reason,
        noun="review",
        limit=texts.REVIEW_REPORT_MAX,
    )


@transaction.atomic
def review_moderate(*, rating: Rating, actor, hide: bool, reason: str = "") -> Rating:
    """Staff hides a review (it no longer counts in the listing's rating) or restores it; its
    open reports are resolved either way."""
    if not actor.is_staff:
        raise NotAllowed("Only moderators (staff) can hide or restore reviews.")
    Listing.objects.select_for_update().filter(pk=rating.listing_id).first()
    rating = Rating.objects.select_for_update().select_related("listing").get(pk=rating.pk)
    rating.is_hidden = hide
    rating.hidden_reason = reason.strip()[:200] if hide else ""
    rating.save(update_fields=["is_hidden", "hidden_reason"])
    RatingReport.objects.filter(rating=rating, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    listing_refresh_rating(listing=rating.listing)
    return rating


@transaction.atomic
def comment_create(
    *, listing: Listing, author, body: str, parent: Comment | None = None
) -> Comment:
    if not author.is_authenticated:
        raise NotAllowed("Sign in to comment.")
    body = texts.normalized(body).strip()
    if not body:
        raise CatalogueError("Write something before posting.")
    if problem := texts.too_long("comment", body, texts.COMMENT_MAX):
        raise CatalogueError(problem)
    if not listing.is_public:
        raise CatalogueError("Only published listings can be commented on.")
    if parent is not None:
        if parent.listing_id != listing.pk:
            raise CatalogueError("That comment belongs to another listing.")
        if parent.parent_id is not None:
            raise CatalogueError("Replies go one level deep: reply to the first comment.")
    listing_page_changed(listing.pk)
    return Comment.objects.create(listing=listing, author=author, body=body, parent=parent)


def comment_can_edit(*, comment: Comment, user) -> bool:
    window = timedelta(seconds=settings.COMMENT_EDIT_WINDOW_SECONDS)
    return (
        user.is_authenticated
        and comment.author_id == user.pk
        and not comment.is_hidden
        and timezone.now() - comment.created_at <= window
    )


@transaction.atomic
def comment_edit(*, comment: Comment, actor, body: str) -> Comment:
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    if comment.author_id != actor.pk:
        raise NotAllowed("Only the author can edit a comment.")
    if not comment_can_edit(comment=comment, user=actor):
        minutes = settings.COMMENT_EDIT_WINDOW_SECONDS // 60
        raise CatalogueError(f"Comments can be edited for {minutes} minutes after posting.")
    body = texts.normalized(body).strip()
    if not body:
        raise CatalogueError("Write something, or keep the comment as it is.")
    if problem := texts.too_long("comment", body, texts.COMMENT_MAX):
        raise CatalogueError(problem)
    comment.body = body
    comment.edited_at = timezone.now()
    comment.save(update_fields=["body", "edited_at"])
    listing_page_changed(comment.listing_id)
    return comment


@transaction.atomic
def comment_report(*, comment: Comment, reporter, reason: str) -> CommentReport:
    if not reporter.is_authenticated:
        raise NotAllowed("Sign in to report a comment.")
    return _report(
        CommentReport(comment=comment),
        comment,
        reporter=reporter,
        reason=reason,
        noun="comment",
        limit=texts.COMMENT_REPORT_MAX,
    )


def _report(
    report: RatingReport | CommentReport,
    reported: Rating | Comment,
    *,
    reporter,
    reason: str,
    noun: str,
    limit: int,
) -> RatingReport | CommentReport:
    """Save `report` (unsaved) of `reported` (a review or a comment, its `noun`) by
    `reporter`: once per user, its reason at most `limit` long; the reported row's count
    raised."""
    reason = texts.normalized(reason).strip() or "No reason given"
    if problem := texts.too_long("reason", reason, limit):
        raise CatalogueError(problem)
    report.reporter, report.reason = reporter, reason
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        raise CatalogueError(
            f"You already reported this {noun}; a moderator will look at it."
        ) from None
    type(reported).objects.filter(pk=reported.pk).update(report_count=F("report_count") + 1)
    listing_page_changed(reported.listing_id)
    return report


@transaction.atomic
def comment_moderate(*, comment: Comment, actor, hide: bool, reason: str = "") -> Comment:
    if not actor.is_staff:
        raise NotAllowed("Only moderators (staff) can hide or restore comments.")
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    comment.is_hidden = hide
    comment.hidden_reason = reason.strip()[:200] if hide else ""
    comment.save(update_fields=["is_hidden", "hidden_reason"])
    CommentReport.objects.filter(comment=comment, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    listing_page_changed(comment.listing_id)
    return comment


@transaction.atomic
def listing_report(*, listing: Listing, reporter, reason: str) -> ListingReport:
    if not reporter.is_authenticated:
        raise NotAllowed("Sign in to report a listing.")
    reason = texts.normalized(reason).strip()
    if not reason:
        raise CatalogueError("Say what is wrong with this listing so that curators can check.")
    if problem := texts.too_long("report", reason, texts.LISTING_REPORT_MAX):
        raise CatalogueError(problem)
    try:
        with transaction.atomic():
            return ListingReport.objects.create(listing=listing, reporter=reporter, reason=reason)
    except IntegrityError:
        raise CatalogueError(
            "You already reported this listing; curators will look at it."
        ) from None


@transaction.atomic
def listing_reports_resolve(*, listing: Listing, actor) -> int:
    if not actor.is_staff:
        raise NotAllowed("Only curators (staff) can resolve reports.")
    return ListingReport.objects.filter(listing=listing, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
