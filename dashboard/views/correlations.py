"""Correlations: the return correlation matrix, and a rolling correlation with event markers."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, prices, stat_charts, ui
from pipelines.analytics import correlation

MAX_MARKERS = 100
BUCKETS = {"5m": 300, "15m": 900, "1h": 3_600, "4h": 14_400, "1d": 86_400}


def body() -> None:
    """The Correlations page."""
    available = data.instruments_with_bars()
    if len(available) < 2:
        st.info("Correlations need bars for at least two instruments.")
        return
    default = [
        i for i in ("BTC", "ETH", "SOL", "XRP", "XAU", "WTI") if i in available
    ] or available[:4]
    c1, c2 = st.columns([3, 1])
    chosen = c1.multiselect(
        "Instruments", available, default=default, key="instruments", bind="query-params"
    )
    bucket = c2.selectbox(
        "Return interval", list(BUCKETS), index=2, key="interval", bind="query-params"
    )
    first, last = data.span(chosen or available)
    start, end = ui.range_picker(first, last, default="1M")
    if len(chosen) < 2:
        st.info("Pick at least two instruments.")
        return
    returns = prices.bucket_returns(chosen, start, end, BUCKETS[bucket])
    if returns.height < 3:
        st.info(
            f"Too few {bucket} returns in this range for a correlation; widen the range or shorten the interval."
        )
        return
    matrix = correlation.correlation_matrix(returns)
    st.subheader(f"Correlation of {bucket} log returns")
    ui.plot(stat_charts.correlation_heatmap(matrix), key="corr-matrix")
    st.caption(
        f"{returns.height:,} {bucket} intervals from {ui.fmt_ts(start)} to {ui.fmt_ts(end)}; pairwise-complete observations."
    )
    # The heatmap prints every value: the same numbers as a grid are folded, built only when
    # opened (a grid on first paint loads the data-grid and Arrow code, 1.2 MB, for nothing).
    shown = matrix.with_columns(pl.exclude("instrument_id").round(3))
    if (box := ui.folded("Correlation matrix as a table", "fold-corr-table")) is not None:
        with box:
            ui.table(shown, "correlation_matrix", key="corr-table")
    else:
        ui.csv_button(shown, "correlation_matrix", key="csv-corr-table", label="correlation matrix")

    st.subheader("Rolling correlation")
    present = [c for c in returns.columns if c != "t_ms"]
    d1, d2, d3 = st.columns(3)
    a = d1.selectbox("First", present, index=0, key="a", bind="query-params")
    b = d2.selectbox(
        "Second", present, index=min(1, len(present) - 1), key="b", bind="query-params"
    )
    window = d3.slider("Window (intervals)", 5, 200, 24, key="rolling", bind="query-params")
    if a == b:
        st.info("Pick two different instruments.")
        return
    rolling = correlation.rolling_correlation(returns, a, b, window)
    if rolling.height == 0:
        st.info(f"Fewer than {window} common intervals: shorten the window.")
        return
    # Markers only for the biggest stories: hundreds of lines would hide the correlation.
    events = data.events(start=start, end=end, limit=charts.MAX_EVENT_MARKERS)
    if events.height > MAX_MARKERS:
        events = events.sort(["n_articles", "event_at"], descending=True).head(MAX_MARKERS)
        st.caption(
            f"Event markers: the {MAX_MARKERS} most reported of {events['n_matched'][0]:,} events in range."
        )
    ui.plot(
        stat_charts.rolling_corr_figure(rolling, events, title=f"{a} × {b}, {window} × {bucket}"),
        key="corr-rolling",
    )
    ui.csv_button(rolling, f"rolling_corr_{a}_{b}", key="csv-rolling", label="rolling correlation")


ui.run_page("Correlations", body, charts=True)
