from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "marketplace.accounts"
    label = "wallets"
    verbose_name = "Accounts and wallets"
