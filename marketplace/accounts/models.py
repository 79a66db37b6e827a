"""Wallets linked to user accounts, and the single-use nonces of Sign-In with Ethereum."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from marketplace.catalogue.models import wallet_address_validator


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
