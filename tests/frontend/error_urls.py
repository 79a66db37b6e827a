"""The site's URLs and views that fail, for the error pages' tests."""

from django.http import Http404
from django.urls import path

from marketplace.errors import Conflict
from marketplace.urls import handler404
from marketplace.urls import urlpatterns as site_urlpatterns


def _fails(request):
    raise RuntimeError("A bug on purpose, for the test.")


def _finds_nothing(request):
    raise Http404("Internal detail: row 42 of table secret_things")


def _refuses(request):
    raise Conflict("The listing is being curated: try again once it is approved.")


urlpatterns = [
    path("fails/", _fails),
    path("finds-nothing/", _finds_nothing),
    path("refuses/", _refuses),
    *site_urlpatterns,
]

__all__ = ["handler404", "urlpatterns"]
