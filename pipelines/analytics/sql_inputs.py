"""Polars frames handed to DuckDB as named relations, through the Arrow C stream interface."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import polars as pl


class _Stream:
    """A frame seen as an Arrow C stream: DuckDB reads it without importing pyarrow, which
    `con.register(name, frame)` or `frame.to_arrow()` would (0.4 s in a fresh process)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """`frame` readable as relation `name` on `con` for the duration of the block."""
    con.register(name, _Stream(frame))
    try:
        yield
    finally:
        con.unregister(name)
