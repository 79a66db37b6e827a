import re

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static as static_url
from django.urls import include, path, re_path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from marketplace.catalogue.files import listing_icon

urlpatterns = [
    # Browsers ask for it on pages that name no icon (the admin's).
    path(
        "favicon.ico", RedirectView.as_view(url=lazy(static_url, str)("frontend/img/favicon.svg"))
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("marketplace.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Its init script as a file of its own (?script), not inline: the CSP allows no inline code.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema",
            template_name="frontend/api_docs.html",
            template_name_js="frontend/api_docs.js",
        ),
        name="api_docs",
    ),
    path("api/v1/", include("marketplace.api_urls")),
    path("api/", include("marketplace.catalogue.api_urls")),
    path("chain/", include("marketplace.chain.urls")),
    path("chain/", include("marketplace.indexer.urls")),
    path("deals/", include("marketplace.deals.urls")),
    path("notifications/", include("marketplace.notifications.urls")),
    path("", include("marketplace.orders.urls")),
    path("", include("dappstore.urls")),
    path("", include("datamarket.urls")),
    path("", include("pools.urls")),
    path("", include("marketplace.catalogue.urls")),
]

# Our own page, with the path not found (frontend.errors); 500.html is Django's handler's.
handler404 = "frontend.errors.not_found"

# Listing icons are the only public files under MEDIA_ROOT, served here in debug and in
# production alike (they are small and few). Everything else there (app programs, encrypted
# datasets, buyers' input files, result archives) goes out only through views that check who
# asks, so MEDIA_ROOT itself is never served.
urlpatterns += [
    re_path(
        rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}icons/(?P<path>.+)$",
        listing_icon,
        name="listing_icon",
    )
]
