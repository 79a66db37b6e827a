from __future__ import annotations

import pytest

from marketplace.catalogue import texts


def test_a_text_within_its_limit_passes_and_one_over_is_refused_with_limit_and_length():
    assert texts.too_long("comment", "x" * 4000, 4000) is None
    assert texts.too_long("comment", "x" * 5000, 4000) == (
        "A comment is at most 4,000 characters; this one has 5,000: shorten it by 1,000."
    )


def test_a_line_break_counts_as_one_character_as_the_browser_counts_it():
    assert texts.too_long("summary", "a\r\nb", 3) is None
    assert "this one has 4" in texts.too_long("summary", "a\r\nbc", 3)


def test_the_limits_are_the_columns():
    assert (texts.NAME_MAX, texts.SUMMARY_MAX, texts.COMMENT_MAX) == (80, 160, 4000)


@pytest.mark.parametrize(
    ("name", "markup"),
    [
        ("<b>resvg</b>", "<b>"),
        ("resvg</b>", "</b>"),
        ("resvg <img src=x onerror=alert(1)>", "<img src=x onerror=alert(1)>"),
        ("resvg <!-- hi -->", "<!-- hi -->"),
        ("Tom &amp; Jerry", "&amp;"),
        ("A&#60;b", "&#60;"),
    ],
)
def test_markup_in_a_name_is_refused_naming_the_markup(name, markup):
    assert texts.name_problem(name) == (
        f"A name is plain text, without HTML: remove “{markup}” from it (the description "
        "takes formatting, in Markdown)."
    )


@pytest.mark.parametrize("name", ["R&D tools", "a < b", "x<3", "Fish & chips", "C++ <= 2"])
def test_plain_names_with_angle_brackets_or_ampersands_pass(name):
    assert texts.name_problem(name) is None
