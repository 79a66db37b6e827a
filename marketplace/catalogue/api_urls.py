from django.urls import path

from marketplace.catalogue.api import ListingDetailApi, ListingListApi
from marketplace.indexer.api import IndexStatusApi

urlpatterns = [
    path("chain/status/", IndexStatusApi.as_view(), name="api_index_status"),
    path("listings/", ListingListApi.as_view(), name="api_listing_list"),
    path("listings/<str:kind>/<slug:slug>/", ListingDetailApi.as_view(), name="api_listing_detail"),
]
