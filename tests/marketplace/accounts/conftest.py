from __future__ import annotations

import pytest

from tests.marketplace.accounts.helpers import CHAIN_ID


@pytest.fixture(autouse=True)
def _siwe_settings(settings):
    settings.SIWE_CHAIN_ID = CHAIN_ID
    settings.SIWE_DOMAIN = ""
    settings.SIWE_NONCE_TTL_SECONDS = 300
