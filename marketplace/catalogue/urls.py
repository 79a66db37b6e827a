from __future__ import annotations

from django.urls import path

from marketplace.catalogue import files, views
from marketplace.catalogue.markets import MARKETS


def market_urlpatterns(kind: str) -> list:
    """The pages of one market: list, submit, detail, edit."""
    prefix = MARKETS[kind].url_prefix
    return [
        path(f"{prefix}/", views.listing_list, {"kind": kind}, name=f"{kind}_list"),
        path(f"{prefix}/new/", views.listing_submit, {"kind": kind}, name=f"{kind}_submit"),
        path(f"{prefix}/<slug:slug>/", views.listing_detail, {"kind": kind}, name=f"{kind}_detail"),
        path(
            f"{prefix}/<slug:slug>/edit/", views.listing_edit, {"kind": kind}, name=f"{kind}_edit"
        ),
    ]


urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("files/<str:kind>/<slug:slug>/", files.asset_file, name="asset_file"),
    path("listings/<int:pk>/rate/", views.listing_rate, name="listing_rate"),
    path("listings/<int:pk>/comments/", views.comment_create, name="comment_create"),
    path("listings/<int:pk>/report/", views.listing_report, name="listing_report"),
    path("comments/<int:pk>/edit/", views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/report/", views.comment_report, name="comment_report"),
    path("comments/<int:pk>/moderate/", views.comment_moderate, name="comment_moderate"),
    path("reviews/<int:pk>/reply/", views.review_reply, name="review_reply"),
    path("reviews/<int:pk>/report/", views.review_report, name="review_report"),
    path("reviews/<int:pk>/moderate/", views.review_moderate, name="review_moderate"),
    path("providers/<str:username>/", views.provider_profile, name="provider_profile"),
    path("wallets/<str:address>/", views.wallet_profile, name="wallet_profile"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("curation/", views.curation_queue, name="curation_queue"),
    path("curation/<int:pk>/decide/", views.curation_decide, name="curation_decide"),
]
