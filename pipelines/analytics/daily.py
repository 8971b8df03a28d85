"""Daily studies on the DuckDB store, in SQL: the trading-day grid (estudy2 convention), the
benchmark pairing, the model fit and AR (sql/queries/study_align_daily.sql, study_paired.sql,
study_fit.sql, study_ar.sql, study_ar_params.sql)."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.analytics.abnormal import Rows
from pipelines.analytics.geometry import Geometry
from pipelines.analytics.sql_inputs import registered
from pipelines.store import load_sql, query_frame

# Every temp table and view a daily study creates on the caller's connection; dropped after.
_TEMP_VIEWS = ("study_ar_rows",)
_TEMP_TABLES = ("study_pairs", "study_aligned", "study_paired", "study_fit")


def daily_rows(
    con: duckdb.DuckDBPyConnection, pairs: pl.DataFrame, geometry: Geometry, model: str
) -> Rows:
    """Align every pair on its trading days and compute AR in DuckDB."""
    con.complete()
    columns = ("pair_id", "instrument_id", "calendar", "exchange_tz", "t0", "bench_pair_id",
               "is_target")  # fmt: skip
    with registered(con, "_study_pairs_in", pairs.select(columns)):
        con.execute("create or replace temp table study_pairs as select * from _study_pairs_in")
    try:
        create_temp(con, "study_aligned", load_sql("study_align_daily"), geometry.binds())
        create_temp(con, "study_paired", load_sql("study_paired"), {})
        create_temp(con, "study_fit", load_sql("study_fit"), {"model": model, "same_grid": False})
        con.execute(f"create or replace temp view study_ar_rows as {load_sql('study_ar')}")
        event = query_frame(
            con,
            "select pair_id, k, grid_at, price, ret, mret, expected, ar, reopen_at "
            "from study_ar_rows where role = 'event'",
        )
        estimation = query_frame(
            con, "select pair_id, k, ar from study_ar_rows where role = 'estimation'"
        )
        params = query_frame(con, load_sql("study_ar_params"))
    finally:
        drop_temps(con)
    return Rows.from_frames(event, estimation, params)


def create_temp(con: duckdb.DuckDBPyConnection, name: str, sql: str, binds: dict) -> None:
    """Materialise a named query as a temp table, passing only the binds it uses."""
    con.execute(f"create or replace temp table {name} as {sql}", _used_binds(sql, binds))


def _used_binds(sql: str, binds: dict) -> dict:
    """The binds a query names outside its comments (DuckDB refuses unused named parameters)."""
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    return {k: v for k, v in binds.items() if f"${k}" in code}


def drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the daily study's temp views and tables (they would otherwise live as long as the
    connection); views first, as they read the tables."""
    for name in _TEMP_VIEWS:
        con.execute(f"drop view if exists temp.{name}")
    for name in _TEMP_TABLES:
        con.execute(f"drop table if exists temp.{name}")
