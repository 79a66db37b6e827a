from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "marketplace.orders"
    label = "orders"
    verbose_name = "Order book"
    default_auto_field = "django.db.models.BigAutoField"
