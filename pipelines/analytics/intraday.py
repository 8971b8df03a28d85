"""Intraday studies on the DuckDB store: read only the bar ranges the events need, then run the
array alignment (pipelines.analytics.alignment) instrument by instrument.

Each instrument's bars are read once, as a few range queries on sorted `ts` (zone maps skip
the rest of the table); its targets go through `abnormal.instrument_rows` in chunks of events,
so memory stays bounded however many events a study has.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import polars as pl

from pipelines.analytics.abnormal import (
    Rows,
    WindowPart,
    instrument_matrices,
    rows_frames,
    window_part,
)
from pipelines.analytics.alignment import Bars, Grid
from pipelines.store import load_sql

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ranges closer than this many bars are read as one query: re-reading a gap is cheaper than a
# query's fixed cost.
_MERGE_GAP_BARS = 100_000
# Instruments whose ranges fit in one window of at most this many bars are read by one query.
_BATCH_BARS = 50_000
# Events per alignment call: events × offsets matrices of ~1,000 × 1,800 cells stay ~15 MB each.
_CHUNK_EVENTS = 1024


def intraday_rows(
    con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame, grid: Grid, timeframe: str, model: str
) -> Rows:
    """AR rows of every target pair: pairs(pair_id, instrument_id, calendar, t0, bench_pair_id,
    is_target), one benchmark pair per (event, benchmark) among them."""
    pairs = pairs.with_columns(pl.col("t0").dt.epoch("us").alias("t0_us"))
    bench = pairs.filter(~pl.col("is_target")).select(
        pl.col("pair_id").alias("bench_pair_id"), pl.col("instrument_id").alias("bench_id")
    )
    targets = pairs.filter(pl.col("is_target")).join(bench, on="bench_pair_id", how="left")
    reader = BarReader(con, timeframe, grid, pairs)
    parts: list[WindowPart] = []
    pair_ids: list[np.ndarray] = []
    groups = targets.group_by(["instrument_id", "bench_id"], maintain_order=True)
    # an instrument's bars are let go after its last group (unless it is a benchmark), so
    # memory holds one instrument's bars at a time however long the series are
    keys = targets.select("instrument_id", "bench_id").unique(maintain_order=True)
    last_group = {str(i): n for n, i in enumerate(keys["instrument_id"].to_list())}
    benchmarks = set(targets["bench_id"].drop_nulls().to_list())
    for n, ((instrument_id, bench_id), group) in enumerate(groups):
        bars = reader.bars(str(instrument_id))
        bench_bars = reader.bars(str(bench_id)) if bench_id is not None else None
        for start in range(0, group.height, _CHUNK_EVENTS):
            chunk = group.slice(start, _CHUNK_EVENTS)
            t0_us = chunk["t0_us"].to_numpy()
            target, result = instrument_matrices(bars, bench_bars, t0_us, grid, model)
            parts.append(window_part(target, result, grid))
            pair_ids.append(chunk["pair_id"].to_numpy())
        if last_group[str(instrument_id)] == n and instrument_id not in benchmarks:
            reader.release(str(instrument_id))
    if not parts:
        return Rows.concat([], grid.offsets()[grid.estimation_columns()])
    # one set of frames for all instruments: building frames per instrument costs more
    return rows_frames(np.concatenate(pair_ids), grid, parts)


class BarReader:
    """Each instrument's bars around its pairs' grids, read once; each calendar's sessions.

    Instruments whose ranges all fall in one short window (a few events close in time, the
    dashboard's case) are read by one query; otherwise each instrument by its own range
    queries (no instrument name on every row of a large read)."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, timeframe: str, grid: Grid, pairs: pl.DataFrame
    ) -> None:
        self.con, self.timeframe, self.grid = con, timeframe, grid
        self.ranges = {
            str(i): _ranges(g["t0_us"].to_numpy(), grid)
            for (i,), g in pairs.group_by(["instrument_id"])
        }
        self.calendar_of = dict(
            pairs.select("instrument_id", "calendar").unique("instrument_id").iter_rows()
        )
        self.cache: dict[str, Bars] = {}
        self.sessions: dict[str, np.ndarray] = {}
        self.batch = _one_window(self.ranges, grid.step_us)

    def bars(self, instrument_id: str) -> Bars:
        """The instrument's bars covering every grid it appears on, with its calendar."""
        if instrument_id not in self.cache:
            if self.batch is not None and instrument_id in self.ranges:
                self._read_batch(*self.batch)
                self.batch = None
            else:
                self._read_one(instrument_id)
        return self.cache[instrument_id]

    def release(self, instrument_id: str) -> None:
        """Forget an instrument's bars (its last events are aligned)."""
        self.cache.pop(instrument_id, None)

    def _read_batch(self, lo: int, hi: int) -> None:
        ids = sorted(self.ranges)
        binds = {"instrument_ids": ids, "timeframe": self.timeframe, "lo": _at(lo), "hi": _at(hi)}
        frame = pl.DataFrame(self.con.sql(load_sql("study_bars_window"), params=binds))
        parts = frame.partition_by("i", as_dict=True)
        empty = frame.clear()
        for n, instrument_id in enumerate(ids, start=1):
            self._store(instrument_id, [parts.get((n,), empty)])

    def _read_one(self, instrument_id: str) -> None:
        ranges = self.ranges.get(instrument_id, [])
        sql = load_sql("study_bars")
        binds = {"instrument_id": instrument_id, "timeframe": self.timeframe}
        frames = [
            pl.DataFrame(self.con.sql(sql, params={**binds, "lo": _at(lo), "hi": _at(hi)}))
            for lo, hi in ranges
        ]
        self._store(instrument_id, frames)

    def _store(self, instrument_id: str, frames: list[pl.DataFrame]) -> None:
        calendar = self.calendar_of.get(instrument_id) or "24/7"
        on_sessions = calendar != "24/7"
        if on_sessions:  # the bar a price carried across a closure comes from (maybe days back)
            binds = {"instrument_id": instrument_id, "timeframe": self.timeframe}
            for lo, _hi in self.ranges.get(instrument_id, []):
                sql = load_sql("study_bar_before")
                frames.append(pl.DataFrame(self.con.sql(sql, params={**binds, "before": _at(lo)})))
        frames = [f.select("ts_us", "close") for f in frames if f.height]
        if not frames:
            ts, close = np.empty(0, np.int64), np.empty(0)
        else:
            frame = pl.concat(frames) if len(frames) > 1 else frames[0]
            ts = frame["ts_us"].cast(pl.Int64).to_numpy()
            close = frame["close"].cast(pl.Float64).to_numpy()
        if len(ts) > 1 and not (ts[1:] > ts[:-1]).all():
            # scans return storage order (time order as written); an anchor may repeat
            ts, first = np.unique(ts, return_index=True)
            close = close[first]
        sessions = self._sessions(calendar) if on_sessions else None
        self.cache[instrument_id] = Bars(ts, close, sessions)

    def _sessions(self, calendar: str) -> np.ndarray:
        if calendar not in self.sessions:
            frame = pl.DataFrame(
                self.con.sql(load_sql("study_sessions"), params={"calendar": calendar})
            )
            self.sessions[calendar] = (
                frame.select(pl.col("open_us", "close_us").cast(pl.Int64)).to_numpy().reshape(-1, 2)
            )
        return self.sessions[calendar]


def _one_window(ranges: dict[str, list[tuple[int, int]]], step: int) -> tuple[int, int] | None:
    """One short window (≤ _BATCH_BARS bars) covering every instrument's ranges, in which
    one query reads them all (a few events close in time: the dashboard's case); else None."""
    if not ranges or any(len(r) != 1 for r in ranges.values()):
        return None
    lo = min(r[0][0] for r in ranges.values())
    hi = max(r[0][1] for r in ranges.values())
    return (lo, hi) if (hi - lo) // step <= _BATCH_BARS else None


def _ranges(t0_us: np.ndarray, grid: Grid) -> list[tuple[int, int]]:
    """Merged [lo, hi] bar-open ranges (µs) that price every grid point of events at t0_us.

    A grid point is priced by the last bar opening at or before grid_at − Δ; on a 24/7 market a
    bar more than `stale` bars before the first point is stale for all of them, so the range
    starts there (a session calendar's older anchor is read separately)."""
    step = grid.step_us
    lo = np.sort(t0_us + (grid.k_lo - 1) * step - (grid.stale + 2) * step)
    hi = np.sort(t0_us + (grid.k_hi - 1) * step)  # same order as lo: the span is the same
    out: list[tuple[int, int]] = []
    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        if out and a <= out[-1][1] + _MERGE_GAP_BARS * step:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))
