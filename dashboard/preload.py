"""Start fetching the Plotly chart code when a charting page opens, not when its first chart
arrives.

Streamlit loads the 4.7 MB PlotlyChart chunk only once a chart element reaches the browser, which
on our pages comes after the widgets, the banner and the verdict (~1.2 s after navigation). A
`<link rel="modulepreload">` for that chunk, sent as the page's first element, lets the browser
fetch and compile it while the script still runs; Streamlit's own import then finds it loaded.
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st

# Resolves the chunk against the app's own entry script, so a base URL path keeps working.
_PRELOAD = """<script>
(() => {
  const entry = document.querySelector('script[type="module"][src*="/js/index."]');
  if (!entry) return;
  const href = new URL("%s", entry.src).href;
  if (document.querySelector(`link[rel="modulepreload"][href="${href}"]`)) return;
  const link = document.createElement("link");
  link.rel = "modulepreload";
  link.crossOrigin = "";
  link.href = href;
  document.head.appendChild(link);
})();
</script>"""


@functools.cache
def plotly_chunk() -> str | None:
    """The file name of the installed Streamlit's Plotly chunk (hashed per release), if any."""
    js = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(js.glob("PlotlyChart.*.js"))
    return found[0].name if found else None


def plotly_early() -> None:
    """Ask the browser to load the Plotly chunk now (in the sidebar: no gap in the page)."""
    name = plotly_chunk()
    if name is not None:
        st.sidebar.html(_PRELOAD % name, unsafe_allow_javascript=True)
