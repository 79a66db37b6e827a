import sys

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "marketplace.accounts"
    label = "wallets"
    verbose_name = "Accounts and wallets"

    def ready(self) -> None:
        # py_ecc (imported by eth_account) raises the recursion limit to 100000 at import, so
        # a deeply nested input overflows the C stack and kills the process instead of raising
        # RecursionError. Put Python's default back once it is loaded.
        import eth_account  # noqa: F401

        sys.setrecursionlimit(1000)
