"""Why a replicate failed, as a class that two workers' reports can agree on, and the last
words of the app (`stderr_tail`) that the buyer reads.

A worker agent says why its run failed in words (the sandbox's reason) and in a class
(`classify`); the scheduler gives a task up only when members in good standing agree on the
class (pools.scheduler.runs_abandon). No Django here: the worker agent uses it too.
"""

from __future__ import annotations

import re
from pathlib import Path

# How much of a failed run's stderr is reported and shown: its last lines, within a size.
STDERR_TAIL_LINES = 20
STDERR_TAIL_CHARS = 4096
# Control characters other than tab and newline (terminal escapes, NUL...) and the marks that
# reorder text on screen: shown as "?".
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# The classes of app failures (reported with app_fault: the app's or its inputs' fault, not the
# worker's machine), with what they mean.
KINDS: dict[str, str] = {
    "fuel": "out of fuel",
    "time": "out of time",
    "memory": "out of memory",
    "output": "output too large or not archivable",
    "trap": "the app trapped",
    "exit": "the app exited with an error",
    "start": "the app could not start",
    "checksum": "a file does not match its registered checksum",
    "dataset": "the dataset could not be decrypted",
    "input": "a file the deal names may not be fetched (its URL is refused)",
    "other": "another reason",
}

# The classes every worker of a task meets alike (fuel, memory and output limits are the same
# for all; a trap or an exit code follows from the app and its inputs): another worker's success
# contradicts such a report. Running out of wall-clock time depends on the machine, and a
# refused download on the worker's own settings.
CONTRADICTABLE = frozenset(
    {"fuel", "memory", "output", "trap", "exit", "start", "checksum", "dataset"}
)

# Reason prefixes (lower case, as worker.runtime, worker.sandbox and worker.agent word them) and
# their class; the first that matches wins.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("out of fuel", "fuel"),
    ("out of time", "time"),
    ("out of memory", "memory"),
    ("output too large", "output"),
    ("output not archivable", "output"),
    ("trap:", "trap"),
    ("exit code", "exit"),
    ("cannot start", "start"),
    ("invalid webassembly", "start"),
    ("app checksum mismatch", "checksum"),
    ("dataset checksum mismatch", "checksum"),
    ("the dataset could not be decrypted", "dataset"),
    ("refused to download", "input"),
)


def classify(reason: str) -> str:
    """The class of a failure reason ("other" when none fits)."""
    text = reason.strip().lower()
    for lead in ("the app did not finish:", "the app failed:"):
        text = text.removeprefix(lead).strip()
    for prefix, kind in _PREFIXES:
        if text.startswith(prefix):
            return kind
    return "other"


def clean_tail(text: str) -> str:
    """`text` as a stderr tail may be stored and shown: its last STDERR_TAIL_LINES lines within
    STDERR_TAIL_CHARS characters, control characters (terminal escapes, NUL) replaced by "?",
    Windows line ends as newlines, without trailing blank lines."""
    text = _CONTROL.sub("?", text.replace("\r\n", "\n")).rstrip()
    lines = text.split("\n")[-STDERR_TAIL_LINES:]
    return "\n".join(lines)[-STDERR_TAIL_CHARS:]


def stderr_tail(path: Path) -> str:
    """The end of the stderr file at `path` as `clean_tail` bounds it ("" when there is none).
    Reads only the file's last bytes, whatever its size; invalid UTF-8 shows as U+FFFD."""
    try:
        with Path(path).open("rb") as file:
            file.seek(0, 2)
            size = file.tell()
            file.seek(max(0, size - 4 * STDERR_TAIL_CHARS))
            data = file.read()
    except OSError:
        return ""
    return clean_tail(data.decode("utf-8", errors="replace"))
