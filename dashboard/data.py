"""The dashboard's only door to DuckDB: short-lived read-only connections, cached, Polars out.

Every query is a named file in sql/queries/ (named by area: prices_, events_, news_, ops_). Results are cached with st.cache_data
under a key that includes the data version (pipelines.store.data_version plus the file's
modification times), so a refresh that writes new rows shows up without restarting the app.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import streamlit as st

from pipelines import store, views
from pipelines.analytics import reaction, series
from pipelines.analytics.reaction import HORIZONS as HORIZONS  # the Event page's grid columns
from pipelines.errors import ConfigError, TickerwireError, named_first_line
from pipelines.errors import FeatureMissing as FeatureMissing  # the pages catch data.FeatureMissing
from pipelines.schemas import FAR_FUTURE as FAR_FUTURE
from pipelines.schemas import FAR_PAST as FAR_PAST

if TYPE_CHECKING:
    from pipelines.config import Config


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
    if getattr(_RUN, "active", False) and getattr(_RUN, "path", None):
        return _RUN.path  # read once per page run (loading the config takes ~8 ms)
    _RUN.path = _configured_db_path()
    return _RUN.path


def config() -> Config:
    """The configuration the pages read (as `load_config()` finds it), loaded once per page run
    (parsing and checking it takes ~8 ms); ConfigError when it cannot load."""
    from pipelines.config import load_config

    if not getattr(_RUN, "active", False):
        return load_config()
    if getattr(_RUN, "config", None) is None:
        _RUN.config = load_config()
    return _RUN.config


def _configured_db_path() -> str:
    try:
        return str(Path(config().db_path).resolve())
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


# One page run's shared read-only connection (see page_run); thread-local because Streamlit
# runs each session's script in its own thread.
_RUN = threading.local()


@contextmanager
def page_run() -> Iterator[None]:
    """Within this block the page's queries share one read-only connection, opened at the first
    query that misses the cache and closed at the end (opening the file costs ~12 ms a query),
    and the data key is read once. Still short-lived: a writer waits at most one page run."""
    if getattr(_RUN, "active", False):  # nested (a page inside a page): the outer run owns it
        yield
        return
    _RUN.active, _RUN.con, _RUN.db, _RUN.keys, _RUN.path = True, None, None, {}, None
    _RUN.config = None
    try:
        yield
    finally:
        con, _RUN.con, _RUN.active = _RUN.con, None, False
        if con is not None:
            con.close()


@contextmanager
def connection(db: str) -> Iterator[Any]:
    """The page run's shared connection when inside page_run, else a fresh short-lived one."""
    if not getattr(_RUN, "active", False):
        with store.reader(db) as con:
            yield con
        return
    if _RUN.con is None or _RUN.db != db:
        if _RUN.con is not None:
            _RUN.con.close()
        _RUN.con, _RUN.db = store.open_reader(db), db
    yield _RUN.con


@st.cache_data(show_spinner=False, max_entries=16)
def _version_for(db: str, stamp: tuple[int, int]) -> str:
    with connection(db) as con:
        return store.data_version(con)


def data_key(db: str | None = None) -> str:
    """The cache key of the data: run log version plus file times (changes after every write)."""
    db = db or db_path()
    keys = getattr(_RUN, "keys", None) if getattr(_RUN, "active", False) else None
    if keys is not None and db in keys:
        return keys[db]
    stamp = _file_stamp(db)
    if stamp[0] == 0:
        raise store.StoreError(
            f"database {db} does not exist; run `tickerwire demo` or `tickerwire refresh` first"
        )
    key = f"{_version_for(db, stamp)}@{stamp[0]}.{stamp[1]}"
    if keys is not None:
        keys[db] = key
    return key


# ---------------------------------------------------------------------------- cached query runner

_LOADERS: dict[str, Callable[..., Any]] = {}


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_call(name: str, db: str, version: str, args: tuple, kwargs: tuple) -> Any:
    # One cached entry point for every loader, so that cache keys never collide between them.
    return _LOADERS[name](db, *args, **dict(kwargs))


def cached(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Register a loader `fn(db, ...)`; callers get `fn(...)` cached on (db, data version, args)."""
    name = f"{fn.__module__}.{fn.__name__}"
    _LOADERS[name] = fn

    def call(*args: Any, **kwargs: Any) -> Any:
        db = db_path()
        return _cached_call(name, db, data_key(db), args, tuple(sorted(kwargs.items())))

    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    call.uncached = fn  # type: ignore[attr-defined]
    return call


def query(db: str, name: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run the named query sql/queries/NAME.sql read-only (the page run's connection, if any)."""
    with connection(db) as con:
        return store.query_frame(con, store.load_sql(name), params)


# ---------------------------------------------------------------------------- small facts


@cached
def meta(db: str) -> dict[str, str]:
    """The `meta` table as a dict (dataset = 'sample' for the bundled sample, 'synthetic' …)."""
    frame = query(db, "ops_meta")
    return dict(zip(frame["key"].to_list(), frame["value"].to_list(), strict=True))


@cached
def update_note(db: str) -> str | None:
    """How to bring the open database up to date when an older tickerwire wrote it (None: current)."""
    with connection(db) as con:
        return views.update_note(con)


def is_demo() -> bool:
    """True when the open database is synthetic (dataset 'synthetic', or 'demo' from older builds)."""
    return meta().get("dataset") in ("synthetic", "demo")


def is_sample() -> bool:
    """True when the open database was built from the bundled sample (`tickerwire demo`)."""
    return meta().get("dataset") == "sample"


def watchlist() -> list[str]:
    """Instrument ids of the configured watchlist, in order (empty if the config cannot load)."""
    try:
        return config().watchlist
    except (ConfigError, OSError):
        return []


@cached
def coverage(db: str) -> pl.DataFrame:
    """Per instrument and timeframe: n_bars, first_ts, last_ts (plus display fields)."""
    return query(db, "prices_coverage")


@cached
def instruments(db: str) -> pl.DataFrame:
    """Every instrument in the database with its display fields."""
    return query(db, "prices_instruments")


def finest_timeframes() -> dict[str, str]:
    """Per instrument, its finest stored timeframe (the one charts and studies read)."""
    return reaction.finest_timeframes(coverage())


def timeframe_for(instrument: str, start: datetime, end: datetime) -> str | None:
    """The timeframe to chart [start, end] with: the one covering most of it, the finer on a
    tie (pipelines.analytics.series), else the instrument's finest."""
    rows = coverage().filter(pl.col("instrument_id") == instrument)
    if rows.height == 0:
        return None
    return series.timeframe_covering(rows, start, end) or finest_timeframes().get(instrument)


def instruments_with_bars() -> list[str]:
    """Instruments that have bars, watchlist order first."""
    have = set(finest_timeframes())
    order = [i for i in watchlist() if i in have]
    return order + sorted(have - set(order))


@cached
def _series_near(db: str, lo: datetime, hi: datetime) -> pl.DataFrame:
    return query(db, "prices_series_near", {"lo": lo, "hi": hi})


def timeframes_near(t0: datetime, around: timedelta = timedelta(days=1)) -> dict[str, str]:
    """Per instrument with bars within `around` of t0, its finest timeframe there."""
    return reaction.finest_timeframes(_series_near(t0 - around, t0 + around))


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


# ---------------------------------------------------------------------------- events


@cached
def categories(db: str) -> pl.DataFrame:
    """Event categories and their counts."""
    return query(db, "events_categories")


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
        "events_search",
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
    frame = query(db, "events_one", {"event_id": event_id})
    return frame.row(0, named=True) if frame.height else None


# ---------------------------------------------------------------------------- news


@cached
def outlets(db: str) -> pl.DataFrame:
    """Outlets and their article counts."""
    return query(db, "news_outlets")


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
        "news_articles",
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


# ---------------------------------------------------------------------------- SQL console


def user_message(exc: Exception) -> str:
    """A one-line message for an error shown on a page."""
    if isinstance(exc, TickerwireError):
        return str(exc)
    return named_first_line(exc)
