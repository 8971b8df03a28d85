"""Study: an event study over chosen events and instruments (engine: pipelines.analytics)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import charts, data, ui
from pipelines import display
from pipelines.analytics import StudyResult, verdict

# URL value (event window T1,T2 in bars) → (event window, estimation window).
WINDOWS = {
    "-12,24": ((-12, 24), (-288, -13)),
    "-5,60": ((-5, 60), (-300, -6)),
    "-2,10": ((-2, 10), (-120, -3)),
}
MODELS = ("constant", "market-adjusted", "market")
# Studied when the events' own links give nothing to study (in this order, those with bars).
FALLBACK = ("BTC", "ETH", "XAU", "WTI", "NAS100")


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
    # the option is its own label: the URL binding writes the shown text (`window=-12,24`)
    window_name = d3.selectbox(
        "Event window (bars)",
        list(WINDOWS),
        key="window",
        bind="query-params",
        help="Offsets T1,T2 in bars around the event: -12,24 = 12 bars before to 24 after.",
    )
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

    def run(chosen: tuple[str, ...] | None) -> StudyResult:
        return data.study(
            event_ids=tuple(found["event_id"].to_list()),
            instruments=chosen,
            model=model,
            window=window,
            estimation=estimation,
            car_windows=(window, (0, window[1])),
            placebo=int(placebo),
        )

    try:
        try:
            result = run(tuple(instruments) or None)
        except data.TickerwireError as exc:
            fallback = [i for i in FALLBACK if i in available]
            if instruments or not fallback:
                raise
            # Events that link no instrument with bars (a post, a stock not in the file) would
            # leave the page empty: study the majors instead and say so.
            result = run(tuple(fallback))
            st.info(
                f"These events' linked instruments give no study ({data.user_message(exc)}); "
                f"showing {', '.join(fallback)} instead — pick instruments above to change it."
            )
    except data.FeatureMissing:
        raise
    except Exception as exc:  # a study that fails shows its failure; the page keeps serving
        if isinstance(exc, data.TickerwireError):
            raise
        st.error(f"The event-study engine failed: {data.user_message(exc)}")
        return
    show_result(result, window, model, n_events=found.height, placebo=int(placebo))


def car_tests(result: StudyResult, windows: list[tuple[int, int]], rbar: float) -> pl.DataFrame:
    """The key tests: per CAR window, the KP-adjusted t-test of the mean CAR (and the naive p)."""
    rows = []
    for lo, hi in windows:
        test = verdict.window_test(result, (lo, hi), rbar)
        naive = verdict.window_test(result, (lo, hi), 0.0)
        rows.append(
            {
                "window": display.offsets(lo, hi),
                "caar_pct": None if test.mean is None else 100 * test.mean,
                "lo_pct": None if test.lo is None else 100 * test.lo,
                "hi_pct": None if test.hi is None else 100 * test.hi,
                "t": test.t,
                "p": test.p,
                "mark": verdict.mark(test.p),
                "naive_p": naive.p,
                "n": test.n,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "window": pl.Utf8,
            "caar_pct": pl.Float64,
            "lo_pct": pl.Float64,
            "hi_pct": pl.Float64,
            "t": pl.Float64,
            "p": pl.Float64,
            "mark": pl.Utf8,
            "naive_p": pl.Float64,
            "n": pl.Int64,
        },
    )


def show_result(
    result: StudyResult, window: tuple[int, int], model: str, *, n_events: int, placebo: int
) -> None:
    """Summary first (verdict, CAAR chart, key tests), then the detail folded below."""
    unit = f"{result.timeframe} bars"
    rbar = verdict.study_rbar(result)
    car = result.car
    post = (0, window[1])
    n_study_events = car["event_id"].n_unique() if car.height else 0
    headline = verdict.window_test(result, post, rbar)
    st.success(
        verdict.study_verdict(
            headline, window=post, unit=unit, model=model, n_events=n_study_events or n_events
        ),
        icon=":material/gavel:",
    )

    st.subheader("CAAR with 95 % band")
    band = verdict.caar_band(result.ar, rbar)
    if band.height == 0:
        st.info("No abnormal returns: the selected instruments have no bars around these events.")
    else:
        ui.plot(
            charts.caar_figure(band, unit=unit, band_name="95 % band (KP-adjusted)"),
            key="study-caar",
        )
        st.caption(
            f"The band comes from the {verdict.BAND_TEST}: the naive s/√n is widened by "
            f"√((1 + (n−1)r̄)/(1 − r̄)) with r̄ = {display.stat(rbar)}"
            + (" (taken as 0: a negative r̄ never narrows the band)" if rbar < 0 else "")
            + ", the average correlation of the pairs' estimation-window abnormal returns — instruments that move together count as fewer "
            "independent observations. The same test gives the verdict and the key tests."
        )
        ui.csv_button(result.ar, "study_ar", key="csv-study-ar", label="abnormal returns")

    st.subheader("Key tests")
    tests = car_tests(result, [window, post], rbar)
    ui.table(
        tests,
        "study_key_tests",
        column_config={
            "window": st.column_config.Column(f"CAR window ({unit})"),
            "caar_pct": st.column_config.NumberColumn("CAAR", format="%+.3f %%"),
            "lo_pct": st.column_config.NumberColumn("95 % low", format="%+.3f %%"),
            "hi_pct": st.column_config.NumberColumn("95 % high", format="%+.3f %%"),
            "t": st.column_config.NumberColumn("KP-adjusted t", format="%.2f"),
            "p": st.column_config.NumberColumn("p", format="%.3f"),
            "naive_p": st.column_config.NumberColumn(
                "p if pairs were independent",
                format="%.3f",
                help="The plain cross-sectional t-test: too small when instruments co-move.",
            ),
            "n": st.column_config.NumberColumn("pairs", format="localized"),
        },
        key="study-tests",
    )
    notes = result.notes
    if notes:
        with st.expander(f"Left out of the study ({len(notes)})"):
            st.markdown("\n".join(f"- {note}" for note in notes[:200]))

    st.subheader("CAR by event × instrument")
    widest = car.filter((pl.col("car_from") == window[0]) & (pl.col("car_to") == window[1]))
    cells = widest if widest.height else car
    if cells.height:
        q = verdict.bh_q([verdict.two_sided_p(z) for z in cells["z"].to_list()])
        cells = cells.with_columns(
            pl.Series("q_value", q, dtype=pl.Float64),
            pl.Series("mark", [verdict.mark(x) for x in q], dtype=pl.Utf8),
        )
        labels = {
            r["event_id"]: ui.event_label(r)
            for r in data.events(limit=5000)
            .filter(pl.col("event_id").is_in(cells["event_id"].unique().to_list()))
            .iter_rows(named=True)
        }
        ui.plot(charts.car_heatmap(cells, labels=labels), key="study-heatmap")
        st.caption(
            f"Colour: CAR in % over offsets {display.offsets(*window)}. Marks use "
            f"Benjamini–Hochberg q over the {cells.height} cells (from each CAR's z against its "
            "own pre-event volatility): * q < 0.1, ** q < 0.05, *** q < 0.01. The cells of one "
            "event (a row) share its market moment: read a row of marks as one observation."
        )
    else:
        st.info("No CARs.")

    with st.expander("Statistics per offset (all tests)"):
        ui.table(
            result.summary,
            "study_summary",
            empty="No statistics (no valid event windows).",
            key="study-summary",
        )
        st.caption(
            "Per offset (not cumulative): the cross-section of abnormal returns and each test "
            "with its two-sided p. Kolari–Pynnönen BMP allows for cross-correlation; the others "
            "assume independent pairs."
        )
    with st.expander("CARs per event and instrument"):
        # alpha/beta mean nothing under the constant-mean model (beta is fixed at 0 there)
        fitted = ("timeframe",) if model == "market" else ("timeframe", "alpha", "beta")
        ui.table(car.drop(fitted), "study_car", empty="No CARs.", key="study-car")
    with st.expander("Confounding events"):
        ui.table(
            result.confounders,
            "study_confounders",
            empty="No confounding events inside the windows.",
            key="study-confounders",
        )
    with st.expander("Placebo test", expanded=placebo > 0):
        placebo_section(result, placebo)


def placebo_section(result: StudyResult, placebo: int) -> None:
    """The placebo distribution of one event × instrument and the observed CAR."""
    placebo_frame = result.placebo
    if placebo == 0:
        st.info(
            "Off by default (it re-runs the study at random non-event instants): choose "
            "'Placebo draws' above to compare the observed CARs with that distribution."
        )
        return
    if placebo_frame.height == 0:
        st.info("No placebo result: not enough history before these events for random draws.")
        return
    pairs = placebo_frame.select("event_id", "instrument_id", "car_from", "car_to").unique(
        maintain_order=True
    )
    labels = [
        f"{r['instrument_id']} · offsets {r['car_from']:+d} to {r['car_to']:+d} · {r['event_id']}"
        for r in pairs.iter_rows(named=True)
    ]
    pick = st.selectbox(
        "Event × instrument",
        range(len(labels)),
        format_func=lambda n: labels[n],
        key="placebo_pair",
    )
    row = placebo_frame.row(pick, named=True)
    match = (
        (pl.col("event_id") == row["event_id"])
        & (pl.col("instrument_id") == row["instrument_id"])
        & (pl.col("car_from") == row["car_from"])
        & (pl.col("car_to") == row["car_to"])
    )
    observed = result.car.filter(match)
    car_value = (
        row.get("car")
        if row.get("car") is not None
        else (observed["car"][0] if observed.height else None)
    )
    draws = result.placebo_draws.filter(match)["car"]
    if car_value is None or draws.len() == 0:
        st.info("This pair has no usable placebo distribution.")
    else:
        ui.plot(charts.placebo_histogram(draws.to_list(), car_value), key="study-placebo")
        st.caption(
            f"Placebo: CARs at {draws.len()} random non-event instants; the line marks the "
            f"observed CAR (empirical p = {display.p_value(row.get('placebo_p'))})."
        )
    ui.table(placebo_frame, "study_placebo", key="study-placebo-table")


ui.run_page("Study", body)
