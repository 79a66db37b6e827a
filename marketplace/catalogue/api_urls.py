from django.urls import path

from marketplace.catalogue.api import ListingDetailApi, ListingListApi

urlpatterns = [
    path("listings/", ListingListApi.as_view(), name="api_listing_list"),
    path("listings/<str:kind>/<slug:slug>/", ListingDetailApi.as_view(), name="api_listing_detail"),
]
