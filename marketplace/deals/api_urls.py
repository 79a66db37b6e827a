"""Deals and tasks under /api/v1/. Ids are matched loosely (str) so that a malformed one gets
a 400 that names it rather than a bare 404."""

from django.urls import path

from marketplace.deals import api

urlpatterns = [
    path("deals/", api.DealListApi.as_view(), name="api_v1_deal_list"),
    path("deals/<str:dealid>/", api.DealDetailApi.as_view(), name="api_v1_deal_detail"),
    path("tasks/<str:taskid>/", api.TaskDetailApi.as_view(), name="api_v1_task_detail"),
]
