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

from pipelines.analytics.abnormal import Rows, instrument_rows
from pipelines.analytics.alignment import Bars, Grid
from pipelines.store import load_sql

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ranges closer than this many bars are read as one query: re-reading a gap is cheaper than a
# query's fixed cost.
_MERGE_GAP_BARS = 100_000
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
    parts: list[Rows] = []
    for (instrument_id, bench_id), group in targets.group_by(
        ["instrument_id", "bench_id"], maintain_order=True
    ):
        bars = reader.bars(str(instrument_id))
        bench_bars = reader.bars(str(bench_id)) if bench_id is not None else None
        for start in range(0, group.height, _CHUNK_EVENTS):
            chunk = group.slice(start, _CHUNK_EVENTS)
            parts.append(
                instrument_rows(
                    bars,
                    bench_bars,
                    chunk["pair_id"].to_numpy(),
                    chunk["t0_us"].to_numpy(),
                    grid,
                    model,
                )
            )
    return Rows.concat(parts, grid.offsets()[grid.estimation_columns()])


class BarReader:
    """Each instrument's bars around its pairs' grids, read once; each calendar's sessions."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, timeframe: str, grid: Grid, pairs: pl.DataFrame
    ) -> None:
        self.con, self.timeframe, self.grid = con, timeframe, grid
        self.t0_of = {
            str(i): g["t0_us"].to_numpy() for (i,), g in pairs.group_by(["instrument_id"])
        }
        self.calendar_of = dict(
            pairs.select("instrument_id", "calendar").unique("instrument_id").iter_rows()
        )
        self.cache: dict[str, Bars] = {}
        self.sessions: dict[str, np.ndarray] = {}

    def bars(self, instrument_id: str) -> Bars:
        """The instrument's bars covering every grid it appears on, with its calendar."""
        if instrument_id not in self.cache:
            calendar = self.calendar_of.get(instrument_id) or "24/7"
            on_sessions = calendar != "24/7"
            parts = [
                self._read(instrument_id, lo, hi, anchor=on_sessions)
                for lo, hi in _ranges(self.t0_of[instrument_id], self.grid)
            ]
            ts = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
            close = np.concatenate([p[1] for p in parts]) if parts else np.empty(0)
            if len(ts) > 1 and not (np.diff(ts) > 0).all():
                # scans return storage order (time order as written); an anchor may repeat
                ts, first = np.unique(ts, return_index=True)
                close = close[first]
            self.cache[instrument_id] = Bars(
                ts, close, self._sessions(calendar) if on_sessions else None
            )
        return self.cache[instrument_id]

    def _read(
        self, instrument_id: str, lo: int, hi: int, *, anchor: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        binds = {"instrument_id": instrument_id, "timeframe": self.timeframe}
        frame = pl.DataFrame(
            self.con.sql(load_sql("study_bars"), params={**binds, "lo": _at(lo), "hi": _at(hi)})
        )
        if anchor:  # the bar a price carried across a closure comes from (may be days back)
            before = pl.DataFrame(
                self.con.sql(load_sql("study_bar_before"), params={**binds, "before": _at(lo)})
            )
            frame = pl.concat([before, frame])
        return (
            frame["ts_us"].cast(pl.Int64).to_numpy(),
            frame["close"].cast(pl.Float64).to_numpy(),
        )

    def _sessions(self, calendar: str) -> np.ndarray:
        if calendar not in self.sessions:
            frame = pl.DataFrame(
                self.con.sql(load_sql("study_sessions"), params={"calendar": calendar})
            )
            self.sessions[calendar] = (
                frame.select(pl.col("open_us", "close_us").cast(pl.Int64)).to_numpy().reshape(-1, 2)
            )
        return self.sessions[calendar]


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
