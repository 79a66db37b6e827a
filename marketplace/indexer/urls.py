"""Included at "chain/"."""

from __future__ import annotations

from django.urls import path

from marketplace.indexer import views

urlpatterns = [
    path("index/", views.index_status, name="index_status"),
]
