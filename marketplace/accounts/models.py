"""Wallets linked to user accounts, the single-use nonces of Sign-In with Ethereum, and the API
tokens scripts get by signing in with a wallet."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from marketplace.fields import wallet_address_validator


class Wallet(models.Model):
    """An Ethereum address a user proved to control (EIP-4361). Stored checksummed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallets"
    )
    address = models.CharField(max_length=42, unique=True, validators=[wallet_address_validator])
    linked_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["linked_at"]

    def __str__(self) -> str:
        return self.address


class SiweNonce(models.Model):
    """A nonce handed out for one SIWE message; deleted when used, useless once expired."""

    nonce = models.CharField(max_length=32, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.nonce


class ApiToken(models.Model):
    """A bearer token for the JSON API, issued to a script that signed a SIWE challenge with
    `wallet_address`. Only the sha256 of the secret is stored: a leaked table grants nothing."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    wallet_address = models.CharField(max_length=42, validators=[wallet_address_validator])
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"API token {self.key_hash[:8]} of {self.wallet_address}"
