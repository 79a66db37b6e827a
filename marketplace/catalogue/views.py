"""Pages of the catalogue, shared by the three markets (the URL names the market)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from marketplace import ratelimit
from marketplace.catalogue import selectors, services
from marketplace.catalogue.forms import CommentForm, CurationForm, RatingForm, ReportForm
from marketplace.catalogue.freshness import listing_page_version
from marketplace.catalogue.markets import MARKETS
from marketplace.catalogue.models import Comment, CurationStatus, Listing, Rating
from marketplace.catalogue.pagecache import cache_anonymous_page
from marketplace.catalogue.pagination import COUNT_CAP, CappedPaginator
from marketplace.catalogue.posting import posting_limits, too_fast
from marketplace.indexer import selectors as index_selectors
from marketplace.notfound import NotFound
from marketplace.orders import selectors as order_selectors
from marketplace.orders.price_charts import listing_price_charts


def staff_required(view):
    """Curators only: anonymous users are sent to sign in, signed-in non-staff get 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only curators (staff) can do this.")
        return view(request, *args, **kwargs)

    return wrapper


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe; also the benchmark's ceiling (no database)."""
    return HttpResponse("ok", content_type="text/plain")


def _home_page(request: HttpRequest) -> str | None:
    return "home" if not request.GET else None


def _runs(listings) -> dict:
    """The cheapest run each card's listing takes part in, from the book (a few queries for
    the whole grid)."""
    return order_selectors.cheapest_runs(chain_id=settings.CHAIN_ID, listings=listings)


@cache_anonymous_page(_home_page)
def home(request: HttpRequest) -> HttpResponse:
    context = selectors.home_sections()
    context["markets"] = MARKETS
    context["runs"] = _runs(
        listing
        for section in context["sections"]
        for listing in (*section["featured"], *section["newest"])
    )
    return render(request, "catalogue/home.html", context)


RESULTS_CACHE_SECONDS = 300


def _list_page(request: HttpRequest, *, kind: str) -> str | None:
    """A list page worth sharing: known filters only, all valid, and no search words (searches
    vary without end; their results are still cached below)."""
    form = MARKETS[kind].filter_form(request.GET)
    if set(request.GET) - set(form.fields) or not form.is_valid() or form.cleaned_data.get("q"):
        return None
    if (form.cleaned_data.get("page") or 1) > COUNT_CAP // settings.CATALOGUE_PAGE_SIZE + 1:
        return None  # past the last page a pager offers
    return f"{kind}?{urlencode(sorted(request.GET.lists()), doseq=True)}"


@cache_anonymous_page(_list_page)
def listing_list(request: HttpRequest, *, kind: str) -> HttpResponse:
    market = MARKETS[kind]
    form = market.filter_form(request.GET)
    filters = form.filters()
    page_number = (form.cleaned_data.get("page") if form.is_valid() else None) or 1
    query = request.GET.copy()
    query.pop("page", None)
    context = {"market": market, "form": form, "filters": filters, "query": query.urlencode()}
    # The results (count, cards, pager) are the same for every visitor with the same filters:
    # cached until the catalogue changes (see freshness.py).
    results_key = selectors.results_cache_key(kind=kind, filters=filters, page=page_number)
    results = cache.get(results_key)
    if results is None:
        paginator = CappedPaginator(
            selectors.listing_list(kind=kind, filters=filters, capped=True),
            settings.CATALOGUE_PAGE_SIZE,
        )
        page = paginator.get_page(page_number)
        page.object_list = list(page.object_list)  # read once, for the cards and their runs
        results = render_to_string(
            "catalogue/listing_list.html#results",
            {**context, "page": page, "runs": _runs(page.object_list)},
            request,
        )
        cache.set(results_key, results, RESULTS_CACHE_SECONDS)
    if request.htmx and not request.htmx.boosted:
        return HttpResponse(results)
    context["results"] = mark_safe(results)  # noqa: S308 -- rendered by our own template
    context["tags"] = selectors.market_tags(kind=kind)
    return render(request, "catalogue/listing_list.html", context)


def _visible_listing(request: HttpRequest, kind: str, slug: str) -> Listing:
    listing = selectors.listing_detail(kind=kind, slug=slug)
    if listing is None or not selectors.listing_visible_to(listing=listing, user=request.user):
        raise NotFound("No such listing, or it is not published.")
    return listing


_DETAIL_QUERY = {"prices": ("hour", "day")}


def _detail_page_key(request: HttpRequest, *, kind: str, slug: str) -> str | None:
    """A listing page worth sharing: only the charts' own query, each value once and in its
    one spelling (any other renders afresh), keyed by what its parts come from besides the
    catalogue: the listing's comments and reviews, the index's state and the hour (the
    charts' windows end now)."""
    query = {}
    for name, values in request.GET.lists():
        value = values[0] if len(values) == 1 else None
        if name == "category" and value and value.isascii() and value.isdigit():
            if value != str(int(value)) or int(value) > 255:  # a Hub's categories are few
                return None
        elif name not in _DETAIL_QUERY or value not in _DETAIL_QUERY[name]:
            return None
        query[name] = value
    listing_id = selectors.listing_id(kind=kind, slug=slug)
    if listing_id is None:
        return None
    index = _index_freshness(request)
    return (
        f"detail:{listing_id}:{listing_page_version(listing_id)}:"
        f"{index.block}:{index.confirmed_block}:{index.status}:"
        f"{timezone.now():%Y%m%d%H}:{urlencode(sorted(query.items()))}"
    )


def _index_freshness(request: HttpRequest) -> index_selectors.Freshness:
    """The index's state, read once per request: a listing page's cache key, its record and
    its live line all show it."""
    freshness = getattr(request, "_index_freshness", None)
    if freshness is None:
        freshness = request._index_freshness = index_selectors.index_freshness()
    return freshness


def _freshness_line(request: HttpRequest) -> str:
    """How fresh the index is now: the live part of a cached listing page."""
    return render_to_string(
        "indexer/status.html#freshness", {"freshness": _index_freshness(request)}
    )


@cache_anonymous_page(_detail_page_key, live={"freshness": _freshness_line})
def listing_detail(request: HttpRequest, *, kind: str, slug: str) -> HttpResponse:
    return _detail_page(request, _visible_listing(request, kind, slug))


@dataclass(frozen=True)
class FormProblem:
    """A text the listing page refused, shown again in its own form with the reason beside it.

    `form` names the form ("comment", "reply", "edit", "comment_report", "listing_report",
    "review_reply", "review_report"); `target` is the comment or the review it belongs to, for
    the forms each comment or review carries."""

    form: str
    error: str
    text: str
    target: int | None = None


def _refused(
    request: HttpRequest, listing: Listing, problem: FormProblem, *, status: int = 400
) -> HttpResponse:
    """The listing page again, the refused text kept in its form, its reason next to it."""
    listing = selectors.listing_detail(kind=listing.kind, slug=listing.slug)
    return _detail_page(request, listing, problem=problem, status=status)


def _detail_page(
    request: HttpRequest,
    listing: Listing,
    *,
    problem: FormProblem | None = None,
    rating_message: str = "",
    review_draft: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    market = MARKETS[listing.kind]
    detail = getattr(listing, market.detail_relation, None)
    if detail is None:
        raise NotFound("This listing is incomplete (no program, file or pool attached).")
    user = request.user
    is_owner = user.is_authenticated and user.pk == listing.owner_id
    is_owner_or_staff = is_owner or (user.is_authenticated and user.is_staff)
    context = {
        "market": market,
        "listing": listing,
        "detail": detail,
        "comments": selectors.listing_comments(listing=listing),
        **_ratings_context(request, listing, message=rating_message, draft=review_draft),
        "problem": problem,
        "decisions": selectors.listing_decisions(listing=listing) if is_owner_or_staff else [],
        "is_owner": is_owner,
        "next_step": _next_steps([listing])[0] if is_owner else "",
        "curation_actions": [
            (a, services.CURATION_ACTION_LABELS[a])
            for a in services.curation_actions_for(listing.status)
        ]
        if user.is_staff
        else [],
    }
    # What is on offer now (the book), not what the listing asks.
    context["book_prices"] = order_selectors.book_prices(
        chain_id=settings.CHAIN_ID, listing=listing
    )
    context["run"] = _runs([listing])[listing.pk]
    context["freshness"] = _index_freshness(request)
    context["onchain"] = index_selectors.asset_record(
        chain_address=listing.chain_address,
        owner_wallet=listing.owner_wallet,
        freshness=context["freshness"],
    )
    context.update(market.detail_context(listing))
    # Its price history (indexed deals) and depth (the book), by ?prices=hour|day.
    context["price_charts"] = listing_price_charts(
        listing=listing, query=request.GET, chain_id=settings.CHAIN_ID, now=timezone.now()
    )
    return render(request, "catalogue/listing_detail.html", context, status=status)


def _listing_by_pk(request: HttpRequest, pk: int) -> Listing:
    listing = get_object_or_404(Listing, pk=pk)
    if not selectors.listing_visible_to(listing=listing, user=request.user):
        raise NotFound("No such listing.")
    return listing


def _visible_comment(request: HttpRequest, pk: int) -> Comment:
    comment = get_object_or_404(Comment.objects.select_related("listing"), pk=pk)
    if not selectors.listing_visible_to(listing=comment.listing, user=request.user):
        raise NotFound("No such comment.")
    return comment


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _fail(request: HttpRequest, error: services.CatalogueError) -> None:
    if isinstance(error, services.NotAllowed):
        raise PermissionDenied(str(error))
    messages.error(request, str(error))


def _ratings_context(
    request: HttpRequest,
    listing: Listing,
    *,
    message: str = "",
    level: str = "error",
    draft: dict | None = None,
) -> dict:
    """What the listing page's ratings block shows: the reviews, the visitor's own, and
    whether they may rate (the form) or why not (selectors.rating_right's sentence).
    `message`: the outcome of the last post, said in the block (the page opens there:
    #ratings); `draft`: the refused review's values, given back in its form."""
    user = request.user
    reviews = selectors.listing_reviews(listing=listing)
    my_review = next((r for r in reviews if user.is_authenticated and r.user_id == user.pk), None)
    right = None
    if user.is_authenticated and user.pk != listing.owner_id and listing.is_public:
        right = selectors.rating_right(
            listing=listing, user=user, keep=my_review.dealid if my_review else ""
        )
    if draft is None and my_review is not None:
        draft = {"stars": my_review.stars, "title": my_review.title, "body": my_review.body}
    return {
        "reviews": reviews,
        "my_review": my_review,
        "rating_right": right,
        "review_draft": draft or {},
        "rating_message": message,
        "rating_message_level": level,
    }


@require_POST
def listing_rate(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _listing_by_pk(request, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(listing.get_absolute_url())
    form = RatingForm(request.POST)
    draft = {key: request.POST.get(key, "") for key in ("title", "body")}
    draft["stars"] = form.cleaned_data.get("stars") if form.is_valid() else None
    level, message, status = "error", "", 400
    limits = posting_limits(request, "RATING_RATE")
    if not form.is_valid():
        message = next(error for errors in form.errors.values() for error in errors)
    elif refused := ratelimit.take(*limits):
        message, status = too_fast(refused, "ratings"), 429
    else:
        try:
            review = services.rating_set(
                listing=listing,
                user=request.user,
                stars=form.cleaned_data["stars"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
            edited = review.edited_at is not None
            level, message = (
                "success",
                ("Your review is updated." if edited else "Thanks, your review is posted."),
            )
            draft = None
        except services.NotAllowed as error:
            ratelimit.give_back(*limits)
            raise PermissionDenied(str(error)) from error
        except services.NotABuyer as error:
            ratelimit.give_back(*limits)
            message, status = str(error), 403
        except services.CatalogueError as error:
            ratelimit.give_back(*limits)
            message = str(error)
    if request.htmx:
        listing.refresh_from_db()
        context = {
            "listing": listing,
            "market": MARKETS[listing.kind],
            "is_owner": False,
            **_ratings_context(request, listing, message=message, level=level, draft=draft),
        }
        return render(request, "catalogue/listing_detail.html#rating", context)
    if level == "error":  # the page again, the reason in its rating block; nothing saved
        listing = selectors.listing_detail(kind=listing.kind, slug=listing.slug)
        return _detail_page(
            request, listing, rating_message=message, review_draft=draft, status=status
        )
    messages.success(request, message)
    return redirect(listing.get_absolute_url() + "#ratings")


def _visible_review(request: HttpRequest, pk: int) -> Rating:
    rating = get_object_or_404(Rating.objects.select_related("listing"), pk=pk)
    if not selectors.listing_visible_to(listing=rating.listing, user=request.user):
        raise NotFound("No such review.")
    return rating


@login_required
@require_POST
def review_reply(request: HttpRequest, pk: int) -> HttpResponse:
    rating = _visible_review(request, pk)
    body = request.POST.get("body", "")
    try:
        services.review_reply(rating=rating, actor=request.user, body=body)
    except services.NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except services.CatalogueError as error:
        problem = FormProblem(form="review_reply", target=rating.pk, text=body, error=str(error))
        return _refused(request, rating.listing, problem)
    messages.success(request, "Your answer is posted under the review.")
    return redirect(rating.listing.get_absolute_url() + f"#review-{rating.pk}")


@login_required
@require_POST
def review_report(request: HttpRequest, pk: int) -> HttpResponse:
    rating = _visible_review(request, pk)
    reason = request.POST.get("reason", "")
    try:
        services.review_report(rating=rating, reporter=request.user, reason=reason)
    except services.NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except services.CatalogueError as error:
        if rating.user_id == request.user.pk or (rating.is_hidden and not request.user.is_staff):
            messages.error(request, str(error))  # the page has no report form for them
        else:
            problem = FormProblem(
                form="review_report", target=rating.pk, text=reason, error=str(error)
            )
            return _refused(request, rating.listing, problem)
    else:
        messages.success(request, "Thanks: a moderator will look at this review.")
    return redirect(rating.listing.get_absolute_url() + f"#review-{rating.pk}")


@staff_required
@require_POST
def review_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    rating = get_object_or_404(Rating.objects.select_related("listing"), pk=pk)
    hide = request.POST.get("hide") == "1"
    services.review_moderate(
        rating=rating, actor=request.user, hide=hide, reason=request.POST.get("reason", "")
    )
    messages.success(request, "Review hidden." if hide else "Review restored.")
    return redirect(_safe_next(request) or rating.listing.get_absolute_url() + "#ratings")


def _reply_form_shown(*, listing: Listing, parent: Comment | None, user) -> bool:
    """Whether the listing page carries a reply form under `parent` (see _comment.html)."""
    return (
        parent is not None
        and parent.listing_id == listing.pk
        and parent.parent_id is None
        and listing.is_public
        and (not parent.is_hidden or user.is_staff)
    )


@require_POST
def comment_create(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _listing_by_pk(request, pk)
    if not request.user.is_authenticated:
        return redirect_to_login(listing.get_absolute_url())
    form = CommentForm(request.POST)
    text = form.data.get("body", "")
    valid = form.is_valid()  # a valid parent is known even when the text is refused
    parent = None
    if form.cleaned_data.get("parent"):
        parent = Comment.objects.filter(pk=form.cleaned_data["parent"]).first()
        if parent is None:
            return _refused(
                request,
                listing,
                FormProblem(
                    form="comment",
                    text=text,
                    error="The comment you replied to no longer exists: post your text as a "
                    "new comment instead.",
                ),
            )
    # A refusal is shown in the form the text came from, or in the new-comment form when the
    # page carries no reply form for that comment.
    if _reply_form_shown(listing=listing, parent=parent, user=request.user):
        problem = FormProblem(form="reply", target=parent.pk, text=text, error="")
    else:
        problem = FormProblem(form="comment", text=text, error="")
    if not valid:
        error = "; ".join(e for errs in form.errors.values() for e in errs)
        return _refused(request, listing, replace(problem, error=error))
    limits = posting_limits(request, "COMMENT_RATE")
    if refused := ratelimit.take(*limits):
        error = too_fast(refused, "comments")
        return _refused(request, listing, replace(problem, error=error), status=429)
    try:
        services.comment_create(
            listing=listing, author=request.user, body=form.cleaned_data["body"], parent=parent
        )
    except services.NotAllowed as error:
        ratelimit.give_back(*limits)
        raise PermissionDenied(str(error)) from error
    except services.CatalogueError as error:
        ratelimit.give_back(*limits)
        return _refused(request, listing, replace(problem, error=str(error)))
    messages.success(request, "Your comment is posted.")
    return redirect(listing.get_absolute_url() + "#comments")


@login_required
@require_POST
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _visible_comment(request, pk)
    body = request.POST.get("body", "")
    try:
        services.comment_edit(comment=comment, actor=request.user, body=body)
    except services.NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except services.CatalogueError as error:
        if services.comment_can_edit(comment=comment, user=request.user):
            problem = FormProblem(form="edit", target=comment.pk, text=body, error=str(error))
            return _refused(request, comment.listing, problem)
        messages.error(request, str(error))  # the edit form is gone: nowhere else to say it
    else:
        messages.success(request, "Comment updated.")
    return redirect(comment.listing.get_absolute_url() + f"#comment-{comment.pk}")


def _report_form_shown(*, comment: Comment, user) -> bool:
    """Whether the listing page carries a report form under `comment` (see _comment.html)."""
    return (
        comment.author_id != user.pk
        and (not comment.is_hidden or user.is_staff)
        and not services.comment_can_edit(comment=comment, user=user)
    )


@login_required
@require_POST
def comment_report(request: HttpRequest, pk: int) -> HttpResponse:
    comment = _visible_comment(request, pk)
    reason = request.POST.get("reason", "")
    try:
        services.comment_report(comment=comment, reporter=request.user, reason=reason)
    except services.NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except services.CatalogueError as error:
        if _report_form_shown(comment=comment, user=request.user):
            problem = FormProblem(
                form="comment_report", target=comment.pk, text=reason, error=str(error)
            )
            return _refused(request, comment.listing, problem)
        messages.error(request, str(error))
    else:
        messages.success(request, "Thanks: a moderator will look at this comment.")
    return redirect(comment.listing.get_absolute_url() + f"#comment-{comment.pk}")


@staff_required
@require_POST
def comment_moderate(request: HttpRequest, pk: int) -> HttpResponse:
    comment = get_object_or_404(Comment.objects.select_related("listing"), pk=pk)
    hide = request.POST.get("hide") == "1"
    services.comment_moderate(
        comment=comment, actor=request.user, hide=hide, reason=request.POST.get("reason", "")
    )
    messages.success(request, "Comment hidden." if hide else "Comment restored.")
    return redirect(_safe_next(request) or comment.listing.get_absolute_url())


@login_required
@require_POST
def listing_report(request: HttpRequest, pk: int) -> HttpResponse:
    listing = _listing_by_pk(request, pk)
    reason = ReportForm(request.POST).data.get("reason", "")
    try:
        services.listing_report(listing=listing, reporter=request.user, reason=reason)
    except services.NotAllowed as error:
        raise PermissionDenied(str(error)) from error
    except services.CatalogueError as error:
        if listing.owner_id == request.user.pk:  # the page has no report form for its owner
            messages.error(request, str(error))
            return redirect(listing.get_absolute_url())
        problem = FormProblem(form="listing_report", text=reason, error=str(error))
        return _refused(request, listing, problem)
    messages.success(request, "Thanks: curators will review this listing.")
    return redirect(listing.get_absolute_url())


_RESEMBLANCE_NOTES = {
    "same_program": "its program is byte for byte the program of",
    "close_name": "its name is close to the name of",
}


def _tell_resemblances(request: HttpRequest, listing: Listing) -> None:
    """What curators will point out about a listing just submitted, said to its provider now."""
    for found in selectors.listing_resemblances([listing])[listing.pk]:
        messages.warning(
            request,
            f"Curators will see that {_RESEMBLANCE_NOTES[found.reason]} “{found.name}” "
            f"({found.status_label}, by {found.owner}). If that is intended, say why in the "
            "description; otherwise change it.",
        )


@login_required
def listing_submit(request: HttpRequest, *, kind: str) -> HttpResponse:
    market = MARKETS[kind]
    form_class = market.form_class
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                listing = form.save(owner=request.user)
            except services.CatalogueError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    f"“{listing.name}” is submitted. Curators review new listings "
                    "before they are public; you can follow it here.",
                )
                _tell_resemblances(request, listing)
                return redirect(listing.get_absolute_url())
    else:
        form = form_class(user=request.user)
    return render(request, "catalogue/listing_form.html", {"market": market, "form": form})


@login_required
def listing_edit(request: HttpRequest, *, kind: str, slug: str) -> HttpResponse:
    market = MARKETS[kind]
    listing = selectors.listing_detail(kind=kind, slug=slug)
    if listing is None:
        raise NotFound("No such listing.")
    if listing.owner_id != request.user.pk:
        raise PermissionDenied("Only the owner of this listing can edit it.")
    form_class = market.form_class
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, user=request.user, listing=listing)
        if form.is_valid():
            try:
                was = listing.status
                listing = form.update(listing=listing, actor=request.user)
            except services.CatalogueError as error:
                _fail(request, error)
            else:
                if listing.status != CurationStatus.PENDING:
                    saved = "Saved: the change applies now, and the listing stays public."
                elif was != CurationStatus.PENDING:
                    saved = "Saved. The listing waits for review again."
                else:
                    saved = "Saved. The listing waits for review."
                messages.success(request, saved)
                _tell_resemblances(request, listing)
                return redirect(listing.get_absolute_url())
    else:
        form = form_class(
            user=request.user, listing=listing, initial=form_class.initial_for(listing)
        )
    return render(
        request, "catalogue/listing_form.html", {"market": market, "form": form, "listing": listing}
    )


def provider_profile(request: HttpRequest, username: str) -> HttpResponse:
    owner = selectors.user_by_username(username)
    if owner is None:
        raise NotFound("No such provider.")
    listings = selectors.provider_listings(owner=owner, viewer=request.user)
    page = Paginator(listings, 48).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return render(
        request,
        "catalogue/provider.html",
        {
            "owner": owner,
            "wallet": "",
            "wallets": owner.wallets.all(),
            "page": page,
            "runs": _runs(page.object_list),
        },
    )


def wallet_profile(request: HttpRequest, address: str) -> HttpResponse:
    listings = selectors.provider_listings(wallet=address, viewer=request.user)
    page = Paginator(listings, 48).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return render(
        request,
        "catalogue/provider.html",
        {
            "owner": None,
            "wallet": address,
            "wallets": [],
            "page": page,
            "runs": _runs(page.object_list),
        },
    )


def _next_steps(listings: list[Listing]) -> list[str]:
    """The owner's next step for each listing (see selectors.owner_next_step)."""
    on_sale = order_selectors.assets_on_sale(
        chain_id=settings.CHAIN_ID, addresses=[listing.chain_address for listing in listings]
    )
    return [
        selectors.owner_next_step(listing=listing, on_sale=listing.chain_address in on_sale)
        for listing in listings
    ]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    listings = list(selectors.my_listings(user=request.user))
    for listing, step in zip(listings, _next_steps(listings), strict=True):
        listing.next_step = step
    return render(request, "catalogue/dashboard.html", {"listings": listings, "markets": MARKETS})


@staff_required
def curation_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", CurationStatus.PENDING)
    if status not in CurationStatus.values and status != "reported":
        status = CurationStatus.PENDING
    page = Paginator(selectors.curation_queue(status=status), 30).get_page(request.GET.get("page"))
    resemblances = selectors.listing_resemblances(page.object_list)
    for listing in page.object_list:
        listing.resemblances = resemblances[listing.pk]
        # Only the decisions its status allows (a pending listing cannot be relisted).
        listing.curation_actions = [
            (action, services.CURATION_ACTION_LABELS[action])
            for action in services.curation_actions_for(listing.status)
        ]
    return render(
        request,
        "catalogue/curation_queue.html",
        {
            "status": status,
            "statuses": [*CurationStatus.choices, ("reported", "Reported")],
            "page": page,
            "reported_comments": selectors.reported_comments()[:50],
            "reported_reviews": selectors.reported_reviews()[:50],
        },
    )


@staff_required
@require_POST
def curation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    listing = get_object_or_404(Listing, pk=pk)
    form = CurationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a curation action.")
    else:
        try:
            with transaction.atomic():
                services.listing_curate(
                    listing=listing,
                    actor=request.user,
                    action=form.cleaned_data["action"],
                    reason=form.cleaned_data["reason"],
                )
                if request.POST.get("resolve_reports") == "1":
                    services.listing_reports_resolve(listing=listing, actor=request.user)
            messages.success(request, f"“{listing.name}”: decision recorded.")
        except services.CatalogueError as error:
            _fail(request, error)
    return redirect(_safe_next(request) or listing.get_absolute_url())
