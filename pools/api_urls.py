"""Included at "api/v1/workers/"."""

from django.urls import path

from pools import api

urlpatterns = [
    path("work/", api.WorkRequestApi.as_view(), name="api_worker_work"),
    path("pools/<str:address>/", api.PoolTermsApi.as_view(), name="api_worker_pool"),
    path(
        "pools/<str:address>/apply/",
        api.PoolApplyApi.as_view(),
        name="api_worker_pool_apply",
    ),
    path("memberships/", api.MembershipListApi.as_view(), name="api_worker_memberships"),
    path("replicates/<int:pk>/", api.ReplicateStateApi.as_view(), name="api_worker_replicate"),
    path("replicates/<int:pk>/heartbeat/", api.HeartbeatApi.as_view(), name="api_worker_heartbeat"),
    path(
        "replicates/<int:pk>/dataset-key/",
        api.DatasetKeyApi.as_view(),
        name="api_worker_dataset_key",
    ),
    path("replicates/<int:pk>/result/", api.ResultUploadApi.as_view(), name="api_worker_result"),
    path("replicates/<int:pk>/report/", api.ReplicateReportApi.as_view(), name="api_worker_report"),
]
