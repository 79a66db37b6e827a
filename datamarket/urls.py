from django.urls import path

from datamarket import views
from marketplace.catalogue.models import Market
from marketplace.catalogue.urls import market_urlpatterns

urlpatterns = [
    path("datasets/<slug:slug>/keys/", views.dataset_keys, name="dataset_keys"),
    *market_urlpatterns(Market.DATASET),
]
