from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from marketplace.catalogue.markdown import render_markdown


def test_markdown_renders_basic_formatting():
    html = render_markdown("**bold** and [link](https://example.com)")
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


def test_scripts_and_event_handlers_are_removed():
    html = render_markdown(
        '<script>alert(1)</script><img src=x onerror="alert(2)">'
        "[x](javascript:alert(3)) <iframe src=//evil></iframe>"
    )
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, inert
    assert "<img" not in html
    assert 'href="javascript:' not in html
    assert "<iframe" not in html


def test_headings_start_below_the_page_title():
    assert render_markdown("# Big\n## Smaller").startswith("<h2>Big</h2>\n<h3>Smaller</h3>")


@given(st.text(max_size=300))
def test_no_text_produces_active_html(text):
    html = render_markdown(text).lower()
    for needle in ("<script", "<iframe", "<img", "<style", 'href="javascript:'):
        assert needle not in html
