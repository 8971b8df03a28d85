"""Event: how the market moved around one news event, and how the story spread across outlets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import polars as pl
import streamlit as st

from dashboard import data, event_charts, reactions, ui
from dashboard.text import md
from pipelines import display
from pipelines.analytics import verdict

# URL value → (seconds before, seconds after); the URL reads `window=-6h,1d`.
WINDOWS = {
    "-1h,4h": (3_600, 14_400),
    "-6h,1d": (21_600, 86_400),
    "-1d,3d": (86_400, 259_200),
    "-30m,2h": (1_800, 7_200),
}
# Every window's paths and other events are cut from one read of the widest (a cache hit on
# a window change instead of two queries).
READ = (max(b for b, _ in WINDOWS.values()), max(a for _, a in WINDOWS.values()))
AXES = ("minutes", "clock")  # x axis of the price paths: minutes from t0 or UTC clock time


def default_instruments(ev: dict, t0: datetime, available: list[str], n: int = 6) -> list[str]:
    """The instruments a page opens with: linked ones with bars within a day of t0, most
    confident link first, ties in watchlist order; else the usual majors. Six lines stay readable."""
    near = set(data.instruments_near(t0))  # only series with bars around the event can show it
    confidence = dict(zip(ev["instruments"], ev.get("confidences") or [], strict=False))
    position = {inst: k for k, inst in enumerate(available)}  # watchlist order first
    linked = sorted(
        (i for i in ev["instruments"] if i in near and i in position),
        key=lambda i: (-(confidence.get(i) or 0.0), position[i]),
    )
    majors = [i for i in ("BTC", "ETH", "XAU", "WTI", "NAS100") if i in near]
    return (linked or majors or [i for i in available if i in near] or available)[:n]


def window_after(after_s: int) -> str:
    """The window after the event as a horizon label: 14400 → `+4h`, 86400 → `+1d`."""
    for unit, secs in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if after_s % secs == 0:
            return f"+{after_s // secs}{unit}"
    return f"+{after_s}s"


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
        else:
            st.warning(f"No event with id `{wanted}`: showing another event instead.")
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
    else:  # no pick yet: the file's featured story if listed, else the biggest (most reports, newest)
        featured = data.meta().get("featured_event")
        biggest = found.sort(["n_articles", "event_at"], descending=True)["event_id"][0]
        index = options.index(featured if featured in options else biggest)
    chosen = st.selectbox("Event", options, index=index, format_func=labels.get, key="event_pick")
    if chosen != wanted:
        st.query_params["event"] = chosen
        # A new event starts from its own linked instruments.
        st.query_params.pop("instruments", None)
    return data.event(chosen)


def pick_view(ev: dict, t0: datetime) -> tuple[list[str], str, str]:
    """The instruments (URL `instruments`, else the event's defaults), window and time axis."""
    available = data.instruments_with_bars()
    default = default_instruments(ev, t0, available)
    # `instruments` repeats like every bound multiselect (?instruments=BTC&instruments=ETH);
    # a comma list is read too. The key carries the event, so a new event starts afresh.
    param = [i for v in st.query_params.get_all("instruments") for i in v.split(",") if i]
    chosen_default = [i for i in param if i in available] if param else default
    c1, c2, c3 = st.columns([3, 1, 1])
    chosen = c1.multiselect(
        "Instruments", available, default=chosen_default, key=f"instruments-{ev['event_id']}"
    )
    if chosen != (param or default):
        st.query_params["instruments"] = chosen
    # the option is its own label: the URL binding writes the shown text (`window=-6h,1d`)
    window = c2.selectbox(
        "Window (before, after)",
        list(WINDOWS),
        key="window",
        bind="query-params",
        help="Time before and after the event: -6h,1d = six hours before to one day after.",
    )
    axis = c3.segmented_control(
        "Time axis (UTC clock or minutes)",
        list(AXES),
        default="minutes",
        key="axis",
        bind="query-params",
        required=True,
    )
    return chosen, window, axis


def body() -> None:
    """The Event page."""
    ev = pick_event()
    if ev is None:
        return
    t0: datetime = ev["event_at"].astimezone(UTC)
    st.markdown(f"### {md(ev['title'])}")
    st.caption(
        f"{ui.fmt_ts(t0)} · {md(ev.get('category') or 'uncategorised')} · {ev['n_articles']} report(s) "
        f"from {ev['n_outlets']} outlet(s) · first: {md(ev.get('first_outlet') or '—')}"
    )
    view_part(ev, t0)


@ui.fragment
def view_part(ev: dict, t0: datetime) -> None:
    """Instruments, window and axis with all they drive (verdict, chart, grid, tables). A
    fragment: changing them reruns and redraws only this part, never the event search above."""
    chosen, window, axis = pick_view(ev, t0)
    before_s, after_s = WINDOWS[window]
    if not chosen:
        st.info("Pick at least one instrument.")
        return
    rets = reactions.event_returns(chosen, t0)
    verdict_section(rets, t0, after_s)
    reports = reactions.event_articles(ev["event_id"])
    conf = reactions.confounders(ev["event_id"], t0, before_s, after_s, read=READ)
    paths_section(ev, chosen, reports, conf, (before_s, after_s), clock=axis == "clock")
    returns_section(rets, ev["event_id"])
    reports_section(ev["event_id"], reports, conf)
    params = urlencode(
        {
            "instrument": chosen[0],
            "range": "Custom",
            "start": (t0 - timedelta(days=1)).date().isoformat(),
            "end": (t0 + timedelta(days=1)).date().isoformat(),
        }
    )
    st.markdown(f":material/candlestick_chart: [See it on the timeline](timeline?{params})")


def paths_section(
    ev: dict,
    chosen: list[str],
    reports: pl.DataFrame,
    conf: pl.DataFrame,
    window: tuple[int, int],
    *,
    clock: bool,
) -> None:
    """The price paths chart with reports and other events drawn, and what anchors it."""
    t0: datetime = ev["event_at"].astimezone(UTC)
    t0_ms = int(t0.timestamp() * 1000)
    before_s, after_s = window
    paths = reactions.event_paths(chosen, t0, before_s, after_s, read=READ)
    if paths.height == 0:
        st.info(f"No bars for {', '.join(chosen)} around {ui.fmt_ts(t0)}.")
        return
    spans = event_charts.report_spans(reports, t0_ms)
    fig = event_charts.event_paths_figure(
        paths,
        spans,
        conf,
        t0_ms=t0_ms if clock else None,
        window_min=(-before_s / 60, after_s / 60),
        title="Price paths, rebased to 0 % at the event",
    )
    ui.plot(fig, key="event-paths")
    anchors = paths.group_by("instrument_id", maintain_order=True).agg(
        pl.col("p0").first(), pl.col("p0_at").first()
    )
    inside = spans.filter((pl.col("hi") >= -before_s / 60) & (pl.col("lo") <= after_s / 60))
    n_exact = int(inside["precise"].sum()) if inside.height else 0
    st.caption(
        "Anchor P(t0) = close of the last bar closed at or before the event: "
        + ", ".join(
            f"{r['instrument_id']} {display.number(r['p0'], sig=4)} at {r['p0_at']:%H:%M} UTC"
            for r in anchors.iter_rows(named=True)
        )
        + f". Reports in the window: {n_exact} timed to the minute (dashed lines), "
        f"{inside.height - n_exact} with only a day or no time zone (shaded bands), of "
        f"{reports.height} in all. Dotted lines: other events ({conf.height}) that may "
        "explain part of the move."
    )
    ui.csv_button(paths, f"event_{ev['event_id']}_paths", key="csv-paths", label="price paths")


def reports_section(event_id: str, reports: pl.DataFrame, conf: pl.DataFrame) -> None:
    """The event's reports and the other events inside the window, as tables."""
    st.subheader("Reports")
    ui.table(
        reports.select("published_at", "outlet", "title", "url", "published_precision"),
        f"event_{event_id}_reports",
        empty="No reports linked to this event (it may have been entered by hand).",
        column_config={"url": st.column_config.LinkColumn("link", display_text="open")},
        key="event-reports",
    )
    st.subheader("Other events in the window")
    ui.table(
        conf.select(
            "event_at",
            pl.col("minutes_from_event").round(0).cast(pl.Int64),
            "title",
            "category",
            "n_articles",
            ("event?event=" + pl.col("event_id")).alias("open"),
        )
        if conf.height
        else conf,
        f"event_{event_id}_confounders",
        empty="No other event inside this window: nothing confounds it.",
        column_config={"open": st.column_config.LinkColumn("event page", display_text="open")},
        key="event-confounders",
    )


def verdict_section(rets: pl.DataFrame, t0: datetime, after_s: int) -> None:
    """The one-sentence verdict, from the returns at the horizons inside the window."""
    if rets.height == 0:
        st.info("No verdict: no bars around the event for these instruments.")
        return
    inside = rets.filter(pl.col("secs") <= after_s) if "secs" in rets.columns else rets
    if inside.height == 0:
        inside = rets
    moves = [
        verdict.Move(r["instrument_id"], r["horizon"], r["ret_pct"], r["z"], r["q_value"])
        for r in inside.iter_rows(named=True)
    ]
    n_tests = int(rets["p_value"].is_not_null().sum())
    st.success(
        verdict.event_verdict(moves, window=window_after(after_s), t0=t0, n_tests=n_tests),
        icon=":material/gavel:",
    )


def returns_section(rets: pl.DataFrame, event_id: str) -> None:
    """Returns after the event as an instrument × horizon grid, the list folded below."""
    st.subheader("Returns after the event")
    if rets.height == 0:
        st.info("No returns: no bars around the event for these instruments.")
        return
    ui.plot(
        event_charts.returns_grid(rets, [h for h, _ in data.HORIZONS]),
        key="event-returns-grid",
        config={"displayModeBar": False},
    )
    n_tests = int(rets["p_value"].is_not_null().sum())
    st.caption(
        "Return from P(t0) to P(t0 + h); colour = z, the log return ÷ (per-bar volatility over "
        "the 5 days before × √(h ÷ bar)). Marks use Benjamini–Hochberg q over all "
        f"{n_tests} tests in the grid: * q < 0.1, ** q < 0.05, *** q < 0.01. With this many tests "
        "a few raw p < 0.05 are expected by chance, and horizons overlap (the +1d return "
        "contains the +1h one), so read single marks with care. — = no fresh price (market "
        "closed or no bar within 2 bars). News while a market is shut is anchored at its last "
        "close; 'at reopen, … UTC' is the return to its first bar after the reopen (no z: "
        "closed hours have no per-bar scale)."
    )
    with st.expander("Returns as a table"):
        ui.table(
            rets.select(
                "instrument_id",
                "horizon",
                "ret_pct",
                "z",
                "p_value",
                "q_value",
                "mark",
                "priced_at",
            ),
            f"event_{event_id}_returns",
            key="event-returns",
        )


ui.run_page("Event", body, charts=True)
