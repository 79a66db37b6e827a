from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("marketplace.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
    path("api/v1/", include("marketplace.api_urls")),
    path("api/", include("marketplace.catalogue.api_urls")),
    path("chain/", include("marketplace.chain.urls")),
    path("chain/", include("marketplace.indexer.urls")),
    path("deals/", include("marketplace.deals.urls")),
    path("", include("marketplace.orders.urls")),
    path("", include("dappstore.urls")),
    path("", include("datamarket.urls")),
    path("", include("pools.urls")),
    path("", include("marketplace.catalogue.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
