"""Placebo test: the same study at random non-event instants per (event, instrument), giving
the empirical two-sided p-value of each observed CAR, (1 + #{|CAR*| ≥ |CAR|}) / (1 + n)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

from pipelines.analytics.abnormal import Rows
from pipelines.analytics.geometry import Geometry
from pipelines.analytics.inputs import pairs_frame
from pipelines.analytics.results import car_sums, car_windows
from pipelines.analytics.spec import (
    PLACEBO_DRAW_SCHEMA,
    PLACEBO_SCHEMA,
    StudySpec,
    empty_frame,
)
from pipelines.store import query_frame

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DRAW_SCHEMA = {
    "event_id": pl.Utf8,
    "origin_pair": pl.Int64,
    "instrument_id": pl.Utf8,
    "event_at": pl.Datetime("us", "UTC"),
    "benchmark_id": pl.Utf8,
}


def placebo(
    con: duckdb.DuckDBPyConnection,
    spec: StudySpec,
    events: pl.DataFrame,
    targets: pl.DataFrame,
    pairs: pl.DataFrame,
    car: pl.DataFrame,
    geometry: Geometry,
    rows_of: Callable[[pl.DataFrame, Geometry], Rows],
    min_est: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The placebo p-values per (event, instrument, CAR window) and the draws behind them.

    No event falls inside a placebo's event window; rows_of(pairs, geometry) runs the study's
    alignment and model on the placebo pairs."""
    draws = _draws(con, spec, events, targets, geometry)
    if draws.height == 0:
        return empty_frame(PLACEBO_SCHEMA), empty_frame(PLACEBO_DRAW_SCHEMA)
    meta = {
        row["instrument_id"]: {"calendar": row["calendar"], "exchange_tz": row["exchange_tz"]}
        for row in pairs.select("instrument_id", "calendar", "exchange_tz")
        .unique()
        .iter_rows(named=True)
    }
    placebo_pairs = pairs_frame(
        draws.select("event_id", "instrument_id", "event_at", "benchmark_id"), meta
    )
    origin = draws.with_row_index("pair_id").select(pl.col("pair_id").cast(pl.Int64), "origin_pair")
    shifted = replace(geometry, dates=False, ld=None, td=None)
    rows = rows_of(placebo_pairs, shifted)
    good = rows.params.filter(pl.col("n_estimation").fill_null(0) >= min_est)["pair_id"]
    placebo_car = car_sums(rows.event, car_windows(spec, shifted))
    placebo_car = placebo_car.filter(pl.col("pair_id").is_in(good.to_list()))
    placebo_car = placebo_car.join(origin, on="pair_id").filter(pl.col("car").is_not_null())
    return _p_values(car, targets, placebo_car)


def _draws(
    con: duckdb.DuckDBPyConnection,
    spec: StudySpec,
    events: pl.DataFrame,
    targets: pl.DataFrame,
    geometry: Geometry,
) -> pl.DataFrame:
    """spec.placebo random instants per target pair inside its bars' span, clear of events."""
    rng = np.random.default_rng(spec.seed)
    coverage = query_frame(
        con,
        "select instrument_id, first_ts, last_ts from bar_coverage where timeframe = $tf",
        {"tf": geometry.timeframe},
    ).with_columns(pl.col("first_ts", "last_ts").cast(pl.Datetime("us", "UTC")))
    span = {r[0]: (r[1], r[2]) for r in coverage.iter_rows()}
    all_events = query_frame(con, "select event_at from events")["event_at"].to_list()
    blocked = np.sort(
        np.array(
            [_us(t) for t in itertools.chain(all_events, events["event_at"].to_list()) if t],
            dtype=np.int64,
        )
    )
    step_us = geometry.step_us
    # Trading-day offsets run faster than calendar days: keep clear by a factor for daily data.
    scale = 1.6 if geometry.daily else 1.0
    # Reject instants with any event inside their event window (the anchor included); events
    # inside the estimation window are what the confounders list reports.
    block_lo = int((geometry.t1 - 1) * scale) * step_us if geometry.t1 <= 0 else -step_us
    block_hi = int(geometry.t2 * scale) * step_us
    draws: list[dict] = []
    for pair in targets.iter_rows(named=True):  # one rng draw per pair: a few per study
        first_last = span.get(pair["instrument_id"])
        if first_last is None:
            continue
        start = _us(first_last[0]) - int(geometry.k_lo * scale) * step_us + step_us
        end = _us(first_last[1]) - int(geometry.k_hi * scale) * step_us
        if end <= start:
            continue
        candidates = rng.integers(start, end, size=spec.placebo * 8)
        left = np.searchsorted(blocked, candidates + min(block_lo, -step_us), side="left")
        right = np.searchsorted(blocked, candidates + max(block_hi, 0), side="right")
        kept = candidates[left == right][: spec.placebo]
        draws.extend(
            {
                "event_id": f"{pair['event_id']}#placebo{n}",
                "origin_pair": pair["pair_id"],
                "instrument_id": pair["instrument_id"],
                "event_at": _EPOCH + timedelta(microseconds=int(t)),
                "benchmark_id": pair["benchmark_id"],
            }
            for n, t in enumerate(kept)
        )
    return pl.DataFrame(draws, schema=_DRAW_SCHEMA)


def _p_values(
    car: pl.DataFrame, targets: pl.DataFrame, placebo_car: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each observed CAR against its placebo CARs: the p-value table and the draws' CARs."""
    observed = car.select("event_id", "instrument_id", "car_from", "car_to", "car").join(
        targets.select("pair_id", "event_id", "instrument_id"), on=["event_id", "instrument_id"]
    )
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
        .select(PLACEBO_DRAW_SCHEMA.keys())
        .sort("event_id", "instrument_id", "car_from", "car_to", "car")
        .cast(PLACEBO_DRAW_SCHEMA)
    )
    out = out.sort("event_id", "instrument_id", "car_from", "car_to")
    return out.select(PLACEBO_SCHEMA.keys()).cast(PLACEBO_SCHEMA), draw_cars


def _us(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // timedelta(microseconds=1)
