"""Price series made chart-sized and chosen well: bucket sizes, down-sampling, which timeframe to
read, per-series freshness. Pure functions of given frames (no database, no Streamlit)."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import polars as pl

from pipelines.analytics.reaction import tf_seconds
from pipelines.schemas import TIMEFRAMES

# Chart budgets (issue 7): at most this many candles, and this many points per line trace.
MAX_CANDLES = 2_000
MAX_LINE_POINTS = 4_000
# Lines are first re-bucketed in SQL to at most this many points, then MinMax-LTTB'd in Python.
LINE_PREBUCKET = 20_000


def bucket_seconds(base_s: int, start: datetime, end: datetime, max_buckets: int) -> int:
    """The smallest multiple of the bar size that cuts [start, end) into at most max_buckets."""
    total = max((end - start).total_seconds(), base_s)
    n = math.ceil(total / (base_s * max_buckets))
    return base_s * max(1, n)


def downsample_line(t_ms: np.ndarray, y: np.ndarray, n_out: int = MAX_LINE_POINTS) -> np.ndarray:
    """Indices of a MinMax-LTTB down-sample of (t_ms, y) to at most n_out points (all when fewer)."""
    if len(y) <= n_out:
        return np.arange(len(y))
    from tsdownsample import MinMaxLTTBDownsampler

    return MinMaxLTTBDownsampler().downsample(
        t_ms.astype(np.float64), y.astype(np.float64), n_out=n_out
    )


def downsample_frame(
    frame: pl.DataFrame, x: str, y: str, n_out: int = MAX_LINE_POINTS
) -> pl.DataFrame:
    """The rows of one series kept by downsample_line on columns x, y (in order)."""
    if frame.height <= n_out:
        return frame
    idx = downsample_line(frame[x].to_numpy(), frame[y].fill_nan(0).to_numpy(), n_out)
    return frame[np.sort(idx)]


def downsample_each(frame: pl.DataFrame, by: str, x: str, y: str) -> pl.DataFrame:
    """downsample_frame per value of column `by` (each trace within the budget), order kept."""
    parts = [
        downsample_frame(frame.filter(pl.col(by) == key), x, y)
        for key in frame[by].unique(maintain_order=True).to_list()
    ]
    return pl.concat(parts) if parts else frame


def timeframe_covering(coverage: pl.DataFrame, start: datetime, end: datetime) -> str | None:
    """Of one instrument's coverage rows, the timeframe covering most of [start, end] (the finer
    on a tie); None when no row overlaps it. A series may be 5-minute one year, hourly the next."""
    best: tuple[float, int, str] | None = None
    for tf, first, last in coverage.select("timeframe", "first_ts", "last_ts").iter_rows():
        if tf not in TIMEFRAMES:
            continue
        overlap = (min(last, end) - max(first, start)).total_seconds()
        key = (max(overlap, -1.0), -tf_seconds(tf), tf)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best is not None and best[0] >= 0 else None


def series_health(coverage: pl.DataFrame, gaps: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Per instrument and timeframe: rows, span, age of the newest bar in hours, recent gaps."""
    frame = coverage.join(gaps, on=["instrument_id", "timeframe"], how="left").with_columns(
        pl.col("n_gaps").fill_null(0),
        pl.col("missing_bars").fill_null(0),
        ((now.timestamp() - pl.col("last_ts").dt.epoch("s")) / 3600).round(1).alias("age_hours"),
    )
    return frame.select(
        "instrument_id",
        "timeframe",
        "n_bars",
        "first_ts",
        "last_ts",
        "age_hours",
        "n_gaps",
        "missing_bars",
        "longest_gap_bars",
        "longest_gap_after",
        "calendar",
    )
