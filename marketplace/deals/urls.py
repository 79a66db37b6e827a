from django.urls import path

from marketplace.deals import views

urlpatterns = [
    path("", views.deal_list, name="deal_list"),
    # Any text: a malformed id gets a page that says what a deal id looks like.
    path("<str:dealid>/", views.deal_detail, name="deal_detail"),
    path("<str:dealid>/tasks/<int:idx>/", views.task_detail, name="task_detail"),
]
