"""How a task's app is called: its argv from the deal's arguments, and the names its input files
get in /input. The site shows and checks the same (the buy form, the deal page), so that what a
buyer reads is what the worker runs.

Only the standard library here: the site imports this module, and so does the agent.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

DATASET_PLACEHOLDER = "{dataset}"
"""Stands in a task's arguments for the path of the deal's dataset in the input folder."""
APP_ARGV0 = "app"
"""The name an app sees as its argv[0] in a task (the sandbox's default)."""


def input_file_name(url: str) -> str:
    """The name an input file gets in the input folder: the last part of its URL's path."""
    try:
        name = Path(urllib.parse.urlsplit(url).path).name
    except ValueError:  # not a URL: the download refuses it
        name = ""
    return name if name not in ("", "..") else "input"


def task_arguments(args: str, *, dataset_file: str | None) -> list[str]:
    """The app's argv after its name: the deal's args split on spaces, `{dataset}` replaced by
    the dataset's path in the input folder."""
    words = args.split()
    if dataset_file:
        words = [word.replace(DATASET_PLACEHOLDER, f"/input/{dataset_file}") for word in words]
    return words


def task_command_line(args: str, *, dataset_file: str | None) -> str:
    """The command line a worker runs the app with, as the app's argv reads it."""
    return " ".join([APP_ARGV0, *task_arguments(args, dataset_file=dataset_file)])
