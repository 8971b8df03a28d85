"""Study inputs: the [study] settings, spec checks, and the events, instruments and study pairs
(event × instrument, plus one benchmark pair per event and benchmark) a spec resolves to."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines.analytics.spec import MODELS, StudySpec
from pipelines.config import ASSET_CLASSES, Config
from pipelines.errors import DataError
from pipelines.schemas import TIMEFRAMES
from pipelines.store import load_sql, query_frame

# Default benchmark per asset class when neither the spec, the instrument nor the config names one.
DEFAULT_BENCHMARKS = {"crypto": "BTC", "commodity": "XAU"}


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


def check_spec(spec: StudySpec) -> None:
    """Refuse a spec whose model, timeframe or windows cannot be studied (DataError)."""
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


def resolve_events(con: duckdb.DuckDBPyConnection, spec: StudySpec) -> pl.DataFrame:
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


def resolve_links(
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


def instrument_meta(
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


def choose_timeframe(
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


def benchmark_for(
    instrument_id: str,
    meta: dict[str, dict[str, str | None]],
    spec: StudySpec,
    settings: StudySettings,
) -> str | None:
    """The benchmark of an instrument: the spec's, the instrument's own, else its asset class's."""
    if spec.benchmark:
        return spec.benchmark
    info = meta.get(instrument_id, {})
    if info.get("benchmark"):
        return info["benchmark"]
    return settings.benchmarks.get(str(info.get("asset_class")))


def without_self_benchmarks(
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
        if benchmark_for(i, meta, spec, settings) == i
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


def build_pairs(
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
        i: (benchmark_for(i, meta, spec, settings) if spec.model != "constant" else None)
        for i in targets["instrument_id"].unique().to_list()
    }
    for b in {b for b in bench_ids.values() if b}:
        meta.setdefault(b, {"calendar": "24/7", "exchange_tz": "UTC", "asset_class": "other"})
    targets = targets.with_columns(
        pl.col("instrument_id")
        .replace_strict(bench_ids, default=None, return_dtype=pl.Utf8)
        .alias("benchmark_id")
    )
    return pairs_frame(targets, meta)


def pairs_frame(targets: pl.DataFrame, meta: dict[str, dict[str, str | None]]) -> pl.DataFrame:
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
