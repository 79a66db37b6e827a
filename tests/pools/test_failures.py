"""Failure classes: the reasons the sandbox, the agent and its fetcher give, as the classes that
workers' reports must agree on before a task is given up."""

from __future__ import annotations

import pytest

from pools.failures import KINDS, classify


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("The app did not finish: out of fuel (2,000,000 instructions, the budget).", "fuel"),
        ("The app did not finish: out of time (2 s): stopped while waiting in a call.", "time"),
        ("The app did not finish: out of memory (512 MiB): the app had 511 MiB when…", "memory"),
        ("The app did not finish: output too large (300 bytes in /output …).", "output"),
        ("The app did not finish: trap: wasm `unreachable` instruction executed.", "trap"),
        ("The app did not finish: exit code 1.", "exit"),
        ("The app did not finish: cannot start: unknown import wasi:foo.", "start"),
        ("App checksum mismatch: the file's sha256 is 0xab…, but 0xcd… is registered.", "checksum"),
        ("Dataset checksum mismatch: the file's sha256 is 0xab…", "checksum"),
        ("The dataset could not be decrypted: the tag does not match.", "dataset"),
        ("Refused to download http://127.0.0.1:9/x: its host is a loopback address.", "input"),
        ("Could not download the app: HTTP 502.", "other"),
        ("", "other"),
    ],
)
def test_reasons_fall_into_their_class(reason, kind):
    assert classify(reason) == kind
    assert kind in KINDS
