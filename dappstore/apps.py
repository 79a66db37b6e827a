from django.apps import AppConfig


class DappstoreConfig(AppConfig):
    name = "dappstore"
