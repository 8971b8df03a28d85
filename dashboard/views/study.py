"""Study: an event study over chosen events and instruments (engine: pipelines.analytics)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui

WINDOWS = {
    "−12 / +24 bars": ((-12, 24), (-288, -13)),
    "−5 / +60 bars": ((-5, 60), (-300, -6)),
    "−2 / +10 bars": ((-2, 10), (-120, -3)),
}
MODELS = ("constant", "market-adjusted", "market")


def body() -> None:
    """The Study page."""
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    words = c1.text_input("Event titles contain", key="q", bind="query-params")
    cats = data.categories()["category"].to_list()
    category = c2.selectbox("Category", ["(any)", *cats], key="category", bind="query-params")
    since = c3.date_input("Since", value=None, key="since", bind="query-params")
    until = c4.date_input("Until", value=None, key="until", bind="query-params")
    available = data.instruments_with_bars()
    d1, d2, d3, d4, d5 = st.columns([2, 1, 1, 1, 1])
    instruments = d1.multiselect(
        "Instruments (empty = each event's linked instruments)",
        available,
        key="instruments",
        bind="query-params",
    )
    model = d2.selectbox("Model", MODELS, key="model", bind="query-params")
    window_name = d3.selectbox("Event window", list(WINDOWS), key="window", bind="query-params")
    placebo = d4.selectbox(
        "Placebo draws", [0, 100, 500], index=0, key="placebo", bind="query-params"
    )
    max_events = d5.selectbox(
        "Events (newest)",
        [20, 100, 500, 2000],
        key="max_events",
        bind="query-params",
        help="The study runs on at most this many of the matching events, newest first.",
    )
    found = data.events(
        words=tuple(words.split()),
        category=None if category in (None, "(any)") else category,
        start=ui.as_utc(since) if since else None,
        end=ui.as_utc(until, end_of_day=True) if until else None,
        limit=max_events,
    )
    if found.height == 0:
        st.info("No event matches these filters.")
        return
    n_matched = found["n_matched"][0]
    st.caption(
        f"{found.height:,} event(s) in the study"
        + (
            f" — the newest {found.height:,} of {n_matched:,} matching"
            if n_matched > found.height
            else ""
        )
        + "."
    )
    window, estimation = WINDOWS[window_name]
    try:
        result = data.study(
            event_ids=tuple(found["event_id"].to_list()),
            instruments=tuple(instruments) or None,
            model=model,
            window=window,
            estimation=estimation,
            car_windows=(window, (0, window[1])),
            placebo=int(placebo),
        )
    except data.FeatureMissing:
        raise
    except Exception as exc:  # the engine is another team's code: show its failure, keep serving
        if isinstance(exc, data.TickerwireError):
            raise
        st.error(f"The event-study engine failed: {data.user_message(exc)}")
        return
    for note in result.notes:
        st.caption(note)
    unit = f"{result.timeframe} bars"

    st.subheader("CAAR with 95 % band")
    band = charts.caar_band(result.ar)
    if band.height == 0:
        st.info("No abnormal returns: the selected instruments have no bars around these events.")
    else:
        st.plotly_chart(charts.caar_figure(band, unit=unit), key="study-caar")
        ui.csv_button(result.ar, "study_ar", key="csv-study-ar", label="abnormal returns")

    st.subheader("Statistics per offset")
    ui.table(
        result.summary,
        "study_summary",
        empty="No statistics (no valid event windows).",
        key="study-summary",
    )

    st.subheader("Placebo test")
    placebo_frame = result.placebo
    if int(placebo) == 0:
        st.info(
            "Off by default (it re-runs the study at random non-event instants): choose "
            "'Placebo draws' above to compare the observed CARs with that distribution."
        )
    elif placebo_frame.height == 0:
        st.info("No placebo result: not enough history before these events for random draws.")
    else:
        pairs = placebo_frame.select("event_id", "instrument_id", "car_from", "car_to").unique(
            maintain_order=True
        )
        labels = [
            f"{r['event_id']} · {r['instrument_id']} · [{r['car_from']}, {r['car_to']}]"
            for r in pairs.iter_rows(named=True)
        ]
        pick = st.selectbox(
            "Event × instrument",
            range(len(labels)),
            format_func=lambda n: labels[n],
            key="placebo_pair",
        )
        row = placebo_frame.row(pick, named=True)
        observed = result.car.filter(
            (pl.col("event_id") == row["event_id"])
            & (pl.col("instrument_id") == row["instrument_id"])
            & (pl.col("car_from") == row["car_from"])
            & (pl.col("car_to") == row["car_to"])
        )
        car_value = (
            row.get("car")
            if row.get("car") is not None
            else (observed["car"][0] if observed.height else None)
        )
        draws = result.placebo_draws.filter(
            (pl.col("event_id") == row["event_id"])
            & (pl.col("instrument_id") == row["instrument_id"])
            & (pl.col("car_from") == row["car_from"])
            & (pl.col("car_to") == row["car_to"])
        )["car"]
        if car_value is None or draws.len() == 0:
            st.info("This pair has no usable placebo distribution.")
        else:
            st.plotly_chart(
                charts.placebo_histogram(draws.to_list(), car_value), key="study-placebo"
            )
            p_text = f"{row['placebo_p']:.3f}" if row.get("placebo_p") is not None else "n/a"
            st.caption(
                f"Placebo: CARs at {draws.len()} random non-event instants; the line marks the "
                f"observed CAR (empirical p = {p_text})."
            )
        ui.table(placebo_frame, "study_placebo", key="study-placebo-table")

    st.subheader("CAR by event × instrument")
    car = result.car
    if car.height:
        widest = car.filter((pl.col("car_from") == window[0]) & (pl.col("car_to") == window[1]))
        st.plotly_chart(charts.car_heatmap(widest if widest.height else car), key="study-heatmap")
        st.caption(
            "Colour: CAR in %; * p < 0.1, ** p < 0.05, *** p < 0.01 (two-sided, from the CAR z-score)."
        )
    ui.table(car, "study_car", empty="No CARs.", key="study-car")
    ui.table(
        result.confounders,
        "study_confounders",
        empty="No confounding events inside the windows.",
        key="study-confounders",
    )


ui.run_page("Study", body)
