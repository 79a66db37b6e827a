from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo `make run` starts with (manage.py seed_demo): listings of every market, their
    assets on the development chain, their offers in the book and a first deal. It uses every
    part of the site, so nothing of the site imports it."""

    name = "marketplace.demo"
    label = "demo"
