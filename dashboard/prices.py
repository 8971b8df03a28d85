"""Price reads for the pages: the ticker strip, sparklines, candles and lines within the chart
budgets, bucket returns. Reads go through dashboard.data (the only door to DuckDB); what is
computed from them lives in pipelines.analytics (series, strip, correlation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from dashboard.data import (
    cached,
    coverage,
    finest_timeframes,
    instruments_with_bars,
    query,
    span,
    timeframe_for,
    watchlist,
)
from pipelines.analytics import correlation, series
from pipelines.analytics import strip as strip_rows
from pipelines.analytics.reaction import tf_seconds
from pipelines.analytics.series import LINE_PREBUCKET, MAX_CANDLES, MAX_LINE_POINTS, bucket_seconds


@cached
def _strip(db: str, order: tuple[str, ...], source: str | None) -> pl.DataFrame:
    return query(db, "prices_strip", {"order": list(order), "source": source})


@cached
def _strip_bars(
    db: str, ids: tuple[str, ...], tfs: tuple[str, ...], last: tuple[datetime, ...]
) -> pl.DataFrame:
    return query(
        db,
        "prices_strip_bars",
        {
            "ids": list(ids),
            "timeframes": list(tfs),
            "last_ts": list(last),
            "since": min(last) - timedelta(days=2),
        },
    )


@cached
def quote_sources(db: str) -> pl.DataFrame:
    """Quote sources with their newest capture time (a strip snapshot is one source)."""
    return query(db, "prices_quote_sources")


def strip(source: str | None = None) -> pl.DataFrame:
    """The ticker strip rows in watchlist order; watchlist ids missing from the db come unavailable.

    `source` picks one quote source (e.g. a strip snapshot); None takes the newest price of any.
    """
    order = watchlist()
    frame = _strip(tuple(order), source)
    if source is None:  # a strip snapshot shows only what it captured; otherwise fall back to bars
        frame = strip_rows.with_bar_prices(frame, _newest_bars(frame))
    return strip_rows.in_watchlist_order(frame, order)


def _newest_bars(quotes: pl.DataFrame) -> pl.DataFrame:
    """The newest bar close and 24 h change of the strip's instruments that have no quote."""
    tfs = finest_timeframes()
    unpriced = quotes.filter(pl.col("price").is_null())["instrument_id"].to_list()
    cov = coverage().filter(
        pl.col("instrument_id").is_in([i for i in unpriced if i in tfs])
        & (pl.col("timeframe") == pl.col("instrument_id").replace_strict(tfs, default=None))
    )
    if cov.height == 0:
        return pl.DataFrame()
    return _strip_bars(
        tuple(cov["instrument_id"]), tuple(cov["timeframe"]), tuple(cov["last_ts"].to_list())
    )


@cached
def bucket_closes(
    db: str,
    ids: tuple[str, ...],
    tfs: tuple[str, ...],
    since: datetime,
    end: datetime,
    bucket_s: int,
) -> pl.DataFrame:
    """Last close per bucket for each instrument in [since, end) (sparklines, correlations)."""
    return query(
        db,
        "prices_bucket_closes",
        {
            "inst_ids": list(ids),
            "inst_tfs": list(tfs),
            "start": since,
            "end": end,
            "bucket_s": bucket_s,
        },
    )


def watch_sparklines(days: int = 7, points: int = 168) -> pl.DataFrame:
    """The watchlist's last `days` of closes, `points` buckets each, ending at the newest bar."""
    tfs = finest_timeframes()
    ids = tuple(instruments_with_bars())
    whole = span(ids)
    if not ids or whole is None:
        return pl.DataFrame()
    end = whole[1] + timedelta(seconds=1)
    since = end - timedelta(days=days)
    return bucket_closes(
        ids, tuple(tfs[i] for i in ids), since, end, max(60, days * 86_400 // points)
    )


@cached
def _ohlc(
    db: str, instrument: str, timeframe: str, start: datetime, end: datetime, bucket_s: int
) -> pl.DataFrame:
    return query(
        db,
        "prices_ohlc",
        {
            "instrument": instrument,
            "timeframe": timeframe,
            "start": start,
            "end": end,
            "bucket_s": bucket_s,
        },
    )


@dataclass
class PriceFrame:
    """Chart-ready prices: the frame (t_ms + OHLC or close), the source timeframe and bucket size."""

    frame: pl.DataFrame
    timeframe: str
    bucket_s: int
    raw_points: int


def candles(
    instrument: str, start: datetime, end: datetime, max_candles: int = MAX_CANDLES
) -> PriceFrame | None:
    """OHLC re-bucketed in SQL (first/max/min/last) to at most `max_candles` candles."""
    return _bucketed(instrument, start, end, max_candles)


def line(
    instrument: str, start: datetime, end: datetime, n_out: int = MAX_LINE_POINTS
) -> PriceFrame | None:
    """Closes re-bucketed in SQL to ≤ 20k points, then MinMax-LTTB down-sampled to ≤ n_out."""
    got = _bucketed(instrument, start, end, LINE_PREBUCKET)
    if got is None:
        return None
    frame = series.downsample_frame(got.frame, "t_ms", "close", n_out)
    return PriceFrame(frame.select("t_ms", "close"), got.timeframe, got.bucket_s, got.raw_points)


def _bucketed(
    instrument: str, start: datetime, end: datetime, max_buckets: int
) -> PriceFrame | None:
    """The chart's timeframe for [start, end] and its bars re-bucketed to ≤ max_buckets."""
    timeframe = timeframe_for(instrument, start, end)
    if timeframe is None:
        return None
    bucket = bucket_seconds(tf_seconds(timeframe), start, end, max_buckets)
    frame = _ohlc(instrument, timeframe, start, end, bucket)
    raw = int(frame["n_bars"].sum()) if frame.height else 0
    return PriceFrame(frame, timeframe, bucket, raw)


def bucket_returns(
    ids: Sequence[str], start: datetime, end: datetime, bucket_s: int
) -> pl.DataFrame:
    """Wide frame t_ms × instrument of log returns between consecutive bucket closes."""
    tfs = finest_timeframes()
    ids = tuple(i for i in ids if i in tfs)
    if not ids:
        return pl.DataFrame()
    closes = bucket_closes(ids, tuple(tfs[i] for i in ids), start, end, bucket_s)
    return correlation.log_returns(closes, ids)
