"""The engine's array alignment run pair by pair, for tests that compare grid rows."""

from __future__ import annotations

import duckdb
import numpy as np
import polars as pl

from pipelines.analytics.abnormal import benchmark_returns
from pipelines.analytics.alignment import NO_TIME, Grid, align
from pipelines.analytics.intraday import BarReader


def grid_of(binds: dict) -> Grid:
    """The Grid that the SQL full rule's binds describe."""
    keys = ("step_us", "k_lo", "k_hi", "l1", "l2", "t1", "t2", "stale")
    return Grid(**{k: binds[k] for k in keys})


def array_paired(con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame, binds: dict) -> dict:
    """(pair, k) → (price, ret, mret, reopen_us) for the target pairs' estimation and event
    rows, as the engine computes them (None where missing)."""
    grid = grid_of(binds)
    frame = pairs.with_columns(pl.col("t0").dt.epoch("us").alias("t0_us"))
    reader = BarReader(con, binds["timeframe"], grid, frame)
    by_id = {r["pair_id"]: r for r in frame.iter_rows(named=True)}
    ks = grid.offsets()
    kept = np.flatnonzero(grid.estimation_columns() | grid.event_columns())
    out = {}
    for pair in frame.filter(pl.col("is_target")).iter_rows(named=True):
        t0 = np.array([pair["t0_us"]], dtype=np.int64)
        target = align(reader.bars(pair["instrument_id"]), t0, grid)
        bench = None
        if pair["bench_pair_id"] is not None:
            bench_pair = by_id[pair["bench_pair_id"]]
            bench = align(reader.bars(bench_pair["instrument_id"]), t0, grid)
        mret = benchmark_returns(target, bench)
        for c in kept:
            values = (target.price[0, c], target.ret[0, c], mret[0, c])
            reopen = int(target.reopen_at[0, c])
            out[(pair["pair_id"], int(ks[c]))] = (
                *(None if np.isnan(v) else float(v) for v in values),
                None if reopen == NO_TIME else reopen,
            )
    return out
