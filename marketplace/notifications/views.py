"""The notifications' pages: the list behind the bell (read one, read all) and the
preferences. Plain forms and links: they work without JavaScript."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from marketplace.notfound import NotFound
from marketplace.notifications import selectors, services

PER_PAGE = 20


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.notification_list(user=request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/notification_list.html",
        {"page": page, "unread": selectors.unread_count(user=request.user)},
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    if not services.notification_mark_read(user=request.user, pk=pk) and not (
        selectors.notification_exists(user=request.user, pk=pk)
    ):
        raise NotFound("You have no such notification: it may be another account's.")
    return redirect(_back(request))


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    marked = services.notifications_mark_all_read(user=request.user)
    if marked:
        messages.success(request, f"{marked} notification{'s' if marked != 1 else ''} marked read.")
    return redirect("notification_list")


@login_required
def notification_preferences(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            services.preferences_set(
                user=request.user,
                in_site=request.POST.getlist("in_site"),
                by_email=request.POST.getlist("by_email"),
            )
        except services.NotificationError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Your notification preferences are saved.")
            return redirect("notification_preferences")
    return render(
        request,
        "notifications/preferences.html",
        {
            "rows": selectors.preference_table(user=request.user),
            "email": selectors.email_address_of(user=request.user),
        },
    )


def _back(request: HttpRequest) -> str:
    """The list's page the form was sent from (a page number only: never another site)."""
    page = request.POST.get("page", "")
    listed = reverse("notification_list")
    return f"{listed}?page={page}" if page.isdigit() else listed
