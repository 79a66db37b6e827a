"""The site's URLs and one view that fails, for the server error page's tests."""

from django.urls import path

from marketplace.urls import handler404
from marketplace.urls import urlpatterns as site_urlpatterns


def _fails(request):
    raise RuntimeError("A bug on purpose, for the test.")


urlpatterns = [path("fails/", _fails), *site_urlpatterns]

__all__ = ["handler404", "urlpatterns"]
