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
    assert "alert(1)" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "<iframe" not in html


@given(st.text(max_size=300))
def test_no_text_produces_active_html(text):
    html = render_markdown(text).lower()
    for needle in ("<script", "<iframe", " onerror=", " onload=", "javascript:", "<style"):
        assert needle not in html
