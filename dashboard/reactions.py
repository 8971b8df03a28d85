"""Event reads for the pages: one event's reports, confounders, price paths and returns, the
biggest mover of each event, and event studies. Reads go through dashboard.data (the only door
to DuckDB); the rules live in pipelines.analytics (reaction, series, the study engine)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from dashboard.data import (
    cached,
    finest_timeframes,
    query,
    timeframes_near,
)
from dashboard.data import (
    config as page_config,
)
from pipelines import store
from pipelines.analytics import reaction, series
from pipelines.analytics.reaction import tf_seconds
from pipelines.errors import ConfigError, DataError, FeatureMissing, TickerwireError


@cached
def event_articles(db: str, event_id: str) -> pl.DataFrame:
    """The reports of an event, first report first."""
    return query(db, "news_event_articles", {"event_id": event_id})


@cached
def _confounders(db: str, event_id: str, t0: datetime, before_s: int, after_s: int) -> pl.DataFrame:
    return query(
        db,
        "events_confounders",
        {"event_id": event_id, "t0": t0, "before_s": before_s, "after_s": after_s},
    )


def _read_window(before_s: int, after_s: int, read: tuple[int, int] | None) -> tuple[int, int]:
    """The window to query: `read` (a page's widest window) when given, never narrower."""
    return (before_s, after_s) if read is None else (max(read[0], before_s), max(read[1], after_s))


def confounders(
    event_id: str, t0: datetime, before_s: int, after_s: int, *, read: tuple[int, int] | None = None
) -> pl.DataFrame:
    """Other events inside the window around t0. `read`: a wider window queried once and cut
    to this one, so switching between a page's windows is a cache hit, not a query."""
    rb, ra = _read_window(before_s, after_s, read)
    frame = _confounders(event_id, t0, rb, ra)
    if (rb, ra) == (before_s, after_s):
        return frame
    t0_us = int(t0.timestamp()) * 1_000_000 + t0.microsecond
    at_us = pl.col("event_at").dt.epoch("us")  # in µs: the column's time zone name may differ
    return frame.filter(at_us.is_between(t0_us - before_s * 1_000_000, t0_us + after_s * 1_000_000))


def _by_timeframe(ids: Sequence[str], t0: datetime | None = None) -> dict[str, list[str]]:
    """Group instruments by the timeframe to read: the finest around t0 when given, else overall."""
    tfs = finest_timeframes()
    if t0 is not None:
        tfs |= timeframes_near(t0)
    return reaction.group_by_timeframe(ids, tfs)


@cached
def _paths(
    db: str, ids: tuple[str, ...], timeframe: str, t0: datetime, before_s: int, after_s: int
) -> pl.DataFrame:
    tf_s = tf_seconds(timeframe)
    return query(
        db,
        "events_paths",
        {
            "ids": list(ids),
            "timeframe": timeframe,
            "tf_s": tf_s,
            "t0": t0,
            "before_s": before_s,
            "after_s": after_s,
            "anchor_s": max(3 * 86_400, 3 * tf_s),
            "stale_bars": reaction.STALE_BARS,
        },
    )


def event_paths(
    ids: Sequence[str],
    t0: datetime,
    before_s: int,
    after_s: int,
    *,
    read: tuple[int, int] | None = None,
) -> pl.DataFrame:
    """Price paths in event time (minutes), rebased to 0 % at P(t0); each trace ≤ 4,000 points.
    `read`: a wider window queried once and cut to this one (the bars of events_paths.sql:
    closing from t0 − before, opening before t0 + after), so a window change is a cache hit."""
    rb, ra = _read_window(before_s, after_s, read)
    t0_ms = int(t0.timestamp() * 1000)
    parts = []
    for timeframe, group in _by_timeframe(ids, t0).items():
        frame = _paths(tuple(group), timeframe, t0, rb, ra)
        if frame.height and (rb, ra) != (before_s, after_s):
            opens_before = t0_ms + 1000 * (after_s + tf_seconds(timeframe))  # close = open + bar
            frame = frame.filter(
                (pl.col("t_ms") >= t0_ms - 1000 * before_s) & (pl.col("t_ms") < opens_before)
            )
        if frame.height:
            parts.append(frame.with_columns(pl.lit(timeframe).alias("timeframe")))
    if not parts:
        return pl.DataFrame()
    frame = pl.concat(parts, how="vertical_relaxed")
    return series.downsample_each(frame, "instrument_id", "minutes", "ret_pct")


@cached
def _returns(db: str, ids: tuple[str, ...], timeframe: str, t0: datetime) -> pl.DataFrame:
    return query(db, "events_returns", reaction.returns_params(ids, timeframe, t0))


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
        "events_movers",
        {
            "event_ids": list(event_ids),
            "inst_ids": list(inst),
            "inst_tfs": list(tfs),
            "inst_tf_s": [tf_seconds(t) for t in tfs],
            "lo": lo,
            "hi": hi,
            "horizon_s": horizon_s,
            "stale_bars": reaction.STALE_BARS,
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


@dataclass(frozen=True)
class _StudyFailed:
    """A study the engine refused (kept in the cache like a result: the same spec fails the same
    way until the data changes, so a page rerun does not run it again)."""

    message: str


@cached
def _study(db: str, **spec_fields: Any) -> Any:
    try:
        from pipelines import analytics
    except ImportError as exc:
        raise FeatureMissing(f"the event-study engine cannot be imported: {exc}") from exc
    spec = analytics.StudySpec(**spec_fields)
    try:
        try:
            config = page_config()
        except ConfigError:
            config = None
        with store.reader(db) as con:  # the engine makes temp views: its own connection
            return analytics.run_study(con, spec, config)
    except NotImplementedError as exc:
        raise FeatureMissing(f"the event-study engine is not finished yet ({exc})") from exc
    except TickerwireError as exc:
        return _StudyFailed(str(exc))


def study(**spec_fields: Any) -> Any:
    """Run pipelines.analytics.run_study for a StudySpec (cached, failures too: DataError);
    FeatureMissing when the engine is not there."""
    result = _study(**spec_fields)
    if isinstance(result, _StudyFailed):
        raise DataError(result.message)
    return result
