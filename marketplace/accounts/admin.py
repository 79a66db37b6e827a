from __future__ import annotations

from django.contrib import admin

from marketplace.accounts.models import SiweNonce, Wallet


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ["address", "user", "linked_at", "last_sign_in_at"]
    search_fields = ["address", "user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["linked_at", "last_sign_in_at"]


@admin.register(SiweNonce)
class SiweNonceAdmin(admin.ModelAdmin):
    list_display = ["nonce", "created_at", "expires_at"]
    search_fields = ["nonce"]
    readonly_fields = ["nonce", "created_at", "expires_at"]
