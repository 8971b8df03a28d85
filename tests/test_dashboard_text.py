"""Outside text shown as Markdown stays literal; feed titles and links are cleaned on the way in."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from dashboard.text import md
from pipelines.articles import RawArticle, normalise_articles, strip_controls, web_url

# CommonMark plus the GFM tables and strikethrough Streamlit's renderer also understands.
RENDER = MarkdownIt("commonmark").enable(["table", "strikethrough"])
HOSTILE_TITLES = [
    "![b](http://host/beacon.png)",
    "[click](javascript:alert(1))",
    ":red[Markets crash] :material/warning: now",
    "# Breaking",
    "**bold** _it_ `code` ~~gone~~",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "| a | b |\n|---|---|\n| 1 | 2 |",
    "- item\n- item",
    "1. first",
    "> quoted",
    "---",
    "$x^2$ and $$y$$",
    "<http://host/autolink>",
    "a\\*b\\",
    "&amp; &#35; &lt;",
    "[ref]: http://host/x",
    "trailing two spaces  \nbreak",
]


def _rendered_text(markdown: str) -> str:
    out = RENDER.render(markdown).strip()
    assert out.startswith("<p>") and out.endswith("</p>"), out
    inner = out[3:-4]
    assert not re.search(r"<(?!/?p>)", inner), out  # no element at all inside the paragraph
    return html.unescape(inner)


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_hostile_titles_render_as_their_own_text(title):
    assert _rendered_text(md(title)) == " ".join(title.split())


@given(st.text(min_size=1).filter(lambda t: (strip_controls(t) or "").split()))
def test_any_text_renders_literally(text):
    assert _rendered_text(md(text)) == " ".join(strip_controls(text).split())


def test_md_of_nothing_is_empty():
    assert md(None) == "" and md("   ") == ""


def test_controls_and_bidi_overrides_are_stripped():
    assert strip_controls("safe\u202egpj.exe") == "safegpj.exe"
    assert strip_controls("a\u0000b\u0007c\u200bd\u2066e\u2069") == "abcde"
    assert strip_controls("family 👨\u200d👩\u200d👧 keeps its joiners") == (
        "family 👨\u200d👩\u200d👧 keeps its joiners"
    )


@pytest.mark.parametrize(
    ("url", "base", "kept"),
    [
        ("https://news.example/a", None, "https://news.example/a"),
        ("http://news.example/a?b=1", None, "http://news.example/a?b=1"),
        ("/a/b", "https://news.example/feed.xml", "https://news.example/a/b"),
        ("javascript:alert(1)", None, None),
        ("JaVaScRiPt:alert(1)", "https://news.example/", None),
        ("data:text/html,<script>alert(1)</script>", None, None),
        ("file:///etc/passwd", None, None),
        ("vbscript:msgbox", None, None),
        ("ftp://host/x", None, None),
        ("https:///no-host", None, None),
        ("   ", None, None),
        (None, None, None),
    ],
)
def test_only_web_links_are_kept(url, base, kept):
    assert web_url(url, base) == kept


def test_normalised_articles_hold_clean_titles_and_only_web_links():
    now = datetime(2026, 5, 1, tzinfo=UTC)
    raws = [
        RawArticle(title="Gold \u202eup\u202c 2%\u0007", url="javascript:alert(1)",
                   published="2026-04-30T10:00:00Z", outlet="Wire\u200b"),
        RawArticle(title="Oil falls", url="data:text/html,x", published="2026-04-30T11:00:00Z"),
        RawArticle(title="BTC rallies", url="/a", base_url="https://n.example/f.xml",
                   published="2026-04-30T12:00:00Z"),
    ]  # fmt: skip
    frame, rejects = normalise_articles(raws, now)
    assert rejects == []
    assert frame.select("title", "url", "outlet").rows() == [
        ("Gold up 2%", None, "Wire"),
        ("Oil falls", None, None),
        ("BTC rallies", "https://n.example/a", None),
    ]
