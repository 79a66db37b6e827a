"""Why a replicate failed, as a class that two workers' reports can agree on.

A worker agent says why its run failed in words (the sandbox's reason) and in a class
(`classify`); the scheduler gives a task up only when members in good standing agree on the
class (pools.scheduler.runs_abandon). No Django here: the worker agent uses it too.
"""

from __future__ import annotations

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

# Reason prefixes (lower case, as pools.runtime, pools.sandbox and pools.agent word them) and
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
