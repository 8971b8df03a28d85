"""Data health: which sources and instruments are stale, per their cadence and trading sessions.

`source_health(con)` summarises the run log per source; `freshness(con, config, now)` flags
  * a source as stale when its last successful run is older than `grace` × its schedule
    cadence (a source that never succeeded is stale too), and
  * an instrument as stale when the market was OPEN for longer than its limit since its newest
    bar close or quote (closed-market time does not count: gold is not stale on a Saturday).
`tickerwire status --stale`, `tickerwire health` and the dashboard's Data health page all
read these two functions.

Config (`[freshness]`, all optional):

    [freshness]
    grace = 3                    # missed scheduled runs before a source is stale
    instrument_max_age = "16m"   # open-market time without new data (default: grace × prices cadence + 1m)
    lookback = "7d"              # open minutes are counted at most this far back
    [freshness.max_age]          # per instrument id or per instrument source (ccxt, yahoo, …)
    yahoo = "30m"                # Yahoo's futures quotes arrive 10–15 minutes late
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from pipelines import store
from pipelines.cadence import Schedule, parse_interval
from pipelines.config import Config, Section, load_config
from pipelines.errors import ConfigError
from pipelines.schemas import TIMEFRAMES

FRESHNESS_COLUMNS: dict[str, pl.DataType] = {
    "kind": pl.Utf8,  # 'source' or 'instrument'
    "name": pl.Utf8,
    "calendar": pl.Utf8,
    "last_at": pl.Datetime("us", "UTC"),  # last successful run / newest bar close or quote
    "age_minutes": pl.Float64,
    "open_minutes": pl.Int64,  # minutes the market was open since last_at (sources: = age)
    "max_age_minutes": pl.Int64,
    "market_open": pl.Boolean,
    "stale": pl.Boolean,
    "reason": pl.Utf8,
}


@dataclass
class FreshnessPolicy:
    """The validated `[freshness]` section plus the schedule it derives defaults from."""

    schedule: Schedule
    grace: float = 3.0
    instrument_max_age: timedelta | None = None
    lookback: timedelta = timedelta(days=7)
    overrides: dict[str, timedelta] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> FreshnessPolicy:
        """Read and validate `[freshness]` (and `[schedule]` for the cadences)."""
        sec = config.section("freshness")
        sec.check_keys(("grace", "instrument_max_age", "lookback", "max_age"))
        grace = sec.get("grace", float, 3.0)
        if not 0 < grace <= 1000:
            raise sec.fail(
                "grace", f"must be > 0 and at most 1000 (times the cadence), got {grace}"
            )
        overrides_sec = sec.sub("max_age")
        return cls(
            schedule=Schedule.from_config(config),
            grace=grace,
            instrument_max_age=_duration(sec, "instrument_max_age", None),
            lookback=_duration(sec, "lookback", "7d") or timedelta(days=7),
            overrides={k: _duration(overrides_sec, k, None) for k in overrides_sec.data},  # type: ignore[misc]
        )

    def instrument_limit(self, instrument_id: str, source: str | None) -> timedelta:
        """Open-market time an instrument may go without new data."""
        for key in (instrument_id, source):
            if key and key in self.overrides:
                return self.overrides[key]
        if self.instrument_max_age is not None:
            return self.instrument_max_age
        return self.schedule.kinds["prices"].typical * self.grace + timedelta(minutes=1)


def _duration(sec: Section, key: str, default: str | None) -> timedelta | None:
    text = sec.get(key, str, default)
    if text is None:
        return None
    try:
        value = parse_interval(text)
    except OverflowError:
        value = None
    if value is None:
        raise sec.fail(key, f"{text!r} is not a duration like 90s, 20m, 2h, 7d")
    return value


def source_health(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> pl.DataFrame:
    """Per source: last run and status, last success, failures in a row, last 24 h counts."""
    return store.query_frame(
        con, store.load_sql("ops_source_health"), {"now": now or datetime.now(UTC)}
    )


def running_runs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Runs still marked 'running' and who owns them (pid, host, and whether that process lives)."""
    frame = store.query_frame(con, store.load_sql("ops_running_runs"))
    here = socket.gethostname()
    owner = [
        "gone"
        if pid is None or (host == here and not store.process_alive(pid))
        else ("alive" if host == here else "other host")
        for pid, host in zip(frame["pid"], frame["host"], strict=True)
    ]
    return frame.with_columns(pl.Series("owner", owner, dtype=pl.Utf8))


def freshness(
    con: duckdb.DuckDBPyConnection,
    config: Config | None = None,
    now: datetime | None = None,
    sources: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per refreshed source and per watched instrument: last data, age, stale, why.

    `sources` is source_health's frame when the caller has already read it.
    """
    now = now or datetime.now(UTC)
    if config is None:
        try:
            config = load_config()
        except ConfigError:
            config = None
    policy = FreshnessPolicy.from_config(config) if config is not None else _default_policy()
    frames = [
        _source_rows(sources if sources is not None else source_health(con, now), policy, now),
        _instrument_rows(con, config, policy, now),
    ]
    return (
        pl.concat([f for f in frames if f.height], how="vertical")
        if any(f.height for f in frames)
        else pl.DataFrame(schema=FRESHNESS_COLUMNS)
    )


def _default_policy() -> FreshnessPolicy:
    empty = Section({}, "schedule", Path("tickerwire.toml"))
    return FreshnessPolicy(schedule=Schedule.from_section(empty))


def _source_rows(health: pl.DataFrame, policy: FreshnessPolicy, now: datetime) -> pl.DataFrame:
    """Sources run by refresh (their runs record which kinds they fetched)."""
    rows: list[dict[str, Any]] = []
    for row in health.iter_rows(named=True):
        if not row["kinds"]:
            continue  # imports, the demo, enrichment: not on a schedule
        kinds = json.loads(row["kinds"])
        cadence = policy.schedule.cadence_of(row["source"], kinds)
        if cadence is None:
            continue
        limit = cadence.typical * policy.grace
        last = row["last_ok_at"]
        age = (now - last).total_seconds() / 60 if last is not None else None
        if last is None:
            stale, reason = True, f"never succeeded; last run {row['last_status']}"
        elif age is not None and age > limit.total_seconds() / 60:
            stale = True
            reason = (
                f"last success {age:.0f} min ago; runs every {cadence.text}, limit {_fmt(limit)}"
            )
        else:
            stale, reason = False, f"runs every {cadence.text}"
        if row["failures_in_a_row"]:
            first_error = (row["last_errors"] or "").splitlines()[:1]
            reason += f"; {row['failures_in_a_row']} failed run(s) in a row" + (
                f": {first_error[0][:160]}" if first_error else ""
            )
        rows.append(
            {
                "kind": "source",
                "name": row["source"],
                "calendar": None,
                "last_at": last,
                "age_minutes": round(age, 1) if age is not None else None,
                "open_minutes": int(age) if age is not None else None,
                "max_age_minutes": int(limit.total_seconds() // 60),
                "market_open": None,
                "stale": stale,
                "reason": reason,
            }
        )
    return pl.DataFrame(rows, schema=FRESHNESS_COLUMNS)


def _watchlist(
    con: duckdb.DuckDBPyConnection, config: Config | None, policy: FreshnessPolicy
) -> list[tuple[str, str, int]]:
    """(instrument id, calendar, limit in minutes) for the config's watchlist, else the table's."""
    if config is not None and config.instruments:
        items = [(i.id, i.calendar, i.source) for i in config.instruments]
    else:
        items = con.execute(
            "select instrument_id, calendar, source from instruments order by instrument_id"
        ).fetchall()
    return [
        (ident, cal or "24/7", int(policy.instrument_limit(ident, src).total_seconds() // 60))
        for ident, cal, src in items
    ]


def _instrument_rows(
    con: duckdb.DuckDBPyConnection, config: Config | None, policy: FreshnessPolicy, now: datetime
) -> pl.DataFrame:
    watched = _watchlist(con, config, policy)
    if not watched:
        return pl.DataFrame(schema=FRESHNESS_COLUMNS)
    params = {
        "ids": [w[0] for w in watched],
        "calendars": [w[1] for w in watched],
        "max_open_min": [w[2] for w in watched],
        "tfs": list(TIMEFRAMES),
        "tf_secs": [int(d.total_seconds()) for d in TIMEFRAMES.values()],
        "now": now,
        "lookback_min": int(policy.lookback.total_seconds() // 60),
    }
    frame = store.query_frame(con, store.load_sql("ops_instrument_freshness"), params)
    lookback_min = params["lookback_min"]
    rows = []
    for r in frame.iter_rows(named=True):
        limit = r["max_open_minutes"]
        if not r["available"]:
            stale, reason = False, f"unavailable: {r['unavailable_reason'] or 'no source lists it'}"
        elif r["last_at"] is None:
            stale, reason = True, "no bars or quotes stored"
        elif r["open_minutes"] > limit:
            more = "+" if r["open_minutes"] >= lookback_min else ""
            stale = True
            reason = f"no new data for {r['open_minutes']}{more} open-market min (limit {limit})"
        elif not r["market_open"] and r["age_minutes"] > limit:
            stale, reason = False, "market closed; data is from its last session"
        else:
            stale, reason = False, "fresh"
        rows.append(
            {
                "kind": "instrument",
                "name": r["instrument_id"],
                "calendar": r["calendar"],
                "last_at": r["last_at"],
                "age_minutes": r["age_minutes"],
                "open_minutes": r["open_minutes"],
                "max_age_minutes": limit,
                "market_open": r["market_open"],
                "stale": stale,
                "reason": reason,
            }
        )
    return pl.DataFrame(rows, schema=FRESHNESS_COLUMNS)


def _fmt(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"
