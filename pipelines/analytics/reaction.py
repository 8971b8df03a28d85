"""One event's market reaction: returns from P(t0) to P(t0 + h) at fixed horizons, with z-scores.

The Event page (dashboard/data.py) and the library (`tickerwire.Database.reaction`) both read it
from here, so the numbers a notebook prints are the ones the page shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from pipelines.schemas import TIMEFRAMES
from pipelines.store import load_sql, query_frame

HORIZONS: tuple[tuple[str, int], ...] = (
    ("+5m", 300),
    ("+15m", 900),
    ("+1h", 3600),
    ("+4h", 14_400),
    ("+1d", 86_400),
)
# A price older than this many bars of its timeframe is stale (DESIGN §4): the horizon is blank.
STALE_BARS = 2


def tf_seconds(timeframe: str) -> int:
    """Length of a timeframe in seconds."""
    return int(TIMEFRAMES[timeframe].total_seconds())


def finest_timeframes(coverage: pl.DataFrame) -> dict[str, str]:
    """Per instrument of a frame with instrument_id and timeframe (prices_coverage, the series
    near an event), its finest timeframe (what charts read)."""
    best: dict[str, str] = {}
    for inst, tf in coverage.select("instrument_id", "timeframe").iter_rows():
        if tf not in TIMEFRAMES:
            continue
        if inst not in best or tf_seconds(tf) < tf_seconds(best[inst]):
            best[inst] = tf
    return best


def group_by_timeframe(ids: Sequence[str], timeframes: Mapping[str, str]) -> dict[str, list[str]]:
    """The instruments of `ids` that have a timeframe, grouped by it (one query per group)."""
    groups: dict[str, list[str]] = {}
    for inst in ids:
        if inst in timeframes:
            groups.setdefault(timeframes[inst], []).append(inst)
    return groups


def returns_params(ids: Sequence[str], timeframe: str, t0: datetime) -> dict[str, Any]:
    """Bind parameters of sql/queries/events_returns.sql for instruments of one timeframe."""
    return {
        "ids": list(ids),
        "timeframe": timeframe,
        "tf_s": tf_seconds(timeframe),
        "t0": t0,
        "labels": [h for h, _ in HORIZONS],
        "secs": [s for _, s in HORIZONS],
        "max_h_s": max(s for _, s in HORIZONS) + tf_seconds(timeframe),
        "stale_bars": STALE_BARS,
    }


def with_significance(frame: pl.DataFrame) -> pl.DataFrame:
    """Add p_value (two-sided, from z), the Benjamini–Hochberg q_value over all the frame's
    tests, and the mark from q (pipelines.analytics.verdict: one significance rule everywhere)."""
    from pipelines.analytics import verdict  # scipy: loaded when a reaction is computed

    return verdict.with_q_marks(frame)


def event_returns(
    con: duckdb.DuckDBPyConnection,
    ids: Sequence[str],
    t0: datetime,
    finest: Mapping[str, str],
) -> pl.DataFrame:
    """Returns at +5m … +1d per instrument (on its finest timeframe) with z, p-value and stars."""
    groups = group_by_timeframe(ids, finest)
    sql = load_sql("queries/events_returns")
    parts = [query_frame(con, sql, returns_params(g, tf, t0)) for tf, g in groups.items()]
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame()
    return with_significance(pl.concat(parts, how="vertical_relaxed"))
