"""Result frames of a study (the columns and types declared in spec.py): AR paths, CARs with
their z-scores, the cross-sectional statistics per offset, confounding events, and notes."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import numpy as np
import polars as pl

from pipelines.analytics import stats as st
from pipelines.analytics.abnormal import Rows, positions
from pipelines.analytics.geometry import Geometry
from pipelines.analytics.spec import (
    AR_SCHEMA,
    CAR_SCHEMA,
    CONFOUNDER_SCHEMA,
    SUMMARY_SCHEMA,
    StudySpec,
    empty_frame,
)
from pipelines.analytics.sql_inputs import registered
from pipelines.store import load_sql, query_frame


def valid_count_notes(rows: Rows, targets: pl.DataFrame, geometry: Geometry) -> list[str]:
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


def ar_frame(event_rows: pl.DataFrame, targets: pl.DataFrame, timeframe: str) -> pl.DataFrame:
    """Per (event, instrument, offset) of the event window: price, return, expected, AR, CAR."""
    if not _in_pair_order(event_rows):  # the intraday engine hands them over in order
        event_rows = event_rows.sort("pair_id", "k")
    frame = event_rows.with_columns(
        pl.col("ar").fill_null(0.0).cum_sum().over("pair_id").alias("car")
    ).with_columns(pl.when(pl.col("ar").is_null()).then(None).otherwise(pl.col("car")).alias("car"))
    return (
        _with_target_ids(frame, targets)
        .select(
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
        )
        .select(AR_SCHEMA.keys())
        .cast(AR_SCHEMA)
    )


def _in_pair_order(rows: pl.DataFrame) -> bool:
    """Whether rows are sorted by (pair_id, k), each pair's offsets increasing."""
    pid, k = rows["pair_id"].to_numpy(), rows["k"].to_numpy()
    step = pid[1:] - pid[:-1]
    return bool(((step > 0) | ((step == 0) & (k[1:] > k[:-1]))).all())


def _with_target_ids(rows: pl.DataFrame, targets: pl.DataFrame) -> pl.DataFrame:
    """Rows of target pairs only, in their order, with each pair's event_id and instrument_id
    (a gather by pair id: an inner join that keeps the rows' order)."""
    at = positions(targets["pair_id"].to_numpy(), rows["pair_id"].to_numpy())
    keep = at >= 0
    if not keep.all():
        rows, at = rows.filter(pl.Series(keep)), at[keep]
    names = targets.select("event_id", "instrument_id")[pl.Series(at)]
    return rows.with_columns(names.get_columns())


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


def car_windows(spec: StudySpec, geometry: Geometry) -> list[tuple[int, int]]:
    """The requested CAR sub-windows, else the whole event window."""
    return list(spec.car_windows) or [(geometry.t1, geometry.t2)]


def car_sums(event_rows: pl.DataFrame, windows: list[tuple[int, int]]) -> pl.DataFrame:
    """CAR per (pair, sub-window): the sum of the event-window ARs over offsets [car_from,
    car_to] and how many were valid (pairs with none in a window: no row, or a null CAR)."""
    spans = pl.DataFrame(windows, schema=["car_from", "car_to"], orient="row")
    return (
        event_rows.select("pair_id", "k", "ar")
        .join(spans, how="cross")
        .filter(pl.col("k").is_between(pl.col("car_from"), pl.col("car_to")))
        .group_by("pair_id", "car_from", "car_to")
        .agg(
            pl.when(pl.col("ar").count() > 0).then(pl.col("ar").sum()).alias("car"),
            pl.col("ar").count().cast(pl.Int32).alias("n_valid"),
        )
    )


def car_frame(
    rows: Rows, targets: pl.DataFrame, windows: list[tuple[int, int]], timeframe: str
) -> pl.DataFrame:
    """Per (event, instrument, CAR window): CAR, valid bars, pre-event volatility, z-score."""
    car = car_sums(rows.event, windows)
    params = rows.params
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
    return frame.select(CAR_SCHEMA.keys()).cast(CAR_SCHEMA)


def _matrix(rows: pl.DataFrame, columns: pl.DataFrame, lo: int, hi: int, column: str) -> np.ndarray:
    """Offsets lo..hi × pairs matrix of `column` (NaN where missing); columns maps pair_id → col."""
    out = np.full((hi - lo + 1, columns.height), np.nan)
    if rows.height:
        at = positions(columns["pair_id"].to_numpy(), rows["pair_id"].to_numpy())
        cols = np.where(at >= 0, columns["col"].to_numpy().astype(np.int64)[at], -1)
        ks = rows["k"].to_numpy().astype(np.int64) - lo
        vals = rows[column].cast(pl.Float64).fill_null(np.nan).to_numpy()
        ok = (cols >= 0) & (ks >= 0) & (ks < out.shape[0])
        out.ravel()[ks[ok] * out.shape[1] + cols[ok]] = vals[ok]  # flat index: one scatter
    return out


def _event_matrices(rows: Rows, columns: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Event-window offsets and the AR and benchmark-return matrices (offsets × pairs in
    columns' order): the engine's own when it kept them, else built from the event rows."""
    held = rows.event_matrices
    if held is not None and (held := held.columns(columns["pair_id"].to_numpy())) is not None:
        return held.k, held.ar, held.mret
    ev_rows = rows.event
    ev_lo, ev_hi = int(ev_rows["k"].min()), int(ev_rows["k"].max())
    ev = _matrix(ev_rows, columns, ev_lo, ev_hi, "ar")
    mret = _matrix(ev_rows, columns, ev_lo, ev_hi, "mret")
    return np.arange(ev_lo, ev_hi + 1), ev, mret


def summary_frame(rows: Rows, targets: pl.DataFrame, model: str) -> pl.DataFrame:
    """Cross-section per event-window offset: mean AR, CAAR and all statistics with p-values."""
    if targets.height == 0:
        return empty_frame(SUMMARY_SCHEMA)
    columns = targets.select("pair_id").with_row_index("col")
    ev_rows = rows.event
    if ev_rows.height == 0:
        return empty_frame(SUMMARY_SCHEMA)
    # the estimation matrix's columns follow rows.params: put them in the targets' order
    col_of = {pid: j for j, pid in enumerate(rows.params["pair_id"].to_list())}
    est = rows.est_ar[:, [col_of[pid] for pid in targets["pair_id"].to_list()]]
    if est.shape[0] == 0:  # no estimation rows at all: one row of nothing, as the tests expect
        est = np.full((1, targets.height), np.nan)
    offsets, ev, mret = _event_matrices(rows, columns)
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
    return frame.filter(pl.col("n") > 0).select(SUMMARY_SCHEMA.keys()).cast(SUMMARY_SCHEMA)


def confounders(
    con: duckdb.DuckDBPyConnection, events: pl.DataFrame, geometry: Geometry
) -> pl.DataFrame:
    """Other events inside each event's windows (offsets in bars of the study's timeframe)."""
    con.complete()
    with registered(con, "_study_events_in", events):
        con.execute("create or replace temp table study_events as select * from _study_events_in")
    l1, l2, t1, t2 = geometry.l1, geometry.l2, geometry.t1, geometry.t2
    try:
        frame = query_frame(
            con,
            load_sql("study_confounders"),
            {"step_us": geometry.step_us, "l1": l1, "l2": l2, "t1": t1, "t2": t2},
        )
    finally:
        con.execute("drop table if exists temp.study_events")
    if frame.height == 0:
        return empty_frame(CONFOUNDER_SCHEMA)
    return (
        frame.with_columns(
            pl.col("other_event_at").cast(pl.Datetime("us", "UTC")), pl.col("offset").cast(pl.Int64)
        )
        .select(CONFOUNDER_SCHEMA.keys())
        .cast(CONFOUNDER_SCHEMA)
    )
