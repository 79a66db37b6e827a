from django.urls import path

from marketplace.catalogue.api import RetiredListingApi
from marketplace.indexer.api import IndexStatusApi

urlpatterns = [
    path("chain/status/", IndexStatusApi.as_view(), name="api_index_status"),
    # Retired: the catalogue is under /api/v1/ (apps/, datasets/, pools/); these say so (410).
    path("listings/", RetiredListingApi.as_view(), name="api_listing_list"),
    path(
        "listings/<str:kind>/<slug:slug>/", RetiredListingApi.as_view(), name="api_listing_detail"
    ),
]
