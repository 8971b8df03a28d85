"""Event: how the market moved around one news event, and how the story spread across outlets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from dashboard import charts, data, ui

WINDOWS = {
    "−1h / +4h": (3_600, 14_400),
    "−6h / +1d": (21_600, 86_400),
    "−1d / +3d": (86_400, 259_200),
    "−30m / +2h": (1_800, 7_200),
}


def pick_event() -> dict | None:
    """Search (words, category, dates) and pick an event; the pick is kept in the URL (?event=)."""
    c1, c2, c3 = st.columns([2, 1, 1])
    words = c1.text_input(
        "Search titles", key="q", bind="query-params", placeholder="e.g. china ai"
    )
    cats = data.categories()["category"].to_list()
    category = c2.selectbox("Category", ["(any)", *cats], key="category", bind="query-params")
    since = c3.date_input("Since", value=None, key="since", bind="query-params")
    found = data.events(
        words=tuple(words.split()),
        category=None if category in (None, "(any)") else category,
        start=ui.as_utc(since) if since else None,
        limit=500,
    )
    wanted = st.query_params.get("event")
    options = found["event_id"].to_list()
    labels = {r["event_id"]: ui.event_label(r) for r in found.iter_rows(named=True)}
    if wanted and wanted not in labels:
        linked = data.event(wanted)
        if linked is not None:
            options.insert(0, wanted)
            labels[wanted] = ui.event_label(linked)
    if not options:
        st.info(
            "No event matches these filters."
            if words or since or category not in (None, "(any)")
            else "No events stored yet: `tickerwire import events FILE` adds some."
        )
        return None
    n = found["n_matched"][0] if found.height else 0
    st.caption(f"{n:,} matching event(s){' (newest 500 listed)' if n > 500 else ''}.")
    if wanted in options:
        index = options.index(wanted)
    else:  # no pick yet: open the biggest story listed (most reports, then newest)
        index = options.index(
            found.sort(["n_articles", "event_at"], descending=True)["event_id"][0]
        )
    chosen = st.selectbox("Event", options, index=index, format_func=labels.get, key="event_pick")
    if chosen != wanted:
        st.query_params["event"] = chosen
        # A new event starts from its own linked instruments.
        st.query_params.pop("instruments", None)
    return data.event(chosen)


def body() -> None:
    """The Event page."""
    ev = pick_event()
    if ev is None:
        return
    t0: datetime = ev["event_at"].astimezone(UTC)
    st.markdown(f"### {ev['title']}")
    st.caption(
        f"{ui.fmt_ts(t0)} · {ev.get('category') or 'uncategorised'} · {ev['n_articles']} report(s) "
        f"from {ev['n_outlets']} outlet(s) · first: {ev.get('first_outlet') or '—'} · id `{ev['event_id']}`"
    )
    available = data.instruments_with_bars()
    linked = [i for i in ev["instruments"] if i in available]
    # The most confident links first (dash_event orders them); six lines stay readable.
    default = (
        linked or [i for i in ("BTC", "ETH", "XAU", "WTI") if i in available] or available[:3]
    )[:6]
    param = st.query_params.get("instruments")
    chosen_default = [i for i in param.split(",") if i in available] if param else default
    c1, c2 = st.columns([3, 1])
    chosen = c1.multiselect(
        "Instruments", available, default=chosen_default, key=f"instruments-{ev['event_id']}"
    )
    if ",".join(chosen) != (param or ",".join(default)):
        st.query_params["instruments"] = ",".join(chosen)
    window = c2.selectbox("Window", list(WINDOWS), key="window", bind="query-params")
    before_s, after_s = WINDOWS[window]
    if not chosen:
        st.info("Pick at least one instrument.")
        return
    reports = data.event_articles(ev["event_id"])
    paths = data.event_paths(chosen, t0, before_s, after_s)
    if paths.height == 0:
        st.info(f"No bars for {', '.join(chosen)} around {ui.fmt_ts(t0)}.")
    else:
        # Only reports timed to the minute or better, inside the window, become lines.
        minutes = (pl.col("published_at").dt.epoch("ms") - int(t0.timestamp() * 1000)) / 60_000
        marks = reports.with_columns(minutes.alias("minutes")).filter(
            pl.col("published_precision").is_in(["second", "minute"])
            & pl.col("minutes").is_between(-before_s / 60, after_s / 60)
        )
        fig = charts.event_paths_figure(
            paths, marks, title="Price paths, rebased to 0 % at the event"
        )
        st.plotly_chart(fig, key="event-paths")
        anchors = paths.group_by("instrument_id").agg(pl.col("p0").first(), pl.col("p0_at").first())
        st.caption(
            "Anchor P(t0) = close of the last bar closed at or before the event: "
            + ", ".join(
                f"{r['instrument_id']} {r['p0']:,.6g} at {r['p0_at']:%H:%M}"
                for r in anchors.iter_rows(named=True)
            )
            + f". Dashed lines: each outlet's report time ({marks.height} of {reports.height} reports "
            "fall inside the window with a time to the minute)."
        )
        ui.csv_button(paths, f"event_{ev['event_id']}_paths", key="csv-paths", label="price paths")

    st.subheader("Returns after the event")
    rets = data.event_returns(chosen, t0)
    if rets.height == 0:
        st.info("No returns: no bars around the event for these instruments.")
    else:
        shown = rets.select(
            "instrument_id",
            "horizon",
            pl.col("ret_pct").round(4),
            pl.col("z").round(2),
            pl.col("p_value").round(4),
            "signif",
            "priced_at",
        )
        ui.table(
            shown,
            f"event_{ev['event_id']}_returns",
            column_config={"ret_pct": st.column_config.NumberColumn("return %", format="%+.4f")},
            key="event-returns",
        )
        st.caption(
            "Return from P(t0) to P(t0 + h). z = log return ÷ (per-bar volatility over the 5 days "
            "before × √(h ÷ bar)); p two-sided normal; * p < 0.1, ** p < 0.05, *** p < 0.01. "
            "Blank = no fresh price (market closed or no bar within 2 bars). News while a "
            "market is shut is anchored at its last close; 'at reopen, … UTC' is the return to "
            "its first bar after the reopen (no z: closed hours have no per-bar scale)."
        )

    st.subheader("Reports")
    ui.table(
        reports.select("published_at", "outlet", "title", "url", "published_precision"),
        f"event_{ev['event_id']}_reports",
        empty="No reports linked to this event (it may have been entered by hand).",
        column_config={"url": st.column_config.LinkColumn("link")},
        key="event-reports",
    )

    st.subheader("Other events in the window")
    conf = data.confounders(ev["event_id"], t0, before_s, after_s)
    ui.table(
        conf.with_columns(pl.col("minutes_from_event").round(1)),
        f"event_{ev['event_id']}_confounders",
        empty="No other event inside this window: nothing confounds it.",
        key="event-confounders",
    )
    params = urlencode(
        {
            "instrument": chosen[0],
            "range": "Custom",
            "start": (t0 - timedelta(days=1)).date().isoformat(),
            "end": (t0 + timedelta(days=1)).date().isoformat(),
        }
    )
    st.markdown(f":material/candlestick_chart: [See it on the timeline](timeline?{params})")


ui.run_page("Event", body)
