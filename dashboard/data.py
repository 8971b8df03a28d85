"""The dashboard's only door to DuckDB: short-lived read-only connections, cached, Polars out.

Every query is a named file in sql/queries/dash_*.sql. Results are cached with st.cache_data
under a key that includes the data version (pipelines.store.data_version plus the file's
modification times), so a refresh that writes new rows shows up without restarting the app.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import streamlit as st

from pipelines import store
from pipelines.analytics import reaction
from pipelines.analytics.reaction import HORIZONS as HORIZONS  # the Event page's grid columns
from pipelines.analytics.reaction import tf_seconds
from pipelines.errors import ConfigError, TickerwireError
from pipelines.schemas import TIMEFRAMES

# Chart budgets (issue 7): at most this many candles, and this many points per line trace.
MAX_CANDLES = 2_000
MAX_LINE_POINTS = 4_000
# Lines are first re-bucketed in SQL to at most this many points, then MinMax-LTTB'd in Python.
LINE_PREBUCKET = 20_000
FAR_PAST = datetime(1970, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)


class FeatureMissing(Exception):
    """A part of tickerwire the page needs is not available (not written yet, or failed)."""


# ---------------------------------------------------------------------------- where and which version


def db_path() -> str:
    """The database the dashboard reads: $TICKERWIRE_LAKE (lake mode), $TICKERWIRE_DB, else the
    config's [database].path."""
    lake = os.environ.get("TICKERWIRE_LAKE")
    if lake:
        return lake
    env = os.environ.get("TICKERWIRE_DB")
    if env:
        return str(Path(env).resolve())
    try:
        from pipelines.config import load_config

        return str(Path(load_config().db_path).resolve())
    except ConfigError:
        return str(store.default_db_path().resolve())


def _file_stamp(db: str) -> tuple[int, int]:
    """Modification times of the database file and its WAL (0 when absent); for a lake, its
    manifest's (rewritten by every export), 1 for a remote one (its version alone keys it)."""
    from pipelines import lake

    if lake.is_remote(db):
        return 1, 0
    stamps = []
    for path in (db, db + ".wal") if not Path(db).is_dir() else (f"{db}/{lake.MANIFEST}", ""):
        try:
            stamps.append(os.stat(path).st_mtime_ns)
        except FileNotFoundError:
            stamps.append(0)
    return stamps[0], stamps[1]


@st.cache_data(show_spinner=False, max_entries=16)
def _version_for(db: str, stamp: tuple[int, int]) -> str:
    with store.reader(db) as con:
        return store.data_version(con)


def data_key(db: str | None = None) -> str:
    """The cache key of the data: run log version plus file times (changes after every write)."""
    db = db or db_path()
    stamp = _file_stamp(db)
    if stamp[0] == 0:
        raise store.StoreError(
            f"database {db} does not exist; run `tickerwire demo` or `tickerwire refresh` first"
        )
    return f"{_version_for(db, stamp)}@{stamp[0]}.{stamp[1]}"


# ---------------------------------------------------------------------------- cached query runner

_LOADERS: dict[str, Callable[..., Any]] = {}


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(name: str, db: str, version: str, args: tuple, kwargs: tuple) -> Any:
    # One cached entry point for every loader, so that cache keys never collide between them.
    return _LOADERS[name](db, *args, **dict(kwargs))


def cached(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register a loader `fn(db, ...)`; callers get `fn(...)` cached on (db, data version, args)."""
    _LOADERS[fn.__name__] = fn

    def call(*args: Any, **kwargs: Any) -> Any:
        db = db_path()
        return _cached_call(fn.__name__, db, data_key(db), args, tuple(sorted(kwargs.items())))

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    call.uncached = fn  # type: ignore[attr-defined]
    return call


def query(db: str, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run the named query sql/queries/NAME.sql on a fresh read-only connection."""
    with store.reader(db) as con:
        return store.query_frame(con, store.load_sql(name), params)


# ---------------------------------------------------------------------------- small facts


@cached
def meta(db: str) -> dict[str, str]:
    """The `meta` table as a dict (dataset = 'sample' for the bundled sample, 'synthetic' …)."""
    frame = query(db, "dash_meta")
    return dict(zip(frame["key"].to_list(), frame["value"].to_list(), strict=True))


def is_demo() -> bool:
    """True when the open database is synthetic (dataset 'synthetic', or 'demo' from older builds)."""
    return meta().get("dataset") in ("synthetic", "demo")


def is_sample() -> bool:
    """True when the open database was built from the bundled sample (`tickerwire demo`)."""
    return meta().get("dataset") == "sample"


def watchlist() -> list[str]:
    """Instrument ids of the configured watchlist, in order (empty if the config cannot load)."""
    try:
        from pipelines.config import load_config

        return load_config().watchlist
    except (ConfigError, OSError):
        return []


@cached
def coverage(db: str) -> pl.DataFrame:
    """Per instrument and timeframe: n_bars, first_ts, last_ts (plus display fields)."""
    return query(db, "dash_coverage")


@cached
def instruments(db: str) -> pl.DataFrame:
    """Every instrument in the database with its display fields."""
    return query(db, "dash_instruments")


def finest_timeframes() -> dict[str, str]:
    """Per instrument, its finest stored timeframe (the one charts and studies read)."""
    return reaction.finest_timeframes(coverage())


def timeframe_for(instrument: str, start: datetime, end: datetime) -> str | None:
    """The timeframe to chart [start, end] with: the one covering most of it, the finer on a tie.

    An instrument may have 5-minute bars one year and hourly ones the next (the bundled sample
    does): its finest timeframe overall could have nothing in the range asked for.
    """
    rows = coverage().filter(pl.col("instrument_id") == instrument)
    best: tuple[float, int, str] | None = None
    for tf, first, last in rows.select("timeframe", "first_ts", "last_ts").iter_rows():
        if tf not in TIMEFRAMES:
            continue
        overlap = (min(last, end) - max(first, start)).total_seconds()
        key = (max(overlap, -1.0), -tf_seconds(tf), tf)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return None
    return best[2] if best[0] >= 0 else finest_timeframes().get(instrument)


def instruments_with_bars() -> list[str]:
    """Instruments that have bars, watchlist order first."""
    have = set(finest_timeframes())
    order = [i for i in watchlist() if i in have]
    return order + sorted(have - set(order))


@cached
def _series_near(db: str, lo: datetime, hi: datetime) -> pl.DataFrame:
    return query(db, "dash_instruments_near", {"lo": lo, "hi": hi})


def timeframes_near(t0: datetime, around: timedelta = timedelta(days=1)) -> dict[str, str]:
    """Per instrument with bars within `around` of t0, its finest timeframe there."""
    best: dict[str, str] = {}
    for inst, tf in _series_near(t0 - around, t0 + around).iter_rows():
        if tf in TIMEFRAMES and (inst not in best or tf_seconds(tf) < tf_seconds(best[inst])):
            best[inst] = tf
    return best


def instruments_near(t0: datetime, around: timedelta = timedelta(days=1)) -> list[str]:
    """Instruments with bars within `around` of t0 (the ones an event page can chart)."""
    return list(timeframes_near(t0, around))


def without_bars() -> pl.DataFrame:
    """Instruments marked unavailable, with the reason (e.g. 'no bars in the bundled sample')."""
    return instruments().filter(~pl.col("available")).select("instrument_id", "unavailable_reason")


def span(instrument_ids: Sequence[str] | None = None) -> tuple[datetime, datetime] | None:
    """First and last bar time over the given instruments (all when None); None without bars."""
    cov = coverage()
    if instrument_ids is not None:
        cov = cov.filter(pl.col("instrument_id").is_in(list(instrument_ids)))
    if cov.height == 0:
        return None
    return cov["first_ts"].min(), cov["last_ts"].max()


# ---------------------------------------------------------------------------- overview


@cached
def _strip(db: str, order: tuple[str, ...], source: str | None) -> pl.DataFrame:
    return query(db, "dash_strip", {"order": list(order), "source": source})


@cached
def _strip_bars(
    db: str, ids: tuple[str, ...], tfs: tuple[str, ...], last: tuple[datetime, ...]
) -> pl.DataFrame:
    return query(
        db,
        "dash_strip_bars",
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
    return query(db, "dash_quote_sources")


def strip(source: str | None = None) -> pl.DataFrame:
    """The ticker strip rows in watchlist order; watchlist ids missing from the db come unavailable.

    `source` picks one quote source (e.g. a strip snapshot); None takes the newest price of any.
    """
    order = watchlist()
    frame = _strip(tuple(order), source)
    if source is None:  # a strip snapshot shows only what it captured; otherwise fall back to bars
        frame = _with_bar_prices(frame)
    missing = [i for i in order if i not in set(frame["instrument_id"].to_list())]
    if missing:
        extra = pl.DataFrame(
            {
                "instrument_id": missing,
                "available": [False] * len(missing),
                "unavailable_reason": ["not in the database"] * len(missing),
            }
        )
        frame = pl.concat([frame, extra], how="diagonal_relaxed")
        pos = {inst: n for n, inst in enumerate(order)}
        frame = (
            frame.with_columns(
                pl.col("instrument_id").replace_strict(pos, default=len(pos)).alias("_pos")
            )
            .sort("_pos", maintain_order=True)
            .drop("_pos")
        )
    return frame


def _with_bar_prices(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill instruments that have no quote with the newest bar close and its 24 h change."""
    tfs = finest_timeframes()
    need = [
        i for i in frame.filter(pl.col("price").is_null())["instrument_id"].to_list() if i in tfs
    ]
    if not need:
        return frame
    cov = coverage().filter(pl.col("instrument_id").is_in(need))
    cov = cov.filter(
        pl.col("timeframe") == pl.col("instrument_id").replace_strict(tfs, default=None)
    )
    bars = _strip_bars(
        tuple(cov["instrument_id"]), tuple(cov["timeframe"]), tuple(cov["last_ts"].to_list())
    )
    if bars.height == 0:
        return frame
    filled = frame.join(bars, on="instrument_id", how="left", suffix="_bar")
    return filled.with_columns(
        pl.coalesce("price", "price_bar").alias("price"),
        pl.when(pl.col("price").is_null())
        .then(pl.col("change_pct_bar"))
        .otherwise(pl.col("change_pct"))
        .alias("change_pct"),
        pl.coalesce("priced_at", "priced_at_bar").alias("priced_at"),
        pl.when(pl.col("price").is_null() & pl.col("price_bar").is_not_null())
        .then(pl.lit("bars"))
        .otherwise(pl.col("priced_from"))
        .alias("priced_from"),
    ).drop("price_bar", "change_pct_bar", "priced_at_bar")


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
        "dash_bucket_closes",
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


# ---------------------------------------------------------------------------- prices


def bucket_seconds(base_s: int, start: datetime, end: datetime, max_buckets: int) -> int:
    """The smallest multiple of the bar size that cuts [start, end) into at most max_buckets."""
    total = max((end - start).total_seconds(), base_s)
    n = math.ceil(total / (base_s * max_buckets))
    return base_s * max(1, n)


@cached
def _ohlc(
    db: str, instrument: str, timeframe: str, start: datetime, end: datetime, bucket_s: int
) -> pl.DataFrame:
    return query(
        db,
        "dash_ohlc",
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
    timeframe = timeframe_for(instrument, start, end)
    if timeframe is None:
        return None
    bucket = bucket_seconds(tf_seconds(timeframe), start, end, max_candles)
    frame = _ohlc(instrument, timeframe, start, end, bucket)
    raw = int(frame["n_bars"].sum()) if frame.height else 0
    return PriceFrame(frame, timeframe, bucket, raw)


def downsample_line(t_ms: np.ndarray, y: np.ndarray, n_out: int = MAX_LINE_POINTS) -> np.ndarray:
    """Indices of a MinMax-LTTB down-sample of (t_ms, y) to at most n_out points (all when fewer)."""
    if len(y) <= n_out:
        return np.arange(len(y))
    from tsdownsample import MinMaxLTTBDownsampler

    return MinMaxLTTBDownsampler().downsample(
        t_ms.astype(np.float64), y.astype(np.float64), n_out=n_out
    )


def line(
    instrument: str, start: datetime, end: datetime, n_out: int = MAX_LINE_POINTS
) -> PriceFrame | None:
    """Closes re-bucketed in SQL to ≤ 20k points, then MinMax-LTTB down-sampled to ≤ n_out."""
    timeframe = timeframe_for(instrument, start, end)
    if timeframe is None:
        return None
    bucket = bucket_seconds(tf_seconds(timeframe), start, end, LINE_PREBUCKET)
    frame = _ohlc(instrument, timeframe, start, end, bucket)
    raw = int(frame["n_bars"].sum()) if frame.height else 0
    if frame.height > n_out:
        idx = downsample_line(frame["t_ms"].to_numpy(), frame["close"].to_numpy(), n_out)
        frame = frame[np.sort(idx)]
    return PriceFrame(frame.select("t_ms", "close"), timeframe, bucket, raw)


# ---------------------------------------------------------------------------- events


@cached
def categories(db: str) -> pl.DataFrame:
    """Event categories and their counts."""
    return query(db, "dash_categories")


@cached
def events(
    db: str,
    words: tuple[str, ...] = (),
    category: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    instrument: str | None = None,
    limit: int = 200,
) -> pl.DataFrame:
    """Events matching all words (title), category, span and instrument; newest first."""
    return query(
        db,
        "dash_events",
        {
            "words": list(words),
            "category": category,
            "start": start or FAR_PAST,
            "end": end or FAR_FUTURE,
            "instrument": instrument,
            "limit": limit,
        },
    )


@cached
def event(db: str, event_id: str) -> dict[str, Any] | None:
    """One event as a dict (with `instruments`, its linked instrument ids), or None."""
    frame = query(db, "dash_event", {"event_id": event_id})
    return frame.row(0, named=True) if frame.height else None


@cached
def event_articles(db: str, event_id: str) -> pl.DataFrame:
    """The reports of an event, first report first."""
    return query(db, "dash_event_articles", {"event_id": event_id})


@cached
def confounders(db: str, event_id: str, t0: datetime, before_s: int, after_s: int) -> pl.DataFrame:
    """Other events inside the window around t0."""
    return query(
        db,
        "dash_confounders",
        {"event_id": event_id, "t0": t0, "before_s": before_s, "after_s": after_s},
    )


def _by_timeframe(ids: Sequence[str], t0: datetime | None = None) -> dict[str, list[str]]:
    """Group instruments by the timeframe to read: the finest around t0 when given, else overall."""
    tfs = finest_timeframes()
    if t0 is not None:
        tfs |= timeframes_near(t0)
    groups: dict[str, list[str]] = {}
    for inst in ids:
        if inst in tfs:
            groups.setdefault(tfs[inst], []).append(inst)
    return groups


@cached
def _paths(
    db: str, ids: tuple[str, ...], timeframe: str, t0: datetime, before_s: int, after_s: int
) -> pl.DataFrame:
    tf_s = tf_seconds(timeframe)
    return query(
        db,
        "dash_event_paths",
        {
            "ids": list(ids),
            "timeframe": timeframe,
            "tf_s": tf_s,
            "t0": t0,
            "before_s": before_s,
            "after_s": after_s,
            "anchor_s": max(3 * 86_400, 3 * tf_s),
        },
    )


def event_paths(ids: Sequence[str], t0: datetime, before_s: int, after_s: int) -> pl.DataFrame:
    """Price paths in event time (minutes), rebased to 0 % at P(t0); each trace ≤ 4,000 points."""
    parts = []
    for timeframe, group in _by_timeframe(ids, t0).items():
        frame = _paths(tuple(group), timeframe, t0, before_s, after_s)
        if frame.height:
            parts.append(frame.with_columns(pl.lit(timeframe).alias("timeframe")))
    if not parts:
        return pl.DataFrame()
    frame = pl.concat(parts, how="vertical_relaxed")
    out = []
    for inst in frame["instrument_id"].unique(maintain_order=True).to_list():
        part = frame.filter(pl.col("instrument_id") == inst)
        if part.height > MAX_LINE_POINTS:
            idx = downsample_line(part["minutes"].to_numpy(), part["ret_pct"].to_numpy())
            part = part[np.sort(idx)]
        out.append(part)
    return pl.concat(out)


@cached
def _returns(db: str, ids: tuple[str, ...], timeframe: str, t0: datetime) -> pl.DataFrame:
    return query(db, "dash_event_returns", reaction.returns_params(ids, timeframe, t0))


def event_returns(ids: Sequence[str], t0: datetime) -> pl.DataFrame:
    """Returns at +5m … +1d per instrument with z-score, p-value, Benjamini–Hochberg q over all
    the returned tests, and the mark from q (pipelines.analytics.reaction)."""
    parts = [_returns(tuple(g), tf, t0) for tf, g in _by_timeframe(ids, t0).items()]
    parts = [p for p in parts if p.height]
    if not parts:
        return pl.DataFrame()
    return reaction.with_significance(pl.concat(parts, how="vertical_relaxed"))


@cached
def _movers(
    db: str,
    event_ids: tuple[str, ...],
    inst: tuple[str, ...],
    tfs: tuple[str, ...],
    lo: datetime,
    hi: datetime,
    horizon_s: int,
) -> pl.DataFrame:
    return query(
        db,
        "dash_event_movers",
        {
            "event_ids": list(event_ids),
            "inst_ids": list(inst),
            "inst_tfs": list(tfs),
            "inst_tf_s": [tf_seconds(t) for t in tfs],
            "lo": lo,
            "hi": hi,
            "horizon_s": horizon_s,
        },
    )


def event_movers(ev: pl.DataFrame, horizon_s: int = 3600) -> pl.DataFrame:
    """For each event of `ev` (event_id, event_at): its biggest mover from t0 to t0 + horizon.

    Each instrument is read on its finest timeframe around the event (a series may be 5-minute
    one year and hourly the next); bars longer than the horizon cannot show the move and are
    left out.
    """
    empty = pl.DataFrame(
        schema={"event_id": pl.Utf8, "top_instrument": pl.Utf8, "top_ret_pct": pl.Float64}
    )
    if ev.height == 0 or not finest_timeframes():
        return empty
    groups: dict[tuple[tuple[str, str], ...], list[tuple[str, datetime]]] = {}
    for event_id, t0 in ev.select("event_id", "event_at").iter_rows():
        near = timeframes_near(t0) or finest_timeframes()
        key = tuple(sorted((i, tf) for i, tf in near.items() if tf_seconds(tf) <= horizon_s))
        if key:
            groups.setdefault(key, []).append((event_id, t0))
    parts = []
    for key, members in groups.items():
        inst, tfs = tuple(i for i, _ in key), tuple(tf for _, tf in key)
        longest = max(tf_seconds(t) for t in tfs)
        times = [t0 for _, t0 in members]
        lo = min(times) - timedelta(seconds=3 * longest + 86_400)
        hi = max(times) + timedelta(seconds=horizon_s + longest)
        parts.append(_movers(tuple(e for e, _ in members), inst, tfs, lo, hi, horizon_s))
    parts = [p for p in parts if p.height]
    return pl.concat(parts, how="vertical_relaxed") if parts else empty


# ---------------------------------------------------------------------------- correlations


def bucket_returns(
    ids: Sequence[str], start: datetime, end: datetime, bucket_s: int
) -> pl.DataFrame:
    """Wide frame t_ms × instrument of log returns between consecutive bucket closes."""
    tfs = finest_timeframes()
    ids = tuple(i for i in ids if i in tfs)
    if not ids:
        return pl.DataFrame()
    long = bucket_closes(ids, tuple(tfs[i] for i in ids), start, end, bucket_s)
    if long.height == 0:
        return pl.DataFrame()
    wide = long.pivot(on="instrument_id", index="t_ms", values="close").sort("t_ms")
    present = [i for i in ids if i in wide.columns]
    return wide.select("t_ms", *[pl.col(i).log().diff().alias(i) for i in present]).slice(1)


def correlation_matrix(returns: pl.DataFrame) -> pl.DataFrame:
    """Pairwise Pearson correlation of the return columns (pairwise-complete observations)."""
    cols = [c for c in returns.columns if c != "t_ms"]
    rows = []
    for a in cols:
        row: dict[str, Any] = {"instrument_id": a}
        for b in cols:
            if a == b:
                row[b] = 1.0
                continue
            pair = returns.select(a, b).drop_nulls().drop_nans()
            row[b] = pair.select(pl.corr(a, b)).item() if pair.height > 2 else None
        rows.append(row)
    return pl.DataFrame(rows, schema={"instrument_id": pl.Utf8, **dict.fromkeys(cols, pl.Float64)})


def rolling_correlation(returns: pl.DataFrame, a: str, b: str, window: int) -> pl.DataFrame:
    """Rolling Pearson correlation of columns a and b over `window` buckets (t_ms, corr)."""
    frame = returns.select("t_ms", a, b).drop_nulls()
    if frame.height < window:
        return pl.DataFrame(schema={"t_ms": pl.Int64, "corr": pl.Float64})
    out = frame.select(
        "t_ms", pl.rolling_corr(pl.col(a), pl.col(b), window_size=window).alias("corr")
    ).drop_nulls()
    if out.height > MAX_LINE_POINTS:
        idx = downsample_line(out["t_ms"].to_numpy(), out["corr"].fill_nan(0).to_numpy())
        out = out[np.sort(idx)]
    return out


# ---------------------------------------------------------------------------- news


@cached
def outlets(db: str) -> pl.DataFrame:
    """Outlets and their article counts."""
    return query(db, "dash_outlets")


@cached
def articles(
    db: str,
    words: tuple[str, ...] = (),
    outlet: str | None = None,
    category: str | None = None,
    instrument: str | None = None,
    sentiment: tuple[float, float] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 200,
) -> pl.DataFrame:
    """Articles matching the filters, newest first, with the event each belongs to."""
    lo, hi = sentiment if sentiment is not None else (None, None)
    return query(
        db,
        "dash_articles",
        {
            "words": list(words),
            "outlet": outlet,
            "category": category,
            "instrument": instrument,
            "min_sentiment": lo,
            "max_sentiment": hi,
            "start": start or FAR_PAST,
            "end": end or FAR_FUTURE,
            "limit": limit,
        },
    )


# ---------------------------------------------------------------------------- data health


@cached
def health_runs(db: str) -> pl.DataFrame:
    """Per source: newest run, its status and errors, and the last 7 days' failures."""
    return query(db, "dash_health_runs")


@cached
def health_rejects(db: str) -> pl.DataFrame:
    """Refused input per source and reason."""
    return query(db, "dash_health_rejects")


@cached
def _gaps(db: str, since: datetime) -> pl.DataFrame:
    return query(
        db,
        "dash_health_gaps",
        {"tfs": list(TIMEFRAMES), "tf_secs": [tf_seconds(t) for t in TIMEFRAMES], "since": since},
    )


def health_instruments(gap_days: int = 7) -> pl.DataFrame:
    """Per instrument and timeframe: rows, span, freshness (age of the newest bar) and recent gaps."""
    cov = coverage()
    if cov.height == 0:
        return cov
    newest = cov["last_ts"].max()
    gaps = _gaps(newest - timedelta(days=gap_days))
    now = datetime.now(UTC)
    frame = cov.join(gaps, on=["instrument_id", "timeframe"], how="left").with_columns(
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


@cached
def source_freshness(db: str) -> pl.DataFrame:
    """The ops freshness report (pipelines.health.freshness); FeatureMissing when absent."""
    try:
        from pipelines import health
    except ImportError as exc:
        raise FeatureMissing(f"pipelines.health cannot be imported: {exc}") from exc
    fn = getattr(health, "freshness", None)
    if fn is None:
        raise FeatureMissing("pipelines.health has no freshness() function yet")
    try:
        with store.reader(db) as con:
            result = fn(con)
    except NotImplementedError as exc:
        raise FeatureMissing(f"pipelines.health.freshness: {exc}") from exc
    return result if isinstance(result, pl.DataFrame) else pl.DataFrame(result)


# ---------------------------------------------------------------------------- studies


@cached
def study(db: str, **spec_fields: Any) -> Any:
    """Run pipelines.analytics.run_study for a StudySpec; FeatureMissing when the engine is not there."""
    try:
        from pipelines import analytics
    except ImportError as exc:
        raise FeatureMissing(f"the event-study engine cannot be imported: {exc}") from exc
    spec = analytics.StudySpec(**spec_fields)
    try:
        config = None
        try:
            from pipelines.config import load_config

            config = load_config()
        except ConfigError:
            config = None
        with store.reader(db) as con:
            return analytics.run_study(con, spec, config)
    except NotImplementedError as exc:
        raise FeatureMissing(f"the event-study engine is not finished yet ({exc})") from exc


# ---------------------------------------------------------------------------- SQL console


@cached
def schema(db: str) -> pl.DataFrame:
    """Tables and views with their columns, for the SQL console's schema browser."""
    return query(db, "dash_schema")


def run_console(sql: str, *, timeout_s: float = 5.0, row_cap: int = 10_000) -> Any:
    """Run a user's query in the sandbox (never cached: each run is the user's explicit request)."""
    from dashboard.sandbox import run_sandboxed

    return run_sandboxed(db_path(), sql, timeout_s=timeout_s, row_cap=row_cap)


def user_message(exc: Exception) -> str:
    """A one-line message for an error shown on a page."""
    if isinstance(exc, TickerwireError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


# ---------------------------------------------------------------------------- alerts


def alert_rules() -> pl.DataFrame:
    """The configured [[alerts]] rules: name, kind, condition, cooldown, target variable and
    whether it is set (the URLs themselves are secrets and never shown)."""
    from pipelines.alerts import rules_frame, rules_from_config
    from pipelines.config import load_config

    frame = rules_frame(rules_from_config(load_config()))
    return frame.with_columns((pl.col("targets") > 0).alias("targets_set")).drop("targets")


@cached
def alert_history(db: str, limit: int = 200) -> pl.DataFrame:
    """Alerts fired, newest first (sql/queries/alert_history.sql); FeatureMissing on a file
    written before alerts existed (migration 0080 runs on the next write)."""
    with store.reader(db) as con:
        has = con.execute(
            "select count(*) from duckdb_tables() where table_name = 'alerts'"
        ).fetchall()[0][0]
        if not has:
            raise FeatureMissing("no alerts table yet: the next refresh or import creates it")
        return store.query_frame(
            con, store.load_sql("queries/alert_history"), {"rule": None, "limit": limit}
        )
