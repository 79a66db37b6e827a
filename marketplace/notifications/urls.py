from django.urls import path

from marketplace.notifications import views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("read/", views.notification_read_all, name="notification_read_all"),
    path("<int:pk>/read/", views.notification_read, name="notification_read"),
    path("preferences/", views.notification_preferences, name="notification_preferences"),
]
