"""The SQL statements of the alignment rules (sql/queries/study_align_*.sql + study_paired.sql)
run on a test's connection: the oracles the engine's array paths are held to."""

from __future__ import annotations

import duckdb
import polars as pl

# The study pairs the alignment queries read as study_pairs (a subset of inputs.build_pairs').
PAIRS_SCHEMA = {
    "pair_id": pl.Int64,
    "instrument_id": pl.Utf8,
    "t0": pl.Datetime("us", "UTC"),
    "bench_pair_id": pl.Int64,
    "is_target": pl.Boolean,
}


def create_temp(con: duckdb.DuckDBPyConnection, name: str, sql: str, binds: dict) -> None:
    """Materialise a named query as a temp table, passing only the binds it uses."""
    con.execute(f"create or replace temp table {name} as {sql}", _used_binds(sql, binds))


def _used_binds(sql: str, binds: dict) -> dict:
    """The binds a query names outside its comments (DuckDB refuses unused named parameters)."""
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    return {k: v for k, v in binds.items() if f"${k}" in code}
