"""A task's command line: the deal's arguments with {dataset} as the dataset's path in /input,
and the names input files get there."""

from __future__ import annotations

import pytest

from worker.command_line import input_file_name, task_arguments, task_command_line


def test_the_dataset_placeholder_becomes_its_path_in_the_input_folder() -> None:
    args = "--width 64 {dataset} /output/out.png"

    assert task_arguments(args, dataset_file="drawing.svg") == [
        "--width",
        "64",
        "/input/drawing.svg",
        "/output/out.png",
    ]
    assert task_command_line(args, dataset_file="drawing.svg") == (
        "app --width 64 /input/drawing.svg /output/out.png"
    )


def test_without_a_dataset_the_arguments_are_left_as_written() -> None:
    assert task_arguments("  {dataset}   -v ", dataset_file=None) == ["{dataset}", "-v"]
    assert task_command_line("", dataset_file=None) == "app"


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://files.example/data/in.csv?version=2", "in.csv"),
        ("https://files.example/", "input"),
        ("https://files.example/data/..", "input"),
        ("http://[::1", "input"),  # not a URL: the download refuses it
    ],
)
def test_an_input_file_is_named_after_the_last_part_of_its_url(url: str, name: str) -> None:
    assert input_file_name(url) == name
