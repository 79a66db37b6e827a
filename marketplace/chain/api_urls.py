"""The escrow API, included at "api/v1/escrow/": balances, and the deposit and withdraw
transactions for browser wallets (marketplace.chain.api)."""

from __future__ import annotations

from django.urls import path

from marketplace.chain.api import (
    EscrowDepositApi,
    EscrowDepositPermitApi,
    EscrowDetailApi,
    EscrowWithdrawApi,
)

urlpatterns = [
    path("deposit/permit/", EscrowDepositPermitApi.as_view(), name="api_escrow_deposit_permit"),
    path("deposit/", EscrowDepositApi.as_view(), name="api_escrow_deposit"),
    path("withdraw/", EscrowWithdrawApi.as_view(), name="api_escrow_withdraw"),
    # After the fixed paths: an address is any other single path segment.
    path("<str:address>/", EscrowDetailApi.as_view(), name="api_escrow_detail"),
]
