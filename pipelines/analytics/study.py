"""Run an event study: resolve the inputs, align and fit, assemble the result frames.

The flow (no per-event Python loop over rows):
1. inputs: the events and, per event, the instruments (arguments or event_instruments), and
   the study pairs (event × instrument, plus one benchmark pair per event and benchmark);
2. alignment and model: intraday, each instrument's needed bar ranges are read from DuckDB and
   aligned as arrays (intraday.py → alignment.py, abnormal.py); daily, each instrument's
   whole daily series is read and every pair put on its trading days as arrays
   (daily_arrays.py, then abnormal.py's fit);
3. results: AR paths, CARs over the sub-windows, the cross-sectional statistics per offset
   (pipelines.analytics.stats), the confounding events (results.py);
4. placebo: the same steps at random non-event instants, for empirical p-values (placebo.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import polars as pl

from pipelines.analytics import inputs, results
from pipelines.analytics.abnormal import Rows
from pipelines.analytics.daily_arrays import daily_rows
from pipelines.analytics.geometry import Geometry
from pipelines.analytics.inputs import StudySettings, study_settings
from pipelines.analytics.intraday import intraday_rows
from pipelines.analytics.placebo import placebo as placebo_test
from pipelines.analytics.results import reopen_label, reopen_notes
from pipelines.analytics.spec import (
    CAR_COLUMNS,
    PLACEBO_DRAW_SCHEMA,
    PLACEBO_SCHEMA,
    StudyResult,
    StudySpec,
    empty_frame,
)
from pipelines.config import Config
from pipelines.errors import DataError

__all__ = ["StudySettings", "reopen_label", "reopen_notes", "run_study", "study_settings"]


# The alignment + AR step: (connection, pairs, geometry, model, stale) → Rows.
Aligner = Callable[[duckdb.DuckDBPyConnection, pl.DataFrame, Geometry, str, int], Rows]


@dataclass
class _Plan:
    """A resolved study: its events, pairs, geometry and limits, and the notes so far."""

    spec: StudySpec
    events: pl.DataFrame
    pairs: pl.DataFrame
    geometry: Geometry
    stale: int
    min_est: int
    notes: list[str]


def run_study(
    con: duckdb.DuckDBPyConnection,
    spec: StudySpec,
    config: Config | None = None,
    aligner: Aligner | None = None,
) -> StudyResult:
    """Run the event study described by `spec` on the store behind `con`; `aligner` replaces
    the alignment + AR step (`abnormal_rows`' signature: the Spark engine passes its own)."""
    align = aligner or abnormal_rows
    plan = _plan(con, spec, config)
    rows = align(con, plan.pairs, plan.geometry, spec.model, plan.stale)
    if plan.geometry.dates:
        plan.geometry = plan.geometry.with_offsets_of(rows)
    rows, targets = _without_short(plan, rows)
    geometry, timeframe = plan.geometry, plan.geometry.timeframe
    # The statistics are numpy work on frames already fetched: they run in a second thread
    # while this one builds the AR and CAR frames and has DuckDB list the confounders.
    with ThreadPoolExecutor(max_workers=1) as pool:
        summary_job = pool.submit(results.summary_frame, rows, targets, spec.model)
        ar = results.ar_frame(rows.event, targets, timeframe)
        plan.notes.extend(reopen_notes(ar))
        car = results.car_frame(rows, targets, results.car_windows(spec, geometry), timeframe)
        confounders = results.confounders(con, plan.events, geometry)
        summary = summary_job.result()
    placebo, placebo_draws = empty_frame(PLACEBO_SCHEMA), empty_frame(PLACEBO_DRAW_SCHEMA)
    if spec.placebo > 0 and targets.height:
        placebo, placebo_draws = placebo_test(
            con,
            spec,
            plan.events,
            targets,
            plan.pairs,
            car,
            geometry,
            lambda pairs, geo: align(con, pairs, geo, spec.model, plan.stale),
            plan.min_est,
        )
        car = car.drop("placebo_p").join(
            placebo.select("event_id", "instrument_id", "car_from", "car_to", "placebo_p"),
            on=["event_id", "instrument_id", "car_from", "car_to"],
            how="left",
        )
    return StudyResult(
        spec=spec,
        timeframe=timeframe,
        ar=ar,
        car=car.select(CAR_COLUMNS),
        summary=summary,
        confounders=confounders,
        placebo=placebo,
        notes=plan.notes,
        placebo_draws=placebo_draws,
    )


def abnormal_rows(
    con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame, geometry: Geometry, model: str, stale: int
) -> Rows:
    """Every target pair aligned on its grid, with its model fitted and its AR."""
    if geometry.daily:
        return daily_rows(con, pairs, geometry, model)
    return intraday_rows(con, pairs, geometry.grid(stale), geometry.timeframe, model)


def _plan(con: duckdb.DuckDBPyConnection, spec: StudySpec, config: Config | None) -> _Plan:
    """Check the spec and resolve its events, instruments, timeframe, pairs and limits."""
    settings = study_settings(config)
    inputs.check_spec(spec)
    events = inputs.resolve_events(con, spec)
    links = inputs.resolve_links(con, spec, events)
    meta = inputs.instrument_meta(con, config, links["instrument_id"].unique().to_list())
    timeframe = inputs.choose_timeframe(con, spec, events, links)
    if (spec.window_dates or spec.estimation_dates) and timeframe != "1d":
        raise DataError("--window-dates/--estimation-dates need daily bars (timeframe 1d)")
    links, notes = inputs.without_self_benchmarks(links, meta, spec, settings)
    pairs = inputs.build_pairs(events, links, meta, spec, settings, config)
    if spec.model != "constant":
        missing_bench = pairs.filter(pl.col("is_target") & pl.col("bench_pair_id").is_null())
        if missing_bench.height:
            raise DataError(
                f"model {spec.model!r} needs a benchmark for "
                f"{missing_bench['instrument_id'].unique().to_list()}; "
                "give --benchmark or set [study.benchmarks] in tickerwire.toml"
            )
    return _Plan(
        spec=spec,
        events=events,
        pairs=pairs,
        geometry=Geometry.of(spec, timeframe),
        stale=spec.stale_bars if spec.stale_bars is not None else settings.stale_bars,
        min_est=spec.min_estimation if spec.min_estimation is not None else settings.min_estimation,
        notes=notes,
    )


def _without_short(plan: _Plan, rows: Rows) -> tuple[Rows, pl.DataFrame]:
    """Rows and target pairs less those with too short an estimation window (they cannot be
    tested: listed in the notes), and a note per pair with fewer valid returns than asked."""
    params, timeframe, min_est = rows.params, plan.geometry.timeframe, plan.min_est
    short = set(params.filter(pl.col("n_estimation").fill_null(0) < min_est)["pair_id"].to_list())
    no_prices = set(
        params.filter(pl.col("sigma").is_null() & (pl.col("n_estimation").fill_null(0) == 0))[
            "pair_id"
        ].to_list()
    )
    targets = plan.pairs.filter(pl.col("is_target"))
    for pair in targets.filter(pl.col("pair_id").is_in(list(short))).iter_rows(named=True):
        what = (
            f"no {timeframe} bars around the event"
            if pair["pair_id"] in no_prices
            else f"fewer than {min_est} estimation returns, left out"
        )
        plan.notes.append(f"{pair['event_id']}/{pair['instrument_id']}: {what}")
    rows = rows.without(short)
    targets = targets.filter(~pl.col("pair_id").is_in(list(short)))
    plan.notes.extend(results.valid_count_notes(rows, targets, plan.geometry))
    return rows, targets
