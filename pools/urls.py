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
    path("pools/<slug:slug>/demand/", views.pool_demand, name="pool_demand"),
    # The pool form's live check, new pool and edit (beside the form's own address).
    path(
        "pools/new/requirements-check/",
        views.requirements_check,
        name="pool_requirements_check_new",
    ),
    path(
        "pools/<slug:slug>/edit/requirements-check/",
        views.requirements_check,
        name="pool_requirements_check",
    ),
    *market_urlpatterns(Market.POOL),
]
