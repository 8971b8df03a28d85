"""Study: an event study over chosen events and instruments (engine: pipelines.analytics)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import polars as pl
import streamlit as st

from dashboard import data, plain_table, prefetch, reactions, stat_charts, ui
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


def pick_events() -> tuple[str, str | None, Any, Any]:
    """The event filters: title words, category, since, until (all bound to the URL)."""
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    words = c1.text_input("Event titles contain", key="q", bind="query-params")
    cats = data.categories()["category"].to_list()
    category = c2.selectbox("Category", ["(any)", *cats], key="category", bind="query-params")
    since = c3.date_input("Since", value=None, key="since", bind="query-params")
    until = c4.date_input("Until", value=None, key="until", bind="query-params")
    return words, category, since, until


def pick_design(available: list[str]) -> tuple[list[str], str, str, int, int]:
    """The study's design widgets: instruments, model, event window, placebo draws, events."""
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
    return instruments, model, window_name, int(placebo), int(max_events)


def events_caption(found: pl.DataFrame) -> None:
    """How many events the study runs on, and of how many matching."""
    n_matched = found["n_matched"][0]
    more = (
        f" — the newest {found.height:,} of {n_matched:,} matching"
        if n_matched > found.height
        else ""
    )
    st.caption(f"{found.height:,} event(s) in the study{more}.")


def run_study(
    run: Callable[[tuple[str, ...] | None], StudyResult],
    instruments: list[str],
    available: list[str],
) -> StudyResult | None:
    """The study of the chosen instruments; of the majors when the events' links give nothing."""
    try:
        try:
            return run(tuple(instruments) or None)
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
            return result
    except data.FeatureMissing:
        raise
    except Exception as exc:  # a study that fails shows its failure; the page keeps serving
        if isinstance(exc, data.TickerwireError):
            raise
        st.error(f"The event-study engine failed: {data.user_message(exc)}")
        return None


def body() -> None:
    """The Study page."""
    words, category, since, until = pick_events()
    study_part(words, category, since, until, data.instruments_with_bars())


@ui.fragment
def study_part(
    words: str, category: str | None, since: Any, until: Any, available: list[str]
) -> None:
    """The design widgets, the study and its result. A fragment: changing the window (or the
    model, instruments…) reruns and redraws only this part, verdict and charts together, so
    nothing shown is left from the old window; the event filters above rerun the page."""
    instruments, model, window_name, placebo, max_events = pick_design(available)
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
    events_caption(found)
    event_ids = tuple(found["event_id"].to_list())

    def run(chosen: tuple[str, ...] | None) -> StudyResult:
        return reactions.study(**study_spec(event_ids, chosen, model, window_name, placebo))

    result = run_study(run, instruments, available)
    if result is not None:
        show_result(result, WINDOWS[window_name][0], model, n_events=found.height, placebo=placebo)
        if placebo == 0:  # placebo draws re-run the study hundreds of times: not on spec
            warm_other_windows(event_ids, tuple(instruments) or None, result, window_name)


def study_spec(
    event_ids: tuple[str, ...],
    chosen: tuple[str, ...] | None,
    model: str,
    window_name: str,
    placebo: int,
) -> dict[str, Any]:
    """The engine's StudySpec fields for the page's choices."""
    window, estimation = WINDOWS[window_name]
    return {
        "event_ids": event_ids,
        "instruments": chosen,
        "model": model,
        "window": window,
        "estimation": estimation,
        "car_windows": (window, (0, window[1])),
        "placebo": placebo,
    }


def warm_other_windows(
    event_ids: tuple[str, ...], asked: tuple[str, ...] | None, shown: StudyResult, window: str
) -> None:
    """Run the same study for the picker's other windows in the background (dashboard.prefetch),
    so a window change finds its result cached instead of waiting for the engine. When the
    page fell back to the majors, the refused study is run too (its refusal is cached)."""
    used, model = shown.spec.instruments, shown.spec.model
    tries = [asked, used] if asked != used else [used]
    prefetch.in_background(
        ("study", data.data_key(), event_ids, asked, model),
        [
            partial(reactions.study, **study_spec(event_ids, chosen, model, w, 0))
            for w in WINDOWS
            if w != window
            for chosen in tries
        ],
    )


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
    post = (0, window[1])
    n_study_events = result.car["event_id"].n_unique() if result.car.height else 0
    headline = verdict.window_test(result, post, rbar)
    st.success(
        verdict.study_verdict(
            headline, window=post, unit=unit, model=model, n_events=n_study_events or n_events
        ),
        icon=":material/gavel:",
    )
    caar_section(result, rbar, unit)
    key_tests_section(result, [window, post], rbar, unit)
    if result.notes:
        with st.expander(f"Left out of the study ({len(result.notes)})"):
            st.markdown("\n".join(f"- {note}" for note in result.notes[:200]))
    car_section(result, window)
    detail_sections(result, model)
    with st.expander("Placebo test", expanded=placebo > 0):
        placebo_section(result, placebo)


def caar_section(result: StudyResult, rbar: float, unit: str) -> None:
    """The CAAR curve with its KP-adjusted 95 % band, and how the band is made."""
    st.subheader("CAAR with 95 % band")
    band = verdict.caar_band(result.ar, rbar)
    if band.height == 0:
        st.info("No abnormal returns: the selected instruments have no bars around these events.")
        return
    ui.plot(
        stat_charts.caar_figure(band, unit=unit, band_name="95 % band (KP-adjusted)"),
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


def key_tests_section(
    result: StudyResult, windows: list[tuple[int, int]], rbar: float, unit: str
) -> None:
    """The key tests table: per CAR window, the KP-adjusted test and the naive p beside it."""
    st.subheader("Key tests")
    tests = car_tests(result, windows, rbar)

    def pct(value: float) -> str:  # a no-break space keeps "%" beside its number
        return display.pct(value, sig=3).replace(" %", "\u00a0%")

    plain_table.show(
        tests,
        {
            "window": (f"CAR window ({unit})", str),
            "caar_pct": ("CAAR", pct),
            "lo_pct": ("95 % low", pct),
            "hi_pct": ("95 % high", pct),
            "t": ("KP-adjusted t", display.stat),
            "p": ("p", "{:.3f}".format),
            "mark": ("mark", str),
            "naive_p": ("p if pairs were independent", "{:.3f}".format),
            "n": ("pairs", "{:,}".format),
        },
        caption="'p if pairs were independent' is the plain cross-sectional t-test: too small "
        "when instruments co-move.",
    )
    ui.csv_button(tests, "study_key_tests", key="csv-study-tests", label="key tests")


def car_section(result: StudyResult, window: tuple[int, int]) -> None:
    """CAR by event × instrument over the whole window, marked by BH q over the cells."""
    st.subheader("CAR by event × instrument")
    car = result.car
    widest = car.filter((pl.col("car_from") == window[0]) & (pl.col("car_to") == window[1]))
    cells = widest if widest.height else car
    if cells.height == 0:
        st.info("No CARs.")
        return
    cells = verdict.with_q_marks(cells)
    labels = {
        r["event_id"]: ui.event_label(r)
        for r in data.events(limit=5000)
        .filter(pl.col("event_id").is_in(cells["event_id"].unique().to_list()))
        .iter_rows(named=True)
    }
    ui.plot(stat_charts.car_heatmap(cells, labels=labels), key="study-heatmap")
    st.caption(
        f"Colour: CAR in % over offsets {display.offsets(*window)}. Marks use "
        f"Benjamini–Hochberg q over the {cells.height} cells (from each CAR's z against its "
        "own pre-event volatility): * q < 0.1, ** q < 0.05, *** q < 0.01. The cells of one "
        "event (a row) share its market moment: read a row of marks as one observation."
    )


def detail_sections(result: StudyResult, model: str) -> None:
    """The full tables, each folded and built only when opened (they cost the first render)."""
    if (box := ui.folded("Statistics per offset (all tests)", "fold-summary")) is not None:
        with box:
            ui.table(
                result.summary,
                "study_summary",
                empty="No statistics (no valid event windows).",
                key="study-summary",
            )
            st.caption(
                "Per offset (not cumulative): the cross-section of abnormal returns and each "
                "test with its two-sided p. Kolari–Pynnönen BMP allows for cross-correlation; "
                "the others assume independent pairs."
            )
    if (box := ui.folded("CARs per event and instrument", "fold-car")) is not None:
        # alpha/beta mean nothing under the constant-mean model (beta is fixed at 0 there)
        fitted = ("timeframe",) if model == "market" else ("timeframe", "alpha", "beta")
        with box:
            ui.table(result.car.drop(fitted), "study_car", empty="No CARs.", key="study-car")
    if (box := ui.folded("Confounding events", "fold-confounders")) is not None:
        with box:
            ui.table(
                result.confounders,
                "study_confounders",
                empty="No confounding events inside the windows.",
                key="study-confounders",
            )


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
        ui.plot(stat_charts.placebo_histogram(draws.to_list(), car_value), key="study-placebo")
        st.caption(
            f"Placebo: CARs at {draws.len()} random non-event instants; the line marks the "
            f"observed CAR (empirical p = {display.p_value(row.get('placebo_p'))})."
        )
    ui.table(placebo_frame, "study_placebo", key="study-placebo-table")


ui.run_page("Study", body, charts=True)
