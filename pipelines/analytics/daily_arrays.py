"""Daily studies as array operations over all pairs at once: the trading-day grid (estudy2
convention), the benchmark pairing, then the model fit and AR of `abnormal.abnormal`.

The rule, per pair (event × instrument), stated in SQL in sql/queries/study_align_daily.sql and
study_paired.sql (a test holds these arrays to it):
- an instrument's own daily bars are its trading days, numbered in time order over its series;
- the event day (offset 0) is the first trading day dated on or after the event's date in the
  instrument's exchange time zone: a weekend or holiday event maps to the next session;
- r_k = ln close(day e+k) − ln close(day e+k−1): trading days follow one another, so no return
  bridges a closure, and a day without a bar is not a trading day of that instrument;
- windows are offsets (estimation [l1, l2], event [t1, t2], estimation first where they
  overlap) or calendar dates (a day's role by its date, k still counted in trading days);
- the benchmark's return is its return on the bar with the same timestamp among the bars of the
  benchmark's own grid for that event; Patell's m̄ and Σ(m − m̄)² come from the benchmark's own
  estimation days, whether or not the target traded on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from pipelines.analytics.abnormal import EVENT_ROW_SCHEMA, PARAM_SCHEMA, Rows, abnormal
from pipelines.analytics.geometry import Geometry
from pipelines.store import load_sql

_US_PER_DAY = 86_400_000_000
# One sorted key over every series: instrument number × _KEY + (local day + _KEY / 2), so one
# searchsorted finds any pair's event day whatever its instrument (days fit ±2^31).
_KEY = 1 << 32
# Target pairs per fit: pairs × cells temporaries of ~1,000 × 300 stay ~2 MB each.
_CHUNK_PAIRS = 1024


@dataclass(frozen=True)
class Series:
    """Every needed instrument's daily bars end to end, by instrument then time.

    Value arrays carry one trailing sentinel (NaN, or 0 for ts_us) so that position −1, "no
    bar", reads as missing without a mask. start/end: each instrument's [first, last + 1)."""

    ts_us: np.ndarray
    close: np.ndarray
    ret: np.ndarray
    day_key: np.ndarray  # no sentinel
    start: np.ndarray
    end: np.ndarray
    number: dict[str, int]


@dataclass(frozen=True)
class Layout:
    """Per pair: the span [lo, hi) of positions on its grid, and its cells (pairs × cells):
    positions (−1: no bar) and offsets, with the estimation and event columns marked."""

    lo: np.ndarray
    hi: np.ndarray
    pos: np.ndarray
    k: np.ndarray  # offset windows: one row, broadcast
    est: np.ndarray
    ev: np.ndarray


def daily_rows(
    con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame, geometry: Geometry, model: str
) -> Rows:
    """Every target pair on its trading days, paired with its benchmark, fitted, with its AR."""
    zones = dict(pairs.select("instrument_id", "exchange_tz").unique("instrument_id").iter_rows())
    series = read_series(con, zones, geometry.timeframe)
    number = pairs["instrument_id"].replace_strict(series.number, return_dtype=pl.Int64)
    event_day = local_days(pairs["t0"].dt.epoch("us").to_numpy(), pairs["exchange_tz"])
    inst = number.to_numpy()
    keys = inst * _KEY + event_day + _KEY // 2
    n_bars = len(series.day_key)
    day0 = np.searchsorted(series.day_key, keys, side="left")
    day0 = np.where((day0 < series.end[inst]) & (day0 < n_bars), day0, -1)
    layout = layout_cells(series, geometry, inst, day0)
    return _rows(series, pairs, layout, inst, model)


def read_series(con: duckdb.DuckDBPyConnection, zones: dict[str, str], timeframe: str) -> Series:
    """The whole daily series of each instrument in `zones` (instrument → exchange time zone)."""
    ids = sorted(zones)
    binds = {"instrument_ids": ids, "timeframe": timeframe}
    frame = pl.DataFrame(con.sql(load_sql("study_daily_bars"), params=binds))
    n = frame["i"].cast(pl.Int64).to_numpy() - 1
    ts = frame["ts_us"].cast(pl.Int64).to_numpy()
    close = frame["close"].cast(pl.Float64).to_numpy()
    numbers = np.arange(len(ids))
    start = np.searchsorted(n, numbers, side="left")
    end = np.searchsorted(n, numbers, side="right")
    day = local_days(ts, pl.Series([zones[i] for i in ids]).gather(n))
    with np.errstate(invalid="ignore", divide="ignore"):
        ln_close = np.log(np.where(close > 0, close, np.nan))
    ret = np.append(np.diff(ln_close, prepend=np.nan), np.nan)
    ret[start[start < end]] = np.nan  # an instrument's first bar has no return
    return Series(
        ts_us=np.append(ts, 0),
        close=np.append(close, np.nan),
        ret=ret,
        day_key=n * _KEY + day + _KEY // 2,
        start=start,
        end=end,
        number={name: j for j, name in enumerate(ids)},
    )


def local_days(ts_us: np.ndarray, zones: pl.Series) -> np.ndarray:
    """The date (days since 1970-01-01) of each instant in its own time zone."""
    ts_us = np.asarray(ts_us, dtype=np.int64)
    days = np.floor_divide(ts_us, _US_PER_DAY)  # UTC, the common case, without conversion
    for zone in zones.unique().to_list():
        if zone == "UTC":
            continue
        rows = (zones == zone).to_numpy()
        local = (
            pl.Series(ts_us[rows])
            .cast(pl.Datetime("us", "UTC"))
            .dt.convert_time_zone(zone)
            .dt.date()
            .cast(pl.Int64)
        )
        days[rows] = local.to_numpy()
    return days


def layout_cells(series: Series, geometry: Geometry, inst: np.ndarray, day0: np.ndarray) -> Layout:
    """Each pair's grid span and cells: offset windows on the columns k_lo … k_hi, date windows
    as each pair's estimation days then its event days (left-aligned, −1 pads)."""
    found = day0 >= 0
    start, end = series.start[inst], series.end[inst]
    if not geometry.dates:
        ks = np.arange(geometry.k_lo, geometry.k_hi + 1)
        pos = day0[:, None] + ks[None, :]
        pos = np.where(found[:, None] & (pos >= start[:, None]) & (pos < end[:, None]), pos, -1)
        est = (ks >= geometry.l1) & (ks <= geometry.l2)
        ev = (ks >= geometry.t1) & (ks <= geometry.t2) & ~est
        lo = np.where(found, np.maximum(day0 + geometry.k_lo, start), 0)
        hi = np.where(found, np.minimum(day0 + geometry.k_hi + 1, end), 0)
        return Layout(lo, hi, pos, ks[None, :], est, ev)
    binds = geometry.binds()  # the SQL statement's dates (1970-01-01 for a missing pair)
    ld1, ld2, td1, td2 = (_epoch_days(binds[name]) for name in ("ld1", "ld2", "td1", "td2"))
    base = inst * _KEY + _KEY // 2
    lo = np.searchsorted(series.day_key, base + min(ld1, td1), side="left")
    hi = np.searchsorted(series.day_key, base + max(ld2, td2), side="right")
    lo, hi = np.where(found, lo, 0), np.where(found, hi, 0)
    width = int((hi - lo).max(initial=0))
    pos = lo[:, None] + np.arange(width)[None, :]
    valid = pos < hi[:, None]
    pos = np.where(valid, pos, -1)
    day = np.where(valid, series.day_key[np.maximum(pos, 0)] - base[:, None], 0)
    is_est = valid & (day >= ld1) & (day <= ld2)
    is_ev = valid & ~is_est & (day >= td1) & (day <= td2)
    est_pos, ev_pos = _compact(pos, is_est), _compact(pos, is_ev)
    cells = np.hstack([est_pos, ev_pos])
    est = np.arange(cells.shape[1]) < est_pos.shape[1]
    return Layout(lo, hi, cells, cells - day0[:, None], est, ~est)


def _epoch_days(d) -> int:
    """Days since 1970-01-01 of a date."""
    return int(np.datetime64(d, "D").astype(np.int64))


def _compact(pos: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept positions of each row moved to its left, in order; −1 pads."""
    width = int(keep.sum(axis=1).max(initial=0))
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    kept = np.take_along_axis(keep, order, axis=1)
    return np.where(kept, np.take_along_axis(pos, order, axis=1), -1)


def _rows(
    series: Series, pairs: pl.DataFrame, layout: Layout, inst: np.ndarray, model: str
) -> Rows:
    """Pair each target with its benchmark, fit `model`, and hand the cells over as Rows;
    targets go in chunks, so the temporaries stay small and are reused."""
    targets = np.flatnonzero(pairs["is_target"].to_numpy())
    row_of = {pid: j for j, pid in enumerate(pairs["pair_id"].to_list())}
    bench = np.array(
        [row_of.get(b, -1) if b is not None else -1 for b in pairs["bench_pair_id"].to_list()],
        dtype=np.int64,
    )[targets]
    same_ts = _same_ts_maps(series, inst, targets, bench)
    est_cols, ev_cols = np.flatnonzero(layout.est), np.flatnonzero(layout.ev)
    est_ar = np.full((len(est_cols), len(targets)), np.nan)
    has_bar = np.zeros(len(est_cols), dtype=bool)  # estimation columns with any trading day
    fits, event_parts = [], []
    for s in range(0, len(targets), _CHUNK_PAIRS):
        rows, b = targets[s : s + _CHUNK_PAIRS], bench[s : s + _CHUNK_PAIRS]
        pos = layout.pos[rows]
        mret = benchmark_returns(series, layout, inst, b, pos, same_ts)
        fit = abnormal(series.ret[pos], mret, layout.est, model)
        est_ar[:, s : s + len(rows)] = fit.ar[:, est_cols].T
        est_bars = pos[:, est_cols] >= 0
        has_bar |= est_bars.any(axis=0)
        n_est = pl.Series(fit.n_estimation.astype(np.int64))
        fits.append((n_est.set(pl.Series(~est_bars.any(axis=1)), None), fit))
        event_parts.append(
            (pos[:, ev_cols], mret[:, ev_cols], fit.expected[:, ev_cols], fit.ar[:, ev_cols])
        )
    pair_ids = pairs["pair_id"].to_numpy()[targets]
    m_mean, m_sxx = benchmark_window(series, layout.pos, est_cols, bench)
    params = pl.DataFrame(
        {
            "pair_id": pair_ids,
            "n_estimation": pl.concat([n for n, _ in fits])
            if fits
            else pl.Series([], dtype=pl.Int64),
            **{
                name: np.concatenate([getattr(f, name) for _, f in fits]) if fits else np.empty(0)
                for name in ("alpha", "beta", "sigma")
            },
            "m_mean": m_mean,
            "m_sxx": m_sxx,
        }
    ).with_columns(pl.col("alpha", "beta", "m_mean", "m_sxx", "sigma").fill_nan(None))
    event = _event_frame(series, pair_ids, _cells_k(layout, targets, ev_cols), event_parts)
    if layout.k.shape[0] == 1:  # offset windows: the cells are the offsets already
        est_k = layout.k[0, est_cols]
        keep = np.zeros(len(est_cols), dtype=bool)
        if has_bar.any():  # from the first offset with a trading day to the last
            first, last = np.flatnonzero(has_bar)[[0, -1]]
            keep[first : last + 1] = True
        est_k, est_ar = est_k[keep].astype(np.int64), np.ascontiguousarray(est_ar[keep])
    else:
        est_pos = layout.pos[targets][:, est_cols]
        est_k, est_ar = _dated_estimation(est_pos, _cells_k(layout, targets, est_cols), est_ar)
    return Rows(event, params.select(list(PARAM_SCHEMA)).cast(PARAM_SCHEMA), est_ar, est_k)


def _cells_k(layout: Layout, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The offsets of some pairs' cells (offset windows: one row, broadcast, no copy)."""
    if layout.k.shape[0] == 1:
        return np.broadcast_to(layout.k[0, cols], (len(rows), len(cols)))
    return layout.k[rows][:, cols]


def benchmark_returns(
    series: Series,
    layout: Layout,
    inst: np.ndarray,
    bench: np.ndarray,
    pos: np.ndarray,
    same_ts: dict[int, np.ndarray],
) -> np.ndarray:
    """The benchmark's return at each target cell (rows: targets, with their benchmark pairs'
    rows in `bench`, −1 for none): on its bar with the same timestamp, when that bar is on the
    benchmark pair's own grid (span [lo, hi)); NaN otherwise."""
    out = np.full(pos.shape, np.nan)
    b_inst = np.where(bench >= 0, inst[np.maximum(bench, 0)], -1)
    for j, to_bench in same_ts.items():
        rows = np.flatnonzero(b_inst == j)
        if len(rows) == len(bench):  # one benchmark instrument: no row selection to copy
            rows = slice(None)
        bpos = to_bench[pos[rows]]  # −1 ("no bar") reads the trailing −1
        b = bench[rows][:, None]
        on_grid = (bpos >= layout.lo[b]) & (bpos < layout.hi[b])
        out[rows] = np.where(on_grid, series.ret[bpos], np.nan)
    return out


def _same_ts_maps(
    series: Series, inst: np.ndarray, targets: np.ndarray, bench: np.ndarray
) -> dict[int, np.ndarray]:
    """Per benchmark instrument j, the position of its bar with the same timestamp as each
    position of the instruments benchmarked on it (−1 elsewhere and at the trailing sentinel)."""
    maps = {}
    b_inst = np.where(bench >= 0, inst[np.maximum(bench, 0)], -1)
    for j in np.unique(b_inst[b_inst >= 0]).tolist():
        out = np.full(len(series.day_key) + 1, -1, dtype=np.int64)
        b_ts = series.ts_us[series.start[j] : series.end[j]]
        for i in np.unique(inst[targets[b_inst == j]]).tolist():
            ts = series.ts_us[series.start[i] : series.end[i]]
            at = np.searchsorted(b_ts, ts)
            hit = at < len(b_ts)
            hit[hit] = b_ts[at[hit]] == ts[hit]
            out[series.start[i] : series.end[i]] = np.where(hit, series.start[j] + at, -1)
        maps[j] = out
    return maps


def benchmark_window(
    series: Series, pos: np.ndarray, est_cols: np.ndarray, bench: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per target, its benchmark's mean return and Σ(m − m̄)² over the benchmark's own
    estimation days (NaN without a benchmark or without returns there). pos: every pair's
    cells; bench: each target's benchmark pair row (−1 for none)."""
    rows, of_target = np.unique(np.maximum(bench, 0), return_inverse=True)
    m = series.ret[pos[rows][:, est_cols]] if len(pos) else np.empty((0, len(est_cols)))
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.sum(~np.isnan(m), axis=1)
        total = np.nansum(m, axis=1)
        count = np.where(n > 0, n, np.nan)
        mean, sxx = total / count, np.nansum(m * m, axis=1) - total * total / count
    none = bench < 0
    return np.where(none, np.nan, mean[of_target]), np.where(none, np.nan, sxx[of_target])


def _event_frame(
    series: Series,
    pair_ids: np.ndarray,
    ks: np.ndarray,
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
) -> pl.DataFrame:
    """The event-window rows: one per trading day that exists, by pair and offset; parts are
    the chunks' (positions, benchmark return, expected, AR) matrices."""
    pos, mret, expected, ar = (
        np.concatenate([p[n] for p in parts]) if parts else np.empty(ks.shape) for n in range(4)
    )
    pos = pos.astype(np.int64)
    keep = pos >= 0
    at = pos[keep]
    with np.errstate(invalid="ignore"):
        price = np.where(series.close[at] > 0, series.close[at], np.nan)
    return (
        pl.DataFrame(
            {
                "pair_id": np.broadcast_to(pair_ids[:, None], pos.shape)[keep],
                "k": ks[keep],
                "grid_at": series.ts_us[at],
                "price": price,
                "ret": series.ret[at],
                "mret": mret[keep],
                "expected": expected[keep],
                "ar": ar[keep],
            }
        )
        .with_columns(
            pl.col("grid_at").cast(pl.Datetime("us", "UTC")),
            pl.col("price", "ret", "mret", "expected", "ar").fill_nan(None),
            pl.lit(None, pl.Datetime("us", "UTC")).alias("reopen_at"),
        )
        .cast(EVENT_ROW_SCHEMA)
    )


def _dated_estimation(
    pos: np.ndarray, ks: np.ndarray, cells_ar: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Date windows' estimation ARs as offsets × pairs, over the offsets from the first to the
    last that has a trading day; cells_ar: the estimation cells' ARs, cells × pairs."""
    keep = pos >= 0
    if not keep.any():
        return np.empty(0, np.int64), np.empty((0, len(pos)))
    k = ks[keep]
    lo, hi = int(k.min()), int(k.max())
    out = np.full((hi - lo + 1, len(pos)), np.nan)
    cols = np.broadcast_to(np.arange(len(pos))[:, None], pos.shape)[keep]
    out[k - lo, cols] = cells_ar.T[keep]
    return np.arange(lo, hi + 1, dtype=np.int64), out
