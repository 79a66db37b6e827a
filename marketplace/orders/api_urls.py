"""Included at "api/v1/orders/"."""

from django.urls import path

from marketplace.orders import api

urlpatterns = [
    path("", api.OrderListApi.as_view(), name="api_order_list"),
    path("publish/", api.OrderPublishApi.as_view(), name="api_order_publish"),
    path("typed-data/", api.OrderTypedDataApi.as_view(), name="api_order_typed_data"),
    path("inputs/", api.InputUploadApi.as_view(), name="api_order_inputs"),
    path("inputs/<str:token>/", api.InputDeleteApi.as_view(), name="api_order_input"),
    path("quote/", api.PurchaseQuoteApi.as_view(), name="api_purchase_quote"),
    path("match/", api.PurchaseMatchApi.as_view(), name="api_purchase_match"),
    path("explain/", api.MarketExplainApi.as_view(), name="api_market_explain"),
    path("<str:digest>/", api.OrderDetailApi.as_view(), name="api_order_detail"),
    path("<str:digest>/unpublish/", api.OrderUnpublishApi.as_view(), name="api_order_unpublish"),
    path("<str:digest>/close/", api.OrderCloseApi.as_view(), name="api_order_close"),
]
