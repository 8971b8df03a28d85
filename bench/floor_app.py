"""The speed floor: a Streamlit page with one small Plotly chart and one widget (no database).

bench_dashboard.py --floor serves it beside the dashboard and times its first render and its
rerun after a widget change; every page is compared with these in the same run.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

st.title("Floor")
n = st.selectbox("Points", [20, 40, 60], key="points")
st.plotly_chart(go.Figure(go.Scatter(x=list(range(n)), y=[(i * 7) % 11 for i in range(n)])))
