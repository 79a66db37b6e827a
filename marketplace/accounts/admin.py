from __future__ import annotations

from django.contrib import admin, messages

from marketplace.accounts import services
from marketplace.accounts.forms import AdminLoginForm
from marketplace.accounts.models import ApiToken, SiweNonce, Wallet

# Password guesses at /admin/login/ count toward the sign-in lockout.
admin.site.login_form = AdminLoginForm


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "wallet_address", "created_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["wallet_address", "user__username"]
    list_select_related = ["user"]
    readonly_fields = [
        "user",
        "wallet_address",
        "key_hash",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False  # issued by services.api_token_issue to a wallet that signed a challenge

    @admin.action(description="Revoke the selected API tokens", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            services.api_token_revoke(token=token)
        self.message_user(request, f"Revoked {len(tokens)} API token(s).", messages.SUCCESS)
