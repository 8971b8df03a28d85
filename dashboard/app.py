"""The tickerwire dashboard: navigation only; each page lives in dashboard/pages/."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run dashboard/app.py` puts dashboard/ on sys.path; the pages import `dashboard.*`.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

st.set_page_config(page_title="tickerwire", page_icon="📈", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon="🏠", url_path="overview", default=True),
    st.Page("pages/event.py", title="Event", icon="📰", url_path="event"),
    st.Page("pages/timeline.py", title="Timeline", icon="📈", url_path="timeline"),
    st.Page("pages/study.py", title="Study", icon="🧪", url_path="study"),
    st.Page("pages/correlations.py", title="Correlations", icon="🔗", url_path="correlations"),
    st.Page("pages/news.py", title="News", icon="🗞️", url_path="news"),
    st.Page("pages/sql.py", title="SQL", icon="🧮", url_path="sql"),
    st.Page("pages/health.py", title="Data health", icon="🩺", url_path="health"),
]

st.navigation(PAGES).run()
