"""One partition of a distributed study: its frames aligned by the project's own alignment code.

The Spark engine (spark_engine.py) hands each instrument's partition — its bars, its benchmark's
bars, the pairs (event × instrument and their benchmark pairs) and the sessions of their
calendars — to `partition_rows`, which is the only place that knows how today's alignment is
called: it lays the frames out as the tables `study.abnormal_rows` reads (bars, sessions,
session_days, the tw_in_session macro) in a private in-memory DuckDB and runs it. Re-point this
one function when the alignment code moves.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from pipelines.analytics import study
from pipelines.analytics.abnormal import EVENT_ROW_SCHEMA, PARAM_SCHEMA, Rows
from pipelines.paths import sql_dir

# The rows a partition returns: the three frames of Rows in one table, told by `kind`.
ROW_KINDS = ("event", "estimation", "params")
ROW_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("pair_id", pa.int64()),
        ("k", pa.int64()),
        ("grid_at", pa.timestamp("us", tz="UTC")),
        ("price", pa.float64()),
        ("ret", pa.float64()),
        ("mret", pa.float64()),
        ("expected", pa.float64()),
        ("ar", pa.float64()),
        ("reopen_at", pa.timestamp("us", tz="UTC")),
        ("n_estimation", pa.int64()),
        ("alpha", pa.float64()),
        ("beta", pa.float64()),
        ("m_mean", pa.float64()),
        ("m_sxx", pa.float64()),
        ("sigma", pa.float64()),
    ]
)


def partition_rows(
    bars: pa.Table,
    pairs: pa.Table,
    sessions: pa.Table,
    session_days: pa.Table,
    geometry: Any,
    model: str,
    stale: int,
) -> pa.Table:
    """Align one partition's pairs on its bars and compute their AR (THE SEAM: it calls
    `study.abnormal_rows`); returns ROW_SCHEMA rows."""
    con = duckdb.connect(":memory:", config={"threads": 1, "asof_loop_join_threshold": 0})
    try:
        for name, table in (("bars", bars), ("sessions", sessions), ("session_days", session_days)):
            con.register(f"_{name}_in", table)
            con.execute(f"create temp table {name} as select * from _{name}_in")
            con.unregister(f"_{name}_in")
        con.execute((sql_dir() / "views" / "00_tw_in_session.sql").read_text(encoding="utf-8"))
        rows = study.abnormal_rows(con, pl.from_arrow(pairs), geometry, model, stale)
    finally:
        con.close()
    return rows_table(rows.event, rows.estimation_rows(), rows.params)


def rows_table(event: pl.DataFrame, estimation: pl.DataFrame, params: pl.DataFrame) -> pa.Table:
    """The three frames of Rows as one ROW_SCHEMA table."""
    parts = [
        frame.with_columns(pl.lit(kind).alias("kind"))
        for kind, frame in zip(ROW_KINDS, (event, estimation, params), strict=True)
    ]
    schema = pl.from_arrow(ROW_SCHEMA.empty_table()).schema
    frames = [
        p.select(
            [
                pl.col(c).cast(t) if c in p.columns else pl.lit(None, t).alias(c)
                for c, t in schema.items()
            ]
        )
        for p in parts
    ]
    return pl.concat(frames).to_arrow().cast(ROW_SCHEMA)


def split_rows(table: pa.Table) -> Rows:
    """ROW_SCHEMA rows (from every partition) back into Rows."""
    frame = pl.from_arrow(table)
    if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a table always gives a frame
        raise TypeError("expected a table")
    of = {kind: frame.filter(pl.col("kind") == kind) for kind in ROW_KINDS}
    return Rows.from_frames(
        event=of["event"].select(list(EVENT_ROW_SCHEMA)).cast(EVENT_ROW_SCHEMA),
        estimation=of["estimation"].select("pair_id", "k", "ar"),
        params=of["params"].select(list(PARAM_SCHEMA)).cast(PARAM_SCHEMA),
    )
