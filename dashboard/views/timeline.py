"""Timeline: one instrument over a range, candles or line, with event markers by category."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import charts, data, ui


def body() -> None:
    """The Timeline page."""
    c1, c2, c3 = st.columns([2, 1, 2])
    picked = ui.price_controls(c1, c2)
    if picked is None:
        return
    inst, kind = picked
    scope = c3.segmented_control(
        "Events",
        ["all", "linked to this instrument"],
        default="all",
        key="events",
        bind="query-params",
        required=True,
    )
    cats = data.categories()["category"].to_list()
    chosen_cats = st.multiselect(
        "Categories", cats, default=cats, key="categories", bind="query-params"
    )
    first, last = data.span([inst])
    start, end = ui.range_picker(first, last)
    prices = ui.load_prices(inst, kind, start, end)
    if prices is None:
        return
    events = data.events(
        start=start,
        end=end,
        instrument=inst if scope != "all" else None,
        limit=charts.MAX_EVENT_MARKERS,
    )
    if chosen_cats != cats:
        events = events.filter(pl.col("category").fill_null("uncategorised").is_in(chosen_cats))
    fig = charts.price_figure(prices.frame, kind=kind, events=events, title=inst, height=520)
    picked = ui.plot(fig, key="timeline-chart", on_select="rerun", selection_mode="points")
    n_total = events["n_matched"][0] if events.height else 0
    st.caption(
        f"{prices.raw_points:,} {prices.timeframe} bars → {prices.frame.height:,} "
        f"{'candles' if kind == 'candles' else 'points'} (bucket {timedelta(seconds=prices.bucket_s)}). "
        f"{events.height:,} event marker(s)"
        + (f" of {n_total:,} (newest shown)" if n_total > events.height else "")
        + ". Hover a marker for the headline; click it to open the event."
    )
    selected = _picked_event(picked)
    if selected:
        st.switch_page("views/event.py", query_params={"event": selected})
    st.subheader("Events in range")
    ui.table(
        events.select(
            "event_at",
            "title",
            "category",
            "n_articles",
            ("event?event=" + pl.col("event_id")).alias("open"),
        ),
        f"{inst}_events",
        empty="No events in this range.",
        column_config={"open": st.column_config.LinkColumn("event page", display_text="open")},
        key="timeline-events",
    )
    ui.csv_button(prices.frame, f"{inst}_prices", key="csv-timeline-prices", label="prices")


def _picked_event(state: object) -> str | None:
    """The event id of a clicked event marker (markers carry the id as customdata)."""
    try:
        points = state.selection.points  # type: ignore[attr-defined]
    except AttributeError:
        return None
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(custom, str):
            return custom
        if isinstance(custom, list) and custom and isinstance(custom[0], str):
            return custom[0]
    return None


ui.run_page("Timeline", body, charts=True)
