"""MetaMask's own typed-data signer (@metamask/eth-sig-util, run by node) for the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
ETH_SIG_UTIL = Path(__file__).with_name("eth_sig_util.mjs")


def metamask_sign(cases: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each {data: typed data, privateKey: 0x hex}, what MetaMask computes for
    eth_signTypedData_v4: {digest, signature}; one run of node for them all."""
    if shutil.which("node") is None:
        pytest.fail("node is missing: install Node.js, then `make install`.")
    completed = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        ["node", str(ETH_SIG_UTIL)],  # noqa: S607 - node from PATH, as `make install` uses it
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return json.loads(completed.stdout)
