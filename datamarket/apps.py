from django.apps import AppConfig


class DatamarketConfig(AppConfig):
    name = "datamarket"
