"""Run an event study: SQL does alignment, returns, windows, AR and CAR; numpy the statistics.

The flow (no per-event Python loop over rows):
1. choose the events and, per event, the instruments (arguments or event_instruments);
2. build the study pairs (event × instrument, plus one benchmark pair per event and benchmark)
   as a small frame registered with DuckDB;
3. every target pair on its event-time grid, with its benchmark's return beside it
   (study_paired): intraday, study_align_intraday_fast.sql for pairs with a bar in every
   slot, else study_align_intraday.sql (the full as-of rule) + study_paired.sql; daily,
   study_align_daily.sql + study_paired.sql;
4. sql/queries/study_fit.sql fits the model on the estimation window; study_ar.sql (a view)
   gives AR per offset and study_ar_params.sql the estimation-window AR volatility;
5. sql/queries/study_car.sql sums AR over the CAR sub-windows;
6. pipelines.analytics.stats computes the cross-sectional statistics per offset;
7. placebo: the same steps at random non-event instants, for empirical p-values.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

from pipelines.analytics import stats as st
from pipelines.analytics.spec import (
    AR_COLUMNS,
    CAR_COLUMNS,
    CONFOUNDER_COLUMNS,
    MODELS,
    PLACEBO_COLUMNS,
    PLACEBO_DRAW_COLUMNS,
    SUMMARY_COLUMNS,
    StudyResult,
    StudySpec,
)
from pipelines.config import ASSET_CLASSES, Config
from pipelines.errors import DataError
from pipelines.schemas import TIMEFRAMES
from pipelines.store import load_sql, query_frame

# Default benchmark per asset class when neither the spec, the instrument nor the config names one.
DEFAULT_BENCHMARKS = {"crypto": "BTC", "commodity": "XAU"}
INTRADAY = ("1m", "2m", "5m", "15m", "30m", "1h", "4h")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Every temp table and view a study creates on the caller's connection; dropped when it is done.
STUDY_TEMP_VIEWS = frozenset({"study_ar_rows"})
STUDY_TEMP_OBJECTS = (
    "study_pairs", "study_aligned", "study_slow_pairs", "study_paired", "study_fit",
    "study_ar_rows", "study_car_windows", "study_events",
)  # fmt: skip


@dataclass(frozen=True)
class StudySettings:
    """The [study] config section: default benchmark per asset class, staleness limit in bars."""

    benchmarks: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_BENCHMARKS))
    stale_bars: int = 2
    min_estimation: int = 10


def study_settings(config: Config | None) -> StudySettings:
    """Validate and return the [study] section (defaults when there is no config)."""
    if config is None:
        return StudySettings()
    sec = config.section("study")
    sec.check_keys(("benchmarks", "stale_bars", "min_estimation"))
    bench_sec = sec.sub("benchmarks")
    bench_sec.check_keys(ASSET_CLASSES)
    benchmarks = dict(DEFAULT_BENCHMARKS)
    for asset_class in ASSET_CLASSES:
        value = bench_sec.get(asset_class, str, None)
        if value is not None:
            benchmarks[asset_class] = value
    stale = sec.get("stale_bars", int, 2)
    if stale < 0:
        raise sec.fail("stale_bars", f"must be ≥ 0, got {stale}")
    min_est = sec.get("min_estimation", int, 10)
    if min_est < 2:
        raise sec.fail("min_estimation", f"must be ≥ 2, got {min_est}")
    return StudySettings(benchmarks=benchmarks, stale_bars=stale, min_estimation=min_est)


# ---------------------------------------------------------------------------- entry point


def run_study(
    con: duckdb.DuckDBPyConnection, spec: StudySpec, config: Config | None = None, aligner=None
) -> StudyResult:
    """Run the event study described by `spec` on the store behind `con`; `aligner` replaces
    the alignment + AR step (`_abnormal_rows`' signature; the Spark engine passes its own)."""
    aligner = aligner or _abnormal_rows
    settings = study_settings(config)
    _check_spec(spec)
    events = _resolve_events(con, spec)
    notes: list[str] = []
    links = _resolve_links(con, spec, events)
    meta = _instrument_meta(con, config, links["instrument_id"].unique().to_list())
    timeframe = _choose_timeframe(con, spec, events, links)
    daily = timeframe == "1d"
    if (spec.window_dates or spec.estimation_dates) and not daily:
        raise DataError("--window-dates/--estimation-dates need daily bars (timeframe 1d)")
    stale = spec.stale_bars if spec.stale_bars is not None else settings.stale_bars
    min_est = spec.min_estimation if spec.min_estimation is not None else settings.min_estimation
    links, self_benchmarked = _without_self_benchmarks(links, meta, spec, settings)
    notes.extend(self_benchmarked)
    pairs = _build_pairs(events, links, meta, spec, settings, config)
    if spec.model != "constant":
        missing_bench = pairs.filter(pl.col("is_target") & pl.col("bench_pair_id").is_null())
        if missing_bench.height:
            raise DataError(
                f"model {spec.model!r} needs a benchmark for {missing_bench['instrument_id'].unique().to_list()}; "
                "give --benchmark or set [study.benchmarks] in tickerwire.toml"
            )
    geometry = _Geometry.of(spec, timeframe)
    rows = aligner(con, pairs, geometry, spec.model, stale)
    if geometry.dates:
        geometry = geometry.with_offsets_of(rows)
    # Pairs with too short an estimation window cannot be tested: listed in notes, dropped.
    params = rows.params
    too_short = params.filter(pl.col("n_estimation").fill_null(0) < min_est)["pair_id"]
    targets = pairs.filter(pl.col("is_target"))
    no_prices = set(
        params.filter(pl.col("sigma").is_null() & (pl.col("n_estimation").fill_null(0) == 0))[
            "pair_id"
        ].to_list()
    )
    short = set(too_short.to_list())
    for pair in targets.filter(pl.col("pair_id").is_in(list(short))).iter_rows(named=True):
        what = (
            f"no {timeframe} bars around the event"
            if pair["pair_id"] in no_prices
            else (f"fewer than {min_est} estimation returns, left out")
        )
        notes.append(f"{pair['event_id']}/{pair['instrument_id']}: {what}")
    rows = rows.without(short)
    targets = targets.filter(~pl.col("pair_id").is_in(list(short)))
    notes.extend(_valid_count_notes(rows, targets, geometry))

    # The statistics are numpy work on frames already fetched: they run in a second thread
    # while this one has DuckDB sum the CARs and list the confounders (both release the GIL).
    with ThreadPoolExecutor(max_workers=1) as pool:
        summary_job = pool.submit(_summary_frame, rows, targets, spec.model)
        ar = _ar_frame(rows.event, targets, timeframe)
        notes.extend(reopen_notes(ar))
        windows = _car_windows(spec, geometry)
        car = _car_frame(con, rows.params, targets, windows, timeframe)
        confounders = _confounders(con, events, geometry)
        summary = summary_job.result()
    placebo = _empty(PLACEBO_COLUMNS)
    placebo_draws = _empty(PLACEBO_DRAW_COLUMNS)
    if spec.placebo > 0 and targets.height:
        placebo, placebo_draws = _placebo(
            con, spec, events, targets, pairs, car, geometry, stale, min_est, aligner
        )
        car = car.drop("placebo_p").join(
            placebo.select("event_id", "instrument_id", "car_from", "car_to", "placebo_p"),
            on=["event_id", "instrument_id", "car_from", "car_to"],
            how="left",
        )
    car = car.select(CAR_COLUMNS)
    _drop_temps(con, *STUDY_TEMP_OBJECTS)
    return StudyResult(
        spec=spec,
        timeframe=timeframe,
        ar=ar,
        car=car,
        summary=summary,
        confounders=confounders,
        placebo=placebo,
        notes=notes,
        placebo_draws=placebo_draws,
    )


# ---------------------------------------------------------------------------- checks and inputs


def _check_spec(spec: StudySpec) -> None:
    if spec.model not in MODELS:
        raise DataError(f"model must be one of {', '.join(MODELS)}; got {spec.model!r}")
    if spec.timeframe != "auto" and spec.timeframe not in TIMEFRAMES:
        raise DataError(f"timeframe must be auto or one of {', '.join(TIMEFRAMES)}")
    for name, (lo, hi) in (("window", spec.window), ("estimation", spec.estimation)):
        if lo > hi:
            raise DataError(f"{name} {lo}:{hi}: the start must not be after the end")
    for name, pair in (
        ("window-dates", spec.window_dates),
        ("estimation-dates", spec.estimation_dates),
    ):
        if pair is not None and pair[0] > pair[1]:
            raise DataError(f"{name} {pair[0]}:{pair[1]}: the start must not be after the end")
    if bool(spec.window_dates) != bool(spec.estimation_dates):
        raise DataError("give both --window-dates and --estimation-dates (or neither)")
    if not spec.window_dates and spec.estimation[1] >= spec.window[0]:
        raise DataError(
            f"estimation {spec.estimation[0]}:{spec.estimation[1]} must end before the event window "
            f"starts ({spec.window[0]})"
        )
    for lo, hi in spec.car_windows:
        if lo > hi:
            raise DataError(f"CAR window {lo}:{hi}: the start must not be after the end")
    if spec.placebo < 0:
        raise DataError("placebo must be ≥ 0")


def _resolve_events(con: duckdb.DuckDBPyConnection, spec: StudySpec) -> pl.DataFrame:
    """The studied events: (event_id, title, event_at) in time order."""
    if spec.events is not None:
        frame = spec.events
        if "event_at" not in frame.columns:
            raise DataError("events frame needs an event_at column")
        if "event_id" not in frame.columns:
            frame = frame.with_row_index("event_id").with_columns(pl.col("event_id").cast(pl.Utf8))
        if "title" not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias("title"))
        frame = frame.select(
            pl.col("event_id").cast(pl.Utf8),
            pl.col("title").cast(pl.Utf8),
            pl.col("event_at").cast(pl.Datetime("us", "UTC")),
        )
    else:
        frame = query_frame(
            con,
            load_sql("study_events"),
            {
                "ids": list(spec.event_ids),
                "category": spec.category,
                "since": spec.since,
                "until": spec.until,
            },
        ).select("event_id", "title", pl.col("event_at").cast(pl.Datetime("us", "UTC")))
        unknown = set(spec.event_ids) - set(frame["event_id"].to_list())
        if unknown:
            raise DataError(f"unknown event id(s): {', '.join(sorted(unknown))}")
    frame = frame.filter(pl.col("event_at").is_not_null()).unique("event_id", keep="first")
    if frame.height == 0:
        raise DataError("no events match the selection")
    return frame.sort("event_at", "event_id")


def _resolve_links(
    con: duckdb.DuckDBPyConnection, spec: StudySpec, events: pl.DataFrame
) -> pl.DataFrame:
    """(event_id, instrument_id) rows: the given instruments, else event_instruments."""
    if spec.instruments:
        return events.select("event_id").join(
            pl.DataFrame({"instrument_id": list(spec.instruments)}), how="cross"
        )
    links = query_frame(
        con,
        "select event_id, instrument_id from event_instruments where list_contains($ids, event_id)",
        {"ids": events["event_id"].to_list()},
    )
    if links.height == 0:
        raise DataError(
            "the events have no related instruments (event_instruments); give --instruments"
        )
    return links


def _instrument_meta(
    con: duckdb.DuckDBPyConnection, config: Config | None, ids: list[str]
) -> dict[str, dict[str, str | None]]:
    """Calendar, exchange time zone, asset class and configured benchmark per instrument."""
    stored = query_frame(
        con,
        "select instrument_id, calendar, exchange_tz, asset_class from instruments "
        "where list_contains($ids, instrument_id)",
        {"ids": ids},
    )
    meta: dict[str, dict[str, str | None]] = {
        i: {"calendar": "24/7", "exchange_tz": "UTC", "asset_class": "other", "benchmark": None}
        for i in ids
    }
    if config is not None:
        for inst in config.instruments:
            if inst.id in meta:
                meta[inst.id].update(
                    calendar=inst.calendar,
                    exchange_tz=inst.exchange_tz,
                    asset_class=inst.asset_class,
                    benchmark=inst.benchmark,
                )
    for row in stored.iter_rows(named=True):
        meta[row["instrument_id"]].update(
            calendar=row["calendar"], exchange_tz=row["exchange_tz"], asset_class=row["asset_class"]
        )
    return meta


@dataclass(frozen=True)
class _Geometry:
    """Offsets and bar length of a study."""

    timeframe: str
    step_us: int
    daily: bool
    dates: bool
    l1: int
    l2: int
    t1: int
    t2: int
    ld: tuple[date, date] | None
    td: tuple[date, date] | None

    @classmethod
    def of(cls, spec: StudySpec, timeframe: str) -> _Geometry:
        step = TIMEFRAMES[timeframe]
        return cls(
            timeframe=timeframe,
            step_us=int(step / timedelta(microseconds=1)),
            daily=timeframe == "1d",
            dates=spec.window_dates is not None,
            l1=spec.estimation[0],
            l2=spec.estimation[1],
            t1=spec.window[0],
            t2=spec.window[1],
            ld=spec.estimation_dates,
            td=spec.window_dates,
        )

    @property
    def k_lo(self) -> int:
        """First offset needed on the grid (one before the first return)."""
        return min(self.l1, self.t1) - 1

    @property
    def k_hi(self) -> int:
        """Last offset needed on the grid."""
        return max(self.l2, self.t2)

    def with_offsets_of(self, rows: _Rows) -> _Geometry:
        """Date windows turned into the trading-day offsets they cover in the data."""
        est = rows.estimation["k"]
        ev = rows.event["k"]
        if est.len() == 0 or ev.len() == 0:
            raise DataError("no daily bars fall inside the estimation and event dates")
        return replace(
            self, l1=int(est.min()), l2=int(est.max()), t1=int(ev.min()), t2=int(ev.max())
        )

    def binds(self) -> dict[str, object]:
        """The bind parameters shared by the alignment queries."""
        ld = self.ld or (date(1970, 1, 1), date(1970, 1, 1))
        td = self.td or (date(1970, 1, 1), date(1970, 1, 1))
        return {
            "timeframe": self.timeframe,
            "k_lo": self.k_lo,
            "k_hi": self.k_hi,
            "l1": self.l1,
            "l2": self.l2,
            "t1": self.t1,
            "t2": self.t2,
            "dates": self.dates,
            "ld1": ld[0],
            "ld2": ld[1],
            "td1": td[0],
            "td2": td[1],
        }


def _choose_timeframe(
    con: duckdb.DuckDBPyConnection, spec: StudySpec, events: pl.DataFrame, links: pl.DataFrame
) -> str:
    """The spec's timeframe, or for 'auto' the finest one whose bars cover the most pairs' windows."""
    if spec.timeframe != "auto":
        return spec.timeframe
    coverage = query_frame(
        con,
        "select instrument_id, timeframe, first_ts, last_ts from bar_coverage "
        "where list_contains($ids, instrument_id)",
        {"ids": links["instrument_id"].unique().to_list()},
    ).with_columns(pl.col("first_ts", "last_ts").cast(pl.Datetime("us", "UTC")))
    if coverage.height == 0:
        raise DataError("no bars stored for the chosen instruments")
    if spec.window_dates:
        return "1d"
    lo = min(spec.estimation[0], spec.window[0]) - 1
    hi = max(spec.estimation[1], spec.window[1])
    pairs = links.join(events.select("event_id", "event_at"), on="event_id")
    best: tuple[int, int, str] | None = None
    for rank, tf in enumerate(TIMEFRAMES):
        step = TIMEFRAMES[tf]
        cov = coverage.filter(pl.col("timeframe") == tf)
        if cov.height == 0:
            continue
        covered = (
            pairs.join(cov, on="instrument_id")
            .filter(
                (pl.col("first_ts") <= pl.col("event_at") + step * (lo - 1))
                & (pl.col("last_ts") >= pl.col("event_at") + step * (hi - 1))
            )
            .height
        )
        key = (covered, -rank, tf)
        if covered and (best is None or key[:2] > best[:2]):
            best = key
        if covered == pairs.height:
            return tf
    if best is None:
        # Nothing covers a whole window: the finest timeframe with any bars, so gaps are visible.
        return next(tf for tf in TIMEFRAMES if tf in set(coverage["timeframe"].to_list()))
    return best[2]


def _benchmark_for(
    instrument_id: str,
    meta: dict[str, dict[str, str | None]],
    spec: StudySpec,
    settings: StudySettings,
) -> str | None:
    if spec.benchmark:
        return spec.benchmark
    info = meta.get(instrument_id, {})
    if info.get("benchmark"):
        return info["benchmark"]
    return settings.benchmarks.get(str(info.get("asset_class")))


def _without_self_benchmarks(
    links: pl.DataFrame,
    meta: dict[str, dict[str, str | None]],
    spec: StudySpec,
    settings: StudySettings,
) -> tuple[pl.DataFrame, list[str]]:
    """The links less instruments that would be their own benchmark, and a note for each.

    Under a benchmark model such an instrument's expected return is its own return: AR and CAR
    are 0 up to rounding (1e-20), and any statistic on them is noise, so it is left out."""
    if spec.model == "constant":
        return links, []
    own = sorted(
        i
        for i in links["instrument_id"].unique().to_list()
        if _benchmark_for(i, meta, spec, settings) == i
    )
    notes = [
        f"{i}: left out of the {spec.model}-model study, it is its own benchmark (its abnormal "
        "return would be 0 by construction); give another --benchmark or use --model constant"
        for i in own
    ]
    kept = links.filter(~pl.col("instrument_id").is_in(own))
    if own and kept.height == 0:
        raise DataError(notes[0].replace(": left out of", " cannot be studied by"))
    return kept, notes


def _build_pairs(
    events: pl.DataFrame,
    links: pl.DataFrame,
    meta: dict[str, dict[str, str | None]],
    spec: StudySpec,
    settings: StudySettings,
    config: Config | None,
) -> pl.DataFrame:
    """Target pairs (event × instrument) and one benchmark pair per (event, benchmark)."""
    targets = links.join(events.select("event_id", "event_at"), on="event_id").unique(
        ["event_id", "instrument_id"], keep="first", maintain_order=True
    )
    bench_ids = {
        i: (_benchmark_for(i, meta, spec, settings) if spec.model != "constant" else None)
        for i in targets["instrument_id"].unique().to_list()
    }
    for b in {b for b in bench_ids.values() if b}:
        meta.setdefault(b, {"calendar": "24/7", "exchange_tz": "UTC", "asset_class": "other"})
    targets = targets.with_columns(
        pl.col("instrument_id")
        .replace_strict(bench_ids, default=None, return_dtype=pl.Utf8)
        .alias("benchmark_id")
    )
    return _pairs_frame(targets, meta)


def _pairs_frame(targets: pl.DataFrame, meta: dict[str, dict[str, str | None]]) -> pl.DataFrame:
    """Number target and benchmark pairs; targets: event_id, instrument_id, event_at, benchmark_id."""
    targets = targets.with_row_index("pair_id").with_columns(pl.col("pair_id").cast(pl.Int64))
    benches = (
        targets.filter(pl.col("benchmark_id").is_not_null())
        .select("event_id", "event_at", pl.col("benchmark_id").alias("instrument_id"))
        .unique(["event_id", "instrument_id"], maintain_order=True)
        .with_row_index("bench_pair_id", offset=targets.height)
        .with_columns(pl.col("bench_pair_id").cast(pl.Int64))
    )
    targets = targets.join(
        benches.select("event_id", pl.col("instrument_id").alias("benchmark_id"), "bench_pair_id"),
        on=["event_id", "benchmark_id"],
        how="left",
    )
    bench_rows = benches.select(
        pl.col("bench_pair_id").alias("pair_id"),
        "event_id",
        "instrument_id",
        "event_at",
        pl.lit(None, pl.Utf8).alias("benchmark_id"),
        pl.lit(None, pl.Int64).alias("bench_pair_id"),
    )
    both = pl.concat(
        [
            targets.select(
                "pair_id", "event_id", "instrument_id", "event_at", "benchmark_id", "bench_pair_id"
            ).with_columns(pl.lit(True).alias("is_target")),
            bench_rows.with_columns(pl.lit(False).alias("is_target")),
        ]
    )
    cal = {k: v.get("calendar") or "24/7" for k, v in meta.items()}
    tz = {k: v.get("exchange_tz") or "UTC" for k, v in meta.items()}
    return both.with_columns(
        pl.col("instrument_id")
        .replace_strict(cal, default="24/7", return_dtype=pl.Utf8)
        .alias("calendar"),
        pl.col("instrument_id")
        .replace_strict(tz, default="UTC", return_dtype=pl.Utf8)
        .alias("exchange_tz"),
        pl.col("event_at").alias("t0"),
    )


# ---------------------------------------------------------------------------- SQL steps


@dataclass
class _Rows:
    """What the SQL steps hand to Python: event-window rows, estimation ARs, per-pair parameters."""

    event: pl.DataFrame  # pair_id, k, grid_at, price, ret, mret, expected, ar, reopen_at
    estimation: pl.DataFrame  # pair_id, k, ar
    params: pl.DataFrame  # pair_id, n_estimation, alpha, beta, m_mean, m_sxx, sigma

    def without(self, pair_ids: set[int]) -> _Rows:
        """The same rows less some pairs."""
        if not pair_ids:
            return self
        keep = ~pl.col("pair_id").is_in(list(pair_ids))
        return _Rows(
            self.event.filter(keep), self.estimation.filter(keep), self.params.filter(keep)
        )


def _abnormal_rows(
    con: duckdb.DuckDBPyConnection,
    pairs: pl.DataFrame,
    geometry: _Geometry,
    model: str,
    stale: int,
) -> _Rows:
    """Align every pair on its grid and compute AR in DuckDB; leaves temp view study_ar_rows."""
    con.complete()
    con.register(
        "_study_pairs_in",
        pairs.select(
            "pair_id",
            "instrument_id",
            "calendar",
            "exchange_tz",
            "t0",
            "bench_pair_id",
            "is_target",
        ).to_arrow(),
    )
    try:
        con.execute("create or replace temp table study_pairs as select * from _study_pairs_in")
        binds = geometry.binds()
        if geometry.daily:
            _create_temp(con, "study_aligned", load_sql("study_align_daily"), binds)
            _create_temp(con, "study_paired", load_sql("study_paired"), {})
        else:
            _align_intraday(con, {**binds, "step_us": geometry.step_us, "stale": stale})
        # intraday, a benchmark shares its target's grid: its window is the paired rows' mret
        _create_temp(
            con,
            "study_fit",
            load_sql("study_fit"),
            {"model": model, "same_grid": not geometry.daily},
        )
        con.execute(f"create or replace temp view study_ar_rows as {load_sql('study_ar')}")
        # The grid rows are no longer needed: give their memory back before the Python steps.
        _drop_temps(con, "study_aligned", "study_slow_pairs")
        event = query_frame(
            con,
            "select pair_id, k, grid_at, price, ret, mret, expected, ar, reopen_at from study_ar_rows "
            "where role = 'event'",
        )
        estimation = query_frame(
            con, "select pair_id, k, ar from study_ar_rows where role = 'estimation'"
        )
        params = query_frame(con, load_sql("study_ar_params"))
    finally:
        con.unregister("_study_pairs_in")
    return _Rows(event=event, estimation=estimation, params=params)


def _align_intraday(con: duckdb.DuckDBPyConnection, binds: dict) -> None:
    """Intraday grid rows of every target pair, with its benchmark's return, into study_paired.

    Pairs whose series (and benchmark series) have a bar in every slot take the fast path;
    only the others (gaps, sessions, stale prices, bars off the grid) and their benchmarks pay
    for the full as-of rule and the pairing join, which are skipped when there are none.
    """
    _create_temp(con, "study_paired", load_sql("study_align_intraday_fast"), binds)
    con.execute(
        """create or replace temp table study_slow_pairs as
           with slow_targets as (
               select * from study_pairs
               where is_target and pair_id not in (select distinct pair_id from study_paired)
           )
           select * from slow_targets
           union
           select * from study_pairs
           where pair_id in (select bench_pair_id from slow_targets)"""
    )
    if con.execute("select count(*) from study_slow_pairs").fetchall()[0][0]:
        _create_temp(con, "study_aligned", load_sql("study_align_intraday"), binds)
        con.execute(f"insert into study_paired {load_sql('study_paired')}")
    else:  # study_fit names the table whichever path ran: an empty one of the same columns
        con.execute(
            "create or replace temp table study_aligned as "
            "select pair_id, k, grid_at, price, ret, role, null::timestamptz as prev_at, "
            "reopen_at from study_paired limit 0"
        )


def _valid_count_notes(rows: _Rows, targets: pl.DataFrame, geometry: _Geometry) -> list[str]:
    """Per pair, how many estimation and event-window returns were valid, when fewer than asked
    (a missing price — stale, closed market, no bar — removes the return on each side of it)."""
    asked_est = geometry.l2 - geometry.l1 + 1
    asked_ev = geometry.t2 - geometry.t1 + 1
    n_ev = rows.event.group_by("pair_id").agg(pl.col("ar").is_not_null().sum().alias("n_event"))
    counts = (
        targets.select("pair_id", "event_id", "instrument_id")
        .join(rows.params.select("pair_id", "n_estimation"), on="pair_id", how="left")
        .join(n_ev, on="pair_id", how="left")
        .with_columns(pl.col("n_estimation", "n_event").fill_null(0))
        .filter((pl.col("n_estimation") < asked_est) | (pl.col("n_event") < asked_ev))
        .sort("pair_id")
    )
    return [
        f"{r['event_id']}/{r['instrument_id']}: {r['n_estimation']} of {asked_est} estimation "
        f"and {r['n_event']} of {asked_ev} event-window returns valid"
        for r in counts.iter_rows(named=True)
    ]


def _drop_temps(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop the study's temp views and tables (they would otherwise live as long as the
    connection); views first, as they read the tables."""
    for name in sorted(names, key=lambda n: n not in STUDY_TEMP_VIEWS):
        kind = "view" if name in STUDY_TEMP_VIEWS else "table"
        con.execute(f"drop {kind} if exists temp.{name}")


def _create_temp(con: duckdb.DuckDBPyConnection, name: str, sql: str, binds: dict) -> None:
    """Materialise a named query as a temp table, passing only the binds it uses."""
    con.execute(f"create or replace temp table {name} as {sql}", _used_binds(sql, binds))


def _used_binds(sql: str, binds: dict) -> dict:
    """The binds a query names outside its comments (DuckDB refuses unused named parameters)."""
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    return {k: v for k, v in binds.items() if f"${k}" in code}


def _ar_frame(event_rows: pl.DataFrame, targets: pl.DataFrame, timeframe: str) -> pl.DataFrame:
    """Per (event, instrument, offset) of the event window: price, return, expected, AR, CAR."""
    event_rows = event_rows.sort("pair_id", "k")
    frame = event_rows.with_columns(
        pl.col("ar").fill_null(0.0).cum_sum().over("pair_id").alias("car")
    ).with_columns(pl.when(pl.col("ar").is_null()).then(None).otherwise(pl.col("car")).alias("car"))
    frame = frame.join(targets.select("pair_id", "event_id", "instrument_id"), on="pair_id")
    return frame.select(
        "event_id",
        "instrument_id",
        pl.lit(timeframe).alias("timeframe"),
        pl.col("k").cast(pl.Int64).alias("offset"),
        pl.col("grid_at").cast(pl.Datetime("us", "UTC")).alias("ts"),
        "price",
        "ret",
        "expected",
        "ar",
        "car",
        pl.col("reopen_at").cast(pl.Datetime("us", "UTC")),
    ).select(AR_COLUMNS)


def reopen_label(reopen_at: datetime) -> str:
    """'at reopen, Mon 00:00 UTC': how a reaction measured across a market closure is shown."""
    return f"at reopen, {reopen_at.astimezone(UTC):%a %H:%M} UTC"


def reopen_notes(ar: pl.DataFrame) -> list[str]:
    """One note per event-window return that bridges a market closure (reopen_at set)."""
    rows = ar.filter(pl.col("reopen_at").is_not_null()).sort("event_id", "instrument_id", "offset")
    return [
        f"{r['event_id']}/{r['instrument_id']}: offset {r['offset']} is the reaction "
        f"{reopen_label(r['reopen_at'])} ({r['reopen_at']:%Y-%m-%d}), from the last price before "
        "the market closed"
        for r in rows.iter_rows(named=True)
    ]


def _car_windows(spec: StudySpec, geometry: _Geometry) -> list[tuple[int, int]]:
    """The requested CAR sub-windows, else the whole event window."""
    return list(spec.car_windows) or [(geometry.t1, geometry.t2)]


def _car_sums(con: duckdb.DuckDBPyConnection, windows: list[tuple[int, int]]) -> pl.DataFrame:
    """CAR per (pair, window) from the temp view study_ar_rows (sql/queries/study_car.sql)."""
    con.complete()
    con.register(
        "_study_windows_in",
        pl.DataFrame(windows, schema=["car_from", "car_to"], orient="row").to_arrow(),
    )
    try:
        con.execute(
            "create or replace temp table study_car_windows as select * from _study_windows_in"
        )
        return query_frame(con, load_sql("study_car"))
    finally:
        con.unregister("_study_windows_in")


def _car_frame(
    con: duckdb.DuckDBPyConnection,
    params: pl.DataFrame,
    targets: pl.DataFrame,
    windows: list[tuple[int, int]],
    timeframe: str,
) -> pl.DataFrame:
    """Per (event, instrument, CAR window): CAR, valid bars, pre-event volatility, z-score."""
    car = _car_sums(con, windows)
    base = targets.select("pair_id", "event_id", "instrument_id", "event_at").join(
        pl.DataFrame(windows, schema=["car_from", "car_to"], orient="row"), how="cross"
    )
    frame = (
        base.join(car, on=["pair_id", "car_from", "car_to"], how="left")
        .join(
            params.select("pair_id", "n_estimation", "alpha", "beta", "sigma"),
            on="pair_id",
            how="left",
        )
        .with_columns(
            pl.col("n_valid").fill_null(0),
            (pl.col("car_to") - pl.col("car_from") + 1).cast(pl.Int32).alias("n_window"),
            (pl.col("sigma") * pl.col("n_valid").cast(pl.Float64).sqrt()).alias("car_sd"),
        )
        .with_columns(
            pl.when(pl.col("car_sd") > 0).then(pl.col("car") / pl.col("car_sd")).alias("z"),
            pl.lit(timeframe).alias("timeframe"),
            pl.lit(None, pl.Float64).alias("placebo_p"),
            pl.col("event_at").cast(pl.Datetime("us", "UTC")),
            pl.col("n_estimation").cast(pl.Int64),
            pl.col("car_from").cast(pl.Int64),
            pl.col("car_to").cast(pl.Int64),
        )
        .sort("event_at", "event_id", "instrument_id", "car_from", "car_to")
    )
    return frame.select(CAR_COLUMNS)


def _matrix(rows: pl.DataFrame, columns: pl.DataFrame, lo: int, hi: int, column: str) -> np.ndarray:
    """Offsets lo..hi × pairs matrix of `column` (NaN where missing); columns maps pair_id → col."""
    out = np.full((hi - lo + 1, columns.height), np.nan)
    if rows.height:
        # pair_id → column by direct indexing (pair ids are small non-negative integers)
        pair_ids = columns["pair_id"].to_numpy().astype(np.int64)
        col_of = np.full(int(max(pair_ids.max(), rows["pair_id"].max())) + 1, -1, dtype=np.int64)
        col_of[pair_ids] = columns["col"].to_numpy().astype(np.int64)
        cols = col_of[rows["pair_id"].to_numpy().astype(np.int64)]
        ks = rows["k"].to_numpy().astype(np.int64) - lo
        vals = rows[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        ok = (cols >= 0) & (ks >= 0) & (ks < out.shape[0])
        out.ravel()[ks[ok] * out.shape[1] + cols[ok]] = vals[ok]  # flat index: one scatter
    return out


def _summary_frame(rows: _Rows, targets: pl.DataFrame, model: str) -> pl.DataFrame:
    """Cross-section per event-window offset: mean AR, CAAR and all statistics with p-values."""
    if targets.height == 0:
        return _empty(SUMMARY_COLUMNS)
    columns = targets.select("pair_id").with_row_index("col")
    est_rows = rows.estimation
    ev_rows = rows.event
    if ev_rows.height == 0:
        return _empty(SUMMARY_COLUMNS)
    est_lo, est_hi = int(est_rows["k"].min() or 0), int(est_rows["k"].max() or 0)
    ev_lo, ev_hi = int(ev_rows["k"].min()), int(ev_rows["k"].max())
    est = _matrix(est_rows, columns, est_lo, est_hi, "ar")
    ev = _matrix(ev_rows, columns, ev_lo, ev_hi, "ar")
    mret = _matrix(ev_rows, columns, ev_lo, ev_hi, "mret")
    params = rows.params.join(columns, on="pair_id").sort("col")
    n_est = params["n_estimation"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    m_mean = params["m_mean"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    m_sxx = params["m_sxx"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if model == "market":
        with np.errstate(divide="ignore", invalid="ignore"):
            market_term = (mret - m_mean[None, :]) ** 2 / m_sxx[None, :]
        market_term = np.where(np.isfinite(market_term), market_term, 0.0)
    else:
        market_term = np.zeros_like(ev)
    result = st.cross_section(
        st.CrossSectionInput(est=est, ev=ev, n_estimation=n_est, market_term=market_term)
    )
    offsets = np.arange(ev_lo, ev_hi + 1)
    # The instant of an offset is shown when every pair shares it (one event, one calendar).
    instants = (
        ev_rows.group_by("k")
        .agg(
            pl.col("grid_at").n_unique().alias("n_at"), pl.col("grid_at").first().alias("first_at")
        )
        .with_columns(pl.when(pl.col("n_at") == 1).then(pl.col("first_at")).alias("ts"))
    )
    frame = pl.DataFrame({"offset": offsets.astype(np.int64)}).with_columns(
        **{k: pl.Series(v, dtype=pl.Float64) for k, v in result.items()}
    )
    frame = frame.with_columns(
        pl.col("n").cast(pl.Int64),
        pl.col("n_positive").cast(pl.Int64),
        pl.col("mean_ar").fill_nan(None).fill_null(0.0).cum_sum().alias("caar"),
    ).join(
        instants.select(
            pl.col("k").cast(pl.Int64).alias("offset"), pl.col("ts").cast(pl.Datetime("us", "UTC"))
        ),
        on="offset",
        how="left",
    )
    frame = frame.with_columns(pl.col(pl.Float64).fill_nan(None))
    return frame.filter(pl.col("n") > 0).select(SUMMARY_COLUMNS)


def _confounders(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, geometry: _Geometry
) -> pl.DataFrame:
    """Other events inside each event's windows (offsets in bars of the study's timeframe)."""
    con.complete()
    con.register("_study_events_in", events.to_arrow())
    try:
        con.execute("create or replace temp table study_events as select * from _study_events_in")
        l1, l2, t1, t2 = geometry.l1, geometry.l2, geometry.t1, geometry.t2
        frame = query_frame(
            con,
            load_sql("study_confounders"),
            {"step_us": geometry.step_us, "l1": l1, "l2": l2, "t1": t1, "t2": t2},
        )
    finally:
        con.unregister("_study_events_in")
    if frame.height == 0:
        return _empty(CONFOUNDER_COLUMNS)
    return frame.with_columns(
        pl.col("other_event_at").cast(pl.Datetime("us", "UTC")), pl.col("offset").cast(pl.Int64)
    ).select(CONFOUNDER_COLUMNS)


# ---------------------------------------------------------------------------- placebo


def _placebo(
    con: duckdb.DuckDBPyConnection,
    spec: StudySpec,
    events: pl.DataFrame,
    targets: pl.DataFrame,
    pairs: pl.DataFrame,
    car: pl.DataFrame,
    geometry: _Geometry,
    stale: int,
    min_est: int,
    aligner=None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The study at `spec.placebo` random non-event instants per (event, instrument) — no event
    falls inside a placebo's event window — giving the empirical two-sided p-value of each
    observed CAR, (1 + #{|CAR*| ≥ |CAR|}) / (1 + n). Returns the p-values and the draws."""
    rng = np.random.default_rng(spec.seed)
    coverage = query_frame(
        con,
        "select instrument_id, first_ts, last_ts from bar_coverage where timeframe = $tf",
        {"tf": geometry.timeframe},
    ).with_columns(pl.col("first_ts", "last_ts").cast(pl.Datetime("us", "UTC")))
    span = dict(
        zip(
            coverage["instrument_id"].to_list(),
            zip(coverage["first_ts"].to_list(), coverage["last_ts"].to_list(), strict=True),
            strict=True,
        )
    )
    all_events = query_frame(con, "select event_at from events")["event_at"].to_list()
    blocked = np.sort(
        np.array(
            [
                _us(t)
                for t in itertools.chain(all_events, events["event_at"].to_list())
                if t is not None
            ],
            dtype=np.int64,
        )
    )
    step_us = geometry.step_us
    lo_k, hi_k = geometry.k_lo, geometry.k_hi
    # Trading-day offsets run faster than calendar days: keep clear by a factor for daily data.
    scale = 1.6 if geometry.daily else 1.0
    draws: list[dict] = []
    bench_of = dict(
        zip(targets["pair_id"].to_list(), targets["benchmark_id"].to_list(), strict=True)
    )
    for pair in targets.iter_rows(named=True):
        first_last = span.get(pair["instrument_id"])
        if first_last is None:
            continue
        start = _us(first_last[0]) - int(lo_k * scale) * step_us + step_us
        end = _us(first_last[1]) - int(hi_k * scale) * step_us
        if end <= start:
            continue
        candidates = rng.integers(start, end, size=spec.placebo * 8)
        # Reject instants with any event inside their event window (the anchor included); events
        # inside the estimation window are what the confounders list reports.
        block_lo = int((geometry.t1 - 1) * scale) * step_us if geometry.t1 <= 0 else -step_us
        block_hi = int(geometry.t2 * scale) * step_us
        left = np.searchsorted(blocked, candidates + min(block_lo, -step_us), side="left")
        right = np.searchsorted(blocked, candidates + max(block_hi, 0), side="right")
        kept = candidates[left == right][: spec.placebo]
        for n, t in enumerate(kept):
            draws.append(
                {
                    "event_id": f"{pair['event_id']}#placebo{n}",
                    "origin_pair": pair["pair_id"],
                    "instrument_id": pair["instrument_id"],
                    "event_at": _EPOCH + timedelta(microseconds=int(t)),
                    "benchmark_id": bench_of[pair["pair_id"]],
                }
            )
    if not draws:
        return _empty(PLACEBO_COLUMNS), _empty(PLACEBO_DRAW_COLUMNS)
    draw_frame = pl.DataFrame(
        draws,
        schema={
            "event_id": pl.Utf8,
            "origin_pair": pl.Int64,
            "instrument_id": pl.Utf8,
            "event_at": pl.Datetime("us", "UTC"),
            "benchmark_id": pl.Utf8,
        },
    )
    meta = {
        row["instrument_id"]: {"calendar": row["calendar"], "exchange_tz": row["exchange_tz"]}
        for row in pairs.select("instrument_id", "calendar", "exchange_tz")
        .unique()
        .iter_rows(named=True)
    }
    placebo_pairs = _pairs_frame(
        draw_frame.select("event_id", "instrument_id", "event_at", "benchmark_id"), meta
    )
    origin = draw_frame.with_row_index("pair_id").select(
        pl.col("pair_id").cast(pl.Int64), "origin_pair"
    )
    shifted = replace(geometry, dates=False, ld=None, td=None)
    rows = (aligner or _abnormal_rows)(con, placebo_pairs, shifted, spec.model, stale)
    good = rows.params.filter(pl.col("n_estimation").fill_null(0) >= min_est)["pair_id"]
    windows = _car_windows(spec, shifted)
    observed = car.select("event_id", "instrument_id", "car_from", "car_to", "car").join(
        targets.select("pair_id", "event_id", "instrument_id"), on=["event_id", "instrument_id"]
    )
    placebo_car = _car_sums(con, windows).filter(pl.col("pair_id").is_in(good.to_list()))
    placebo_car = placebo_car.join(origin, on="pair_id").filter(pl.col("car").is_not_null())
    joined = observed.rename({"pair_id": "origin_pair", "car": "observed"}).join(
        placebo_car.select("origin_pair", "car_from", "car_to", "car"),
        on=["origin_pair", "car_from", "car_to"],
        how="left",
    )
    out = (
        joined.group_by("event_id", "instrument_id", "car_from", "car_to")
        .agg(
            pl.col("observed").first().alias("car"),
            pl.col("car").is_not_null().sum().cast(pl.Int64).alias("n_placebo"),
            pl.col("car").mean().alias("placebo_mean"),
            pl.col("car").std(ddof=1).alias("placebo_sd"),
            (pl.col("car").abs() >= pl.col("observed").abs()).sum().alias("n_extreme"),
        )
        .with_columns(
            pl.when(pl.col("car").is_not_null() & (pl.col("n_placebo") > 0))
            .then((1 + pl.col("n_extreme")) / (1 + pl.col("n_placebo")))
            .alias("placebo_p")
        )
    )
    draw_cars = (
        joined.filter(pl.col("car").is_not_null())
        .select(PLACEBO_DRAW_COLUMNS)
        .sort("event_id", "instrument_id", "car_from", "car_to", "car")
    )
    out = out.sort("event_id", "instrument_id", "car_from", "car_to").select(PLACEBO_COLUMNS)
    return out, draw_cars


def _us(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)


def _empty(columns: tuple[str, ...]) -> pl.DataFrame:
    """A frame with no rows but the stable columns and their types."""
    return pl.DataFrame(schema={c: _dtype(c) for c in columns})


def _dtype(column: str) -> pl.DataType:
    if column in (
        "event_id",
        "instrument_id",
        "timeframe",
        "other_event_id",
        "other_title",
        "window",
    ):
        return pl.Utf8()
    if column in ("ts", "event_at", "other_event_at", "reopen_at"):
        return pl.Datetime("us", "UTC")
    if column in ("offset", "car_from", "car_to", "n", "n_positive", "n_placebo", "n_estimation"):
        return pl.Int64()
    if column in ("n_valid", "n_window"):
        return pl.Int32()
    return pl.Float64()
