from marketplace.catalogue.models import Market
from marketplace.catalogue.urls import market_urlpatterns

urlpatterns = market_urlpatterns(Market.POOL)
