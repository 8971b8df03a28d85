"""Operations reads for the pages: ingest runs, rejects, gaps and freshness per series, the SQL
console's schema and sandbox, alert rules and history. Reads go through dashboard.data (the
only door to DuckDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from dashboard.data import cached, config, connection, coverage, db_path, query
from pipelines import store
from pipelines.analytics import series
from pipelines.analytics.reaction import tf_seconds
from pipelines.errors import FeatureMissing
from pipelines.schemas import TIMEFRAMES


@cached
def health_runs(db: str) -> pl.DataFrame:
    """Per source: newest run, its status and errors, and the last 7 days' failures."""
    return query(db, "ops_runs")


@cached
def health_rejects(db: str) -> pl.DataFrame:
    """Refused input per source and reason."""
    return query(db, "ops_rejects")


@cached
def _gaps(db: str, since: datetime) -> pl.DataFrame:
    return query(
        db,
        "ops_gap_summary",
        {"tfs": list(TIMEFRAMES), "tf_secs": [tf_seconds(t) for t in TIMEFRAMES], "since": since},
    )


def health_instruments(gap_days: int = 7) -> pl.DataFrame:
    """Per instrument and timeframe: rows, span, freshness (age of the newest bar) and recent gaps."""
    cov = coverage()
    if cov.height == 0:
        return cov
    gaps = _gaps(cov["last_ts"].max() - timedelta(days=gap_days))
    return series.series_health(cov, gaps, datetime.now(UTC))


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
        with connection(db) as con:
            result = fn(con)
    except NotImplementedError as exc:
        raise FeatureMissing(f"pipelines.health.freshness: {exc}") from exc
    return result if isinstance(result, pl.DataFrame) else pl.DataFrame(result)


@cached
def schema(db: str) -> pl.DataFrame:
    """Tables and views with their columns, for the SQL console's schema browser."""
    return query(db, "ops_schema")


def run_console(sql: str, *, timeout_s: float = 5.0, row_cap: int = 10_000) -> Any:
    """Run a user's query in the sandbox (never cached: each run is the user's explicit request)."""
    from dashboard.sandbox import run_sandboxed

    return run_sandboxed(db_path(), sql, timeout_s=timeout_s, row_cap=row_cap)


def alert_rules() -> pl.DataFrame:
    """The configured [[alerts]] rules: name, kind, condition, cooldown, target variable and
    whether it is set (the URLs themselves are secrets and never shown)."""
    from pipelines.alerts import rules_frame, rules_from_config

    frame = rules_frame(rules_from_config(config()))
    return frame.with_columns((pl.col("targets") > 0).alias("targets_set")).drop("targets")


@cached
def alert_history(db: str, limit: int = 200) -> pl.DataFrame:
    """Alerts fired, newest first (sql/queries/alert_history.sql); FeatureMissing on a file
    written before alerts existed (migration 0080 runs on the next write)."""
    with connection(db) as con:
        has = con.execute(
            # information_schema lists views too: a lake's tables are views over its Parquet
            "select count(*) from information_schema.tables where table_name = 'alerts'"
        ).fetchall()[0][0]
        if not has:
            raise FeatureMissing("no alerts table yet: the next refresh or import creates it")
        return store.query_frame(
            con, store.load_sql("queries/alert_history"), {"rule": None, "limit": limit}
        )
