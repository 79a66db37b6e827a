"""Failure classes: the reasons the sandbox, the agent and its fetcher give, as the classes that
workers' reports must agree on before a task is given up; the end of a failed run's stderr as
the buyer reads it."""

from __future__ import annotations

import pytest

from worker.failures import KINDS, STDERR_TAIL_CHARS, classify, clean_tail, stderr_tail


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


def test_the_stderr_tail_is_the_last_20_lines_of_a_file_of_any_size(tmp_path):
    path = tmp_path / "stderr.txt"
    path.write_bytes(b"x" * 10_000_000 + b"".join(b"line %d\n" % n for n in range(100)) + b"\n\n")

    assert stderr_tail(path) == "\n".join(f"line {n}" for n in range(80, 100))


def test_the_stderr_tail_keeps_its_last_4_kib_of_long_lines(tmp_path):
    path = tmp_path / "stderr.txt"
    path.write_bytes(b"a" * 3000 + b"\n" + b"b" * 3000 + b"\n" + b"end \xff\xfe")

    tail = stderr_tail(path)

    assert len(tail) == STDERR_TAIL_CHARS
    assert tail.endswith("b\nend \ufffd\ufffd")  # invalid UTF-8 shown as U+FFFD


def test_the_stderr_tail_shows_control_characters_and_text_reordering_marks_as_question_marks():
    assert (
        clean_tail("\x1b[1mbold\x1b[0m\tok\r\nnul\x00 \u202eevil") == "?[1mbold?[0m\tok\nnul? ?evil"
    )


def test_no_stderr_file_is_no_tail(tmp_path):
    assert stderr_tail(tmp_path / "missing.txt") == ""
    (tmp_path / "empty.txt").write_bytes(b"")
    assert stderr_tail(tmp_path / "empty.txt") == ""
