"""The tickerwire dashboard: navigation only; each page lives in dashboard/views/.

The folder is not called `pages/`: Streamlit treats a `pages/` folder beside the main script as
a legacy (v1) multipage app and then never runs this script when a page URL is opened directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path; the pages import `dashboard.*`.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

st.set_page_config(page_title="tickerwire", page_icon=":material/candlestick_chart:", layout="wide")

OVERVIEW = st.Page(
    "views/overview.py", title="Overview", icon=":material/home:", url_path="home", default=True
)


def _overview_alias() -> None:
    """/overview opens the Overview (the default page lives at /), keeping the query."""
    st.switch_page(OVERVIEW, query_params=st.query_params.to_dict())


PAGES = [
    OVERVIEW,
    st.Page("views/event.py", title="Event", icon=":material/article:", url_path="event"),
    st.Page(
        "views/timeline.py",
        title="Timeline",
        icon=":material/candlestick_chart:",
        url_path="timeline",
    ),
    st.Page("views/study.py", title="Study", icon=":material/science:", url_path="study"),
    st.Page(
        "views/correlations.py",
        title="Correlations",
        icon=":material/grid_on:",
        url_path="correlations",
    ),
    st.Page("views/news.py", title="News", icon=":material/newspaper:", url_path="news"),
    st.Page("views/sql.py", title="SQL", icon=":material/terminal:", url_path="sql"),
    st.Page(
        "views/health.py", title="Data health", icon=":material/monitor_heart:", url_path="health"
    ),
]

# Hidden: not in the menu, only there so that a typed or shared /overview link works.
ALIASES = [st.Page(_overview_alias, title="Overview", url_path="overview", visibility="hidden")]

st.navigation(PAGES + ALIASES).run()
