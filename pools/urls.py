from django.urls import path

from marketplace.catalogue.models import Market
from marketplace.catalogue.urls import market_urlpatterns
from pools import files

urlpatterns = [
    path("files/<str:kind>/<slug:slug>/", files.asset_file, name="asset_file"),
    *market_urlpatterns(Market.POOL),
]
