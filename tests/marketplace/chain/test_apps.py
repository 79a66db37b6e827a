"""The chain app's start-up."""

from __future__ import annotations

import sys


def test_python_recursion_limit_is_the_default_after_startup():
    # eth_account (loaded by ChainConfig.ready) raises it at import; ready puts it back.
    assert "eth_account" in sys.modules
    assert sys.getrecursionlimit() == 1000
