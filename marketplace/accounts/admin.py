from __future__ import annotations

from django.contrib import admin

from marketplace.accounts.models import SiweNonce, Wallet


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["address", "user", "linked_at", "last_sign_in_at"]
    search_fields = ["address", "user__username", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["address", "user", "linked_at", "last_sign_in_at"]

    def has_add_permission(self, request) -> bool:
        # A wallet is linked only by signing in with it (services.siwe_sign_in).
        return False


@admin.register(SiweNonce)
class SiweNonceAdmin(admin.ModelAdmin):
    list_display = ["nonce", "created_at", "expires_at"]
    search_fields = ["nonce"]
    readonly_fields = ["nonce", "created_at", "expires_at"]

    def has_add_permission(self, request) -> bool:
        return False  # issued by services.siwe_nonce_issue only
