"""The catalogue's endpoints under /api/v1/: each market's listings, and one of them."""

from django.urls import path

from marketplace.catalogue import api_v1

urlpatterns = [
    path("apps/", api_v1.AppListApi.as_view(), name="api_v1_app_list"),
    path("apps/<slug:slug>/", api_v1.AppDetailApi.as_view(), name="api_v1_app_detail"),
    path("datasets/", api_v1.DatasetListApi.as_view(), name="api_v1_dataset_list"),
    path("datasets/<slug:slug>/", api_v1.DatasetDetailApi.as_view(), name="api_v1_dataset_detail"),
    path("pools/", api_v1.WorkerpoolListApi.as_view(), name="api_v1_pool_list"),
    path("pools/<slug:slug>/", api_v1.WorkerpoolDetailApi.as_view(), name="api_v1_pool_detail"),
]
