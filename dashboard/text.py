"""Text that came from outside (feed titles, outlets, file rows) made safe to show as Markdown.

Streamlit renders `st.markdown`, `st.caption`, `st.info`… as Markdown with its own extensions
(`:red[…]` colours, `:material/…:` icons, `$…$` maths). A feed title such as
`![x](http://host/beacon.png)` would make every viewer's browser fetch that image. Every text
not written by us goes through `md()` before it is put into Markdown.
"""

from __future__ import annotations

import re

from pipelines.articles import strip_controls

# Every ASCII punctuation character may be backslash-escaped in CommonMark; these are the ones
# that start Markdown or Streamlit syntax (links, images, emphasis, code, headings, lists,
# tables, HTML, directives, maths).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$=&\"'])")


def md(text: object) -> str:
    """`text` escaped so Markdown shows it literally, on one line, without controls (None → '')."""
    if text is None:
        return ""
    one_line = " ".join((strip_controls(str(text)) or "").split())
    return _SPECIAL.sub(r"\\\1", one_line)


_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def fences_as_quotes(markdown: str) -> str:
    """Our own Markdown with each fenced code block shown as a quote, line by line.

    A code block makes the browser fetch and compile Streamlit's 1.5 MB syntax highlighter;
    the sample's licence text needs none of it (it is shown in every page's banner)."""

    def quote(match: re.Match[str]) -> str:
        lines = match.group(1).rstrip("\n").split("\n")
        return "\n".join(f"> {line}  " if line.strip() else ">" for line in lines)

    return _FENCE.sub(quote, markdown)
