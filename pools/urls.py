from django.urls import path

from marketplace.catalogue.models import Market
from marketplace.catalogue.urls import market_urlpatterns
from pools import membership_views, views

urlpatterns = [
    path("results/<str:taskid>/", views.task_result, name="task_result"),
    path(
        "results/<str:taskid>/download/",
        views.task_result_download,
        name="task_result_download",
    ),
    path("results/<str:taskid>/file/<path:path>", views.task_result_file, name="task_result_file"),
    path("pools/<slug:slug>/members/", membership_views.pool_members, name="pool_members"),
    *market_urlpatterns(Market.POOL),
]
